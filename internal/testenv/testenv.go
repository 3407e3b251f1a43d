// Package testenv sets up what rulebench's tests share: a cache directory
// of their own (compiled rules, parsed specs, the interpreter's path,
// extracted samples), so tests never read or litter the user's.
package testenv

import "os"

// IsolateCaches points the user cache directory at a fresh temporary one
// and returns a function that removes it.
func IsolateCaches() (cleanup func()) {
	dir, err := os.MkdirTemp("", "rulebench-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	return func() { os.RemoveAll(dir) }
}
