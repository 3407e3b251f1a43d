//go:build !unix

package worker

import "errors"

// Progress needs shared memory, which rulebench uses on Unix systems only.
type Progress struct{}

func NewProgress() (*Progress, error) {
	return nil, errors.New("replay needs Linux or macOS")
}

func (p *Progress) Done() int64                  { return -1 }
func (p *Progress) Current() (seq, det int64)    { return -1, -1 }
func (p *Progress) Set(done, current, det int64) {}
func (p *Progress) Path() string                 { return "" }
func (p *Progress) Close() error                 { return nil }
