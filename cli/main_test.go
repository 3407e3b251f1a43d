package cli

import (
	"os"
	"testing"

	"github.com/rulebench/rulebench/cache/dynamotest"
	"github.com/rulebench/rulebench/internal/testenv"
)

// The CLI's tests also share one dynalite server.
func TestMain(m *testing.M) {
	cleanup := testenv.IsolateCaches()
	code := dynamotest.Run(m)
	cleanup()
	os.Exit(code)
}
