// Package events streams log events out of files and directories: JSON
// (one object, an array of objects, or several objects one after another),
// JSONL/NDJSON, and gzip-compressed versions of any of those.
//
// Input is read in bounded buffers, so memory stays flat however large the
// files are; only the event being returned is held, and its raw bytes are
// handed over untouched so that Python sees exactly what the log contained
// (re-encoding would lose number precision and key order).
//
// Problems with one line or one file are values, not the end of reading:
// Next returns a *LineError or *FileError and the following call goes on
// with the next line or file.
package events

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Event is one log event.
type Event struct {
	File string // path of the file it came from, as given or found by the walk
	Line int    // 1-based line of the file on which the event starts
	Seq  int64  // 0-based position among all events of the input
	Raw  []byte // the event's JSON object, byte for byte as in the file
}

// LineError is a value in a file that cannot be used as an event: invalid
// JSON or valid JSON that is not an object. Reading goes on after it.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// FileError is a file that could not be opened or read to its end (for
// example a truncated gzip stream). Events read from it before the failure
// have already been returned; reading goes on with the next file.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ErrNotObject is wrapped by a LineError for valid JSON that is not an
// object: rules can only be run over objects.
var ErrNotObject = errors.New("not a JSON object")

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("events: reader closed")

// Progress is a snapshot of how far a Reader has got, for a progress bar.
type Progress struct {
	Files      int   // files to read
	FilesDone  int   // files read to their end or abandoned
	TotalBytes int64 // sum of the file sizes at Open; compressed size for gzip
	ReadBytes  int64 // bytes of those files consumed so far, never above TotalBytes
	Events     int64 // events returned so far
	Errors     int64 // LineErrors and FileErrors returned so far
}

// Reader returns the events of a list of files one by one. Next and Close
// must be called from one goroutine; Progress may be called from any.
type Reader struct {
	inputs []input
	next   int // index into inputs of the next file to open
	total  int64

	file    *os.File // nil between files
	name    string
	gzipped bool
	cnt     countingReader
	br      *bufio.Reader
	gz      *gzip.Reader
	sc      scanner

	seq    int64
	closed bool

	readBytes atomic.Int64
	events    atomic.Int64
	errs      atomic.Int64
	filesDone atomic.Int64
}

// Open lists the files to read and checks that every path exists, so that a
// mistyped path fails before any work is done. Directories are walked
// recursively in lexical order, skipping hidden entries and files whose
// extension is not .json, .jsonl or .ndjson (each optionally followed by
// .gz); a file named explicitly is read whatever its name. A file reached
// twice is read once.
func Open(paths []string) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("events: no input paths")
	}
	inputs, err := collect(paths)
	if err != nil {
		return nil, err
	}
	r := &Reader{inputs: inputs}
	for _, in := range inputs {
		r.total += in.size
	}
	return r, nil
}

// Shallow makes Next skip full JSON validation of JSONL lines: a line that
// starts with '{' and ends with '}' is returned as it is. For consumers that
// parse every event anyway and report what they could not parse; call it
// before the first Next.
func (r *Reader) Shallow() { r.sc.shallow = true }

// Next returns the next event. At the end of the input it returns io.EOF.
// A *LineError or *FileError reports a problem with one value or one file;
// call Next again to continue after it.
func (r *Reader) Next() (Event, error) {
	ev, _, err := r.NextAppend(nil)
	return ev, err
}

