package repo

import (
	"os"
	"testing"
)

// Tests keep rulebench's caches (compiled rules, parsed specs, extracted
// samples) in a directory of their own instead of the user's cache.
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
