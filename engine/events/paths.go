package events

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// input is one file to read. err is set for a directory entry that could not
// be examined; it is reported as a FileError in its place in the order, so
// one unreadable entry does not stop the others.
type input struct {
	path string
	size int64
	err  error
}

// collect expands paths into the files to read, in order.
func collect(paths []string) ([]input, error) {
	var (
		inputs []input
		errs   []error
		seen   = map[string]bool{}
	)
	add := func(in input) {
		key := filepath.Clean(in.path)
		if seen[key] {
			return
		}
		seen[key] = true
		inputs = append(inputs, in)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			errs = append(errs, fmt.Errorf("events: %w", &FileError{File: p, Err: err}))
			continue
		}
		if fi.IsDir() {
			walk(p, add)
			continue
		}
		add(input{path: p, size: sizeOf(fi)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return inputs, nil
}

// walk adds the log files under dir. It reads directories itself rather than
// using filepath.WalkDir so that a root given as a symlink to a directory is
// walked too; symlinks to directories below the root are not followed, which
// rules out cycles.
func walk(dir string, add func(input)) {
	ents, err := os.ReadDir(dir) // sorted by name: lexical order
	if err != nil {
		add(input{path: dir, err: fmt.Errorf("listing directory: %w", unwrapPath(err))})
		// ReadDir returns the entries it read before failing; use them.
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			walk(p, add)
			continue
		}
		if !isLogName(name) {
			continue
		}
		fi, err := os.Stat(p) // follows a symlink to a file
		if err != nil {
			add(input{path: p, err: unwrapPath(err)})
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		add(input{path: p, size: fi.Size()})
	}
}

// isLogName reports whether a file found by walking a directory should be
// read. Only the name is checked; the format is sniffed from the content.
func isLogName(name string) bool {
	name = strings.ToLower(name)
	name = strings.TrimSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".json", ".jsonl", ".ndjson":
		return true
	}
	return false
}

// sizeOf is the size counted for progress. Pipes and devices named
// explicitly (/dev/stdin) have no size known up front.
func sizeOf(fi fs.FileInfo) int64 {
	if fi.Mode().IsRegular() {
		return fi.Size()
	}
	return 0
}

// unwrapPath drops the *fs.PathError layer, whose path a FileError already
// shows.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
