package worker

import (
	"os"
	"testing"
)

// Tests keep the interpreter resolution and compiled harness in a cache
// directory of their own instead of the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rulebench-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
