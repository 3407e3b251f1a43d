package repo

import (
	"os"
	"testing"

	"github.com/rulebench/rulebench/internal/testenv"
)

func TestMain(m *testing.M) {
	cleanup := testenv.IsolateCaches()
	code := m.Run()
	cleanup()
	os.Exit(code)
}
