//go:build unix

package worker

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Progress is a replay worker's progress, shared with the Python process
// through a small memory-mapped file it updates for every event: the last
// event finished, the event being evaluated and the detection it is in.
// Reading it costs nothing on the worker's side, unlike a message per
// event.
type Progress struct {
	path string
	mem  []byte
}

const progressSize = 24

// NewProgress creates the shared file with done = current = start-1.
func NewProgress() (*Progress, error) {
	// Shared memory on tmpfs where there is one: a file on disk would be
	// written back by the kernel while the workers update it.
	dir := ""
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		dir = "/dev/shm"
	}
	f, err := os.CreateTemp(dir, "rulebench-progress-*")
	if err != nil {
		return nil, fmt.Errorf("progress file: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(progressSize); err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("progress file: %w", err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, progressSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("map progress file: %w", err)
	}
	p := &Progress{path: f.Name(), mem: mem}
	p.Set(-1, -1, -1)
	return p, nil
}

func (p *Progress) word(i int) *int64 { return (*int64)(unsafe.Pointer(&p.mem[i*8])) }

// Done is the last event the worker finished.
func (p *Progress) Done() int64 { return atomic.LoadInt64(p.word(0)) }

// Current is the event being evaluated and the detection index (-1 while
// parsing).
func (p *Progress) Current() (seq, det int64) {
	return atomic.LoadInt64(p.word(1)), atomic.LoadInt64(p.word(2))
}

// Set overwrites all three (before a worker starts on the file).
func (p *Progress) Set(done, current, det int64) {
	atomic.StoreInt64(p.word(0), done)
	atomic.StoreInt64(p.word(1), current)
	atomic.StoreInt64(p.word(2), det)
}

// Path is what the worker opens.
func (p *Progress) Path() string { return p.path }

// Close unmaps and removes the file.
func (p *Progress) Close() error {
	err := unix.Munmap(p.mem)
	os.Remove(p.path)
	return err
}
