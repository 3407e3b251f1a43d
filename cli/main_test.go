package cli

import (
	"os"
	"testing"

	"github.com/rulebench/rulebench/cache/dynamotest"
)

// Tests keep rulebench's caches (compiled rules, parsed specs, extracted
// samples) in a directory of their own instead of the user's, and share
// one dynalite server.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rulebench-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	defer os.RemoveAll(dir)
	dynamotest.Main(m)
}
