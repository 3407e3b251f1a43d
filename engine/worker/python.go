package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Interpreter is a resolved python3: the real executable behind any shim.
type Interpreter struct {
	Path    string
	Version string
}

// MinPythonMajor and MinPythonMinor: the oldest Python rulebench supports.
const (
	MinPythonMajor = 3
	MinPythonMinor = 9
)

var (
	resolveMu    sync.Mutex
	resolveCache = map[string]Interpreter{}
)

// FindPython resolves the interpreter to run workers with: name (a path or a
// command on PATH; "" means $RULEBENCH_PYTHON, then python3). Version
// managers such as pyenv put a shell-script shim on PATH that costs ~150 ms
// per start; asking the interpreter for sys.executable once lets every
// worker start the real binary directly.
func FindPython(ctx context.Context, name string) (Interpreter, error) {
	if name == "" {
		name = os.Getenv("RULEBENCH_PYTHON")
	}
	if name == "" {
		name = "python3"
	}
	resolveMu.Lock()
	defer resolveMu.Unlock()
	if in, ok := resolveCache[name]; ok {
		return in, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return Interpreter{}, fmt.Errorf("find python %q: %w (install Python 3.9+ or pass --python)", name, err)
	}
	key := resolutionKey(name, path)
	if in, ok := loadResolution(key); ok {
		resolveCache[name] = in
		return in, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", "import sys, platform; print(sys.executable); print(platform.python_version())")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Interpreter{}, fmt.Errorf("run %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return Interpreter{}, fmt.Errorf("run %s: unexpected output %q", path, out)
	}
	in := Interpreter{Path: strings.TrimSpace(lines[0]), Version: strings.TrimSpace(lines[1])}
	if in.Path == "" {
		in.Path = path
	}
	if err := checkVersion(in.Version); err != nil {
		return Interpreter{}, fmt.Errorf("%s is Python %s: %w", path, in.Version, err)
	}
	resolveCache[name] = in
	saveResolution(key, in)
	return in, nil
}

var errOldPython = errors.New("rulebench needs Python 3.9 or newer")

func checkVersion(v string) error {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("unreadable version %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("unreadable version %q", v)
	}
	if major < MinPythonMajor || (major == MinPythonMajor && minor < MinPythonMinor) {
		return errOldPython
	}
	return nil
}