// NextAppend is Next with the event's bytes appended to dst, which it
// returns (grown if needed) so that a caller holding many events at once
// (a replay's round) can keep them in one buffer it reuses, instead of one
// allocation per event. Event.Raw points into the returned buffer.
func (r *Reader) NextAppend(dst []byte) (Event, []byte, error) {
	for {
		if r.closed {
			return Event{}, dst, ErrClosed
		}
		if r.file == nil {
			if r.next >= len(r.inputs) {
				return Event{}, dst, io.EOF
			}
			if err := r.openNext(); err != nil {
				r.errs.Add(1)
				return Event{}, dst, err
			}
		}
		v, line, err := r.sc.next()
		if err == nil {
			// v points into buffers the next call overwrites: copy it out.
			start := len(dst)
			dst = append(dst, v...)
			ev := Event{File: r.name, Line: line, Seq: r.seq, Raw: dst[start:len(dst):len(dst)]}
			r.seq++
			r.events.Add(1)
			return ev, dst, nil
		}
		if err == io.EOF {
			r.finishFile()
			continue
		}
		var out error
		var re readError
		if errors.As(err, &re) {
			what := "reading"
			if r.gzipped {
				what = "decompressing"
			}
			out = &FileError{File: r.name, Err: fmt.Errorf("%s line %d: %w", what, line, re.err)}
		} else {
			out = &LineError{File: r.name, Line: line, Err: err}
		}
		if r.sc.done {
			r.finishFile()
		}
		r.errs.Add(1)
		return Event{}, dst, out
	}
}

// openNext opens the next input and sets up decompression. Errors are
// FileErrors and leave the Reader ready for the input after.
func (r *Reader) openNext() error {
	in := r.inputs[r.next]
	r.next++
	// fail counts the unread rest of the file as consumed, for Progress.
	fail := func(err error, unread int64) error {
		r.readBytes.Add(unread)
		r.filesDone.Add(1)
		return &FileError{File: in.path, Err: err}
	}
	if in.err != nil {
		return fail(in.err, in.size)
	}
	f, err := os.Open(in.path)
	if err != nil {
		return fail(unwrapPath(err), in.size)
	}
	r.cnt = countingReader{r: f, left: in.size, n: &r.readBytes}
	if r.br == nil {
		r.br = bufio.NewReaderSize(&r.cnt, bufSize)
	} else {
		r.br.Reset(&r.cnt)
	}
	var src io.Reader = r.br
	// Sniff the gzip magic rather than trusting the name: logs copied out
	// of S3 often lose or gain a .gz suffix. A Peek error is left for the
	// first read to report.
	if head, _ := r.br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		if r.gz == nil {
			r.gz, err = gzip.NewReader(r.br)
		} else {
			err = r.gz.Reset(r.br)
		}
		if err != nil {
			f.Close()
			return fail(fmt.Errorf("opening gzip stream: %w", err), r.cnt.left)
		}
		src = r.gz
	}
	r.file, r.name, r.gzipped = f, in.path, src == r.gz
	r.sc.reset(src)
	return nil
}

// finishFile closes the current file and counts all of it as read, so that
// the progress bar reaches its end even when reading stopped early.
func (r *Reader) finishFile() {
	if r.file == nil {
		return
	}
	r.file.Close() // read-only: nothing is lost if closing fails
	r.file = nil
	r.readBytes.Add(r.cnt.left)
	r.cnt.left = 0
	r.filesDone.Add(1)
}

// Progress may be called from any goroutine while another reads.
func (r *Reader) Progress() Progress {
	return Progress{
		Files:      len(r.inputs),
		FilesDone:  int(r.filesDone.Load()),
		TotalBytes: r.total,
		ReadBytes:  r.readBytes.Load(),
		Events:     r.events.Load(),
		Errors:     r.errs.Load(),
	}
}

// Close releases the open file. Next returns ErrClosed afterwards.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	if err != nil {
		return fmt.Errorf("events: closing %s: %w", r.name, err)
	}
	return nil
}

// ReadAll reads every event into memory, for inputs known to be small. The
// error is from Open; problems while reading are collected in errs.
func ReadAll(paths []string) (evs []Event, errs []error, err error) {
	r, err := Open(paths)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return evs, errs, nil
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, ev)
	}
}

// countingReader publishes the bytes read from a file for Progress. It never
// counts more than the size seen at Open, so a file growing while it is
// read cannot push ReadBytes past TotalBytes.
type countingReader struct {
	r    io.Reader
	left int64
	n    *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if k := min(int64(n), c.left); k > 0 {
		c.left -= k
		c.n.Add(k)
	}
	return n, err
}
