package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Asking a version manager's shim which interpreter it runs costs a shell
// script and a Python start (~150 ms with pyenv) on every rulebench start.
// The answer is remembered on disk, keyed by everything a shim decides by:
// the command found on PATH, the environment variables version managers
// read, and the version files in the working directory's ancestry and the
// manager's global setting. Any change there asks again.

var versionEnv = []string{"PYENV_VERSION", "PYENV_ROOT", "ASDF_PYTHON_VERSION", "VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON"}

var versionFiles = []string{".python-version", ".tool-versions", ".mise.toml", "mise.toml"}

func resolutionKey(name, path string) string {
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00", name, path)
	if info, err := os.Stat(path); err == nil {
		fmt.Fprintf(h, "%d\x00%d\x00", info.Size(), info.ModTime().UnixNano())
	}
	for _, k := range versionEnv {
		fmt.Fprintf(h, "%s=%s\x00", k, os.Getenv(k))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			for _, f := range versionFiles {
				if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					fmt.Fprintf(h, "%s\x00%s\x00", filepath.Join(dir, f), data)
				}
			}
			if parent := filepath.Dir(dir); parent == dir {
				break
			}
		}
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	if data, err := os.ReadFile(filepath.Join(root, "version")); err == nil {
		fmt.Fprintf(h, "global\x00%s\x00", data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func resolutionFile() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "rulebench", "python.json")
}

type resolution struct {
	Interpreter
	Mtime int64 `json:"mtime"`
}

func loadResolution(key string) (Interpreter, bool) {
	file := resolutionFile()
	if file == "" {
		return Interpreter{}, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return Interpreter{}, false
	}
	var all map[string]resolution
	if json.Unmarshal(data, &all) != nil {
		return Interpreter{}, false
	}
	r, ok := all[key]
	if !ok {
		return Interpreter{}, false
	}
	// The interpreter itself must be the one that answered.
	info, err := os.Stat(r.Path)
	if err != nil || info.ModTime().UnixNano() != r.Mtime || checkVersion(r.Version) != nil {
		return Interpreter{}, false
	}
	return r.Interpreter, true
}

func saveResolution(key string, in Interpreter) {
	file := resolutionFile()
	info, err := os.Stat(in.Path)
	if file == "" || err != nil {
		return
	}
	all := map[string]resolution{}
	if data, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(data, &all)
	}
	if len(all) > 64 {
		all = map[string]resolution{}
	}
	all[key] = resolution{Interpreter: in, Mtime: info.ModTime().UnixNano()}
	data, err := json.Marshal(all)
	if err != nil || os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp := file + ".tmp" + strings.ReplaceAll(fmt.Sprint(os.Getpid()), " ", "")
	if os.WriteFile(tmp, data, 0o644) == nil {
		if os.Rename(tmp, file) != nil {
			os.Remove(tmp)
		}
	}
}
