// Package samples embeds rulebench's bundled rule repository: detections for
// every caching and enrichment pattern in Panther's documentation, with unit
// tests and event files, so `rulebench` works on any machine.
package samples

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

//go:embed *
var files embed.FS

// FS is the sample repository (every file but this package's Go source).
func FS() fs.FS { return files }

var (
	extractOnce sync.Once
	extractDir  string
	extractErr  error
)

// Dir extracts the samples to a per-content directory under the user cache
// (the worker imports rules from real files) and returns its path. The
// directory name carries a hash of the content, so a new build never sees a
// stale copy and an unchanged one is not rewritten.
func Dir() (string, error) {
	extractOnce.Do(func() { extractDir, extractErr = extract() })
	return extractDir, extractErr
}

func extract() (string, error) {
	var paths []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".go") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read embedded samples: %w", err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return "", fmt.Errorf("read embedded samples: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
	}
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "rulebench", "samples-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("extract samples: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".samples-*")
	if err != nil {
		return "", fmt.Errorf("extract samples: %w", err)
	}
	for _, p := range paths {
		data, _ := fs.ReadFile(files, p)
		target := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", fmt.Errorf("extract samples: %w", err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return "", fmt.Errorf("extract samples: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", fmt.Errorf("extract samples: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process extracted the same content first.
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
			return "", fmt.Errorf("extract samples: %w", err)
		}
	}
	return dir, nil
}
