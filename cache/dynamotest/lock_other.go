//go:build !unix

package dynamotest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// lockFile takes an exclusive lock by creating path, waiting while another
// process holds it. A lock older than staleAfter is taken to be left by a
// process that died and is broken.
func lockFile(path string) (unlock func(), err error) {
	const staleAfter = 5 * time.Minute
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if info, err := os.Stat(path); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.Remove(path)
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
}
