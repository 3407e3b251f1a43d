package worker

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// The Python side of the protocol: panther_core, panther_detection_helpers and
// the worker loop, all standard-library Python. boot.py is passed with -c;
// every other module arrives in the boot frame and is imported from memory,
// so nothing is written to disk and a stale copy can never be picked up.
//
//go:embed harness/boot.py harness/panther_oss_helpers.py harness/panther_core/*.py harness/panther_detection_helpers/*.py harness/rulebench/*.py
var harnessFS embed.FS

// ProtocolVersion must match PROTOCOL_VERSION in harness/rulebench/protocol.py.
const ProtocolVersion = 1

// harnessPrefix marks harness files in tracebacks (runner.py filters on it).
const harnessPrefix = "<rulebench>/"

type harnessModule struct {
	File    string `json:"file"`
	Source  string `json:"source"`
	Package bool   `json:"package"`
	// Hash names the module's compiled form in the bytecode cache.
	Hash string `json:"hash"`
}

var (
	bootOnce    sync.Once
	bootScript  string
	bootModules map[string]harnessModule
	bootErr     error
)

// harness returns the -c bootstrap and the modules it imports from memory.
// The map is shared and must not be modified.
func harness() (string, map[string]harnessModule, error) {
	bootOnce.Do(func() {
		script, err := harnessFS.ReadFile("harness/boot.py")
		if err != nil {
			bootErr = err
			return
		}
		bootScript = string(script)
		modules := map[string]harnessModule{}
		bootErr = fs.WalkDir(harnessFS, "harness", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == "harness/boot.py" || !strings.HasSuffix(p, ".py") {
				return err
			}
			src, err := harnessFS.ReadFile(p)
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(p, "harness/")
			name := strings.TrimSuffix(rel, ".py")
			pkg := path.Base(name) == "__init__"
			if pkg {
				name = path.Dir(name)
			}
			sum := sha256.Sum256(src)
			modules[strings.ReplaceAll(name, "/", ".")] = harnessModule{
				File:    harnessPrefix + rel,
				Source:  string(src),
				Package: pkg,
				Hash:    hex.EncodeToString(sum[:8]),
			}
			return nil
		})
		bootModules = modules
	})
	if bootErr != nil {
		return "", nil, fmt.Errorf("read embedded harness: %w", bootErr)
	}
	return bootScript, bootModules, nil
}

// bootPayload is the first frame a worker reads.
func bootPayload(captureLimit int, pycachePrefix string, cpu int) ([]byte, string, error) {
	script, modules, err := harness()
	if err != nil {
		return nil, "", err
	}
	payload, err := json.Marshal(map[string]any{
		"modules":        modules,
		"capture_limit":  captureLimit,
		"pycache_prefix": pycachePrefix,
		"cpu":            cpu,
	})
	return payload, script, err
}
