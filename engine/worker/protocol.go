// Package worker runs Python worker processes and speaks rulebench's framed
// JSON protocol with them.
//
// Each worker is a real CPython started with two extra pipes: fd 3 carries
// requests to the child and fd 4 carries its frames back. The child's stdout
// and stderr are never part of the protocol (rule code prints to them); they
// are kept as a short tail for crash reports. A request may be answered by
// any number of intermediate frames (cache calls the child needs answered,
// per-item results, heartbeats) before the final "done" or "fail".
package worker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rulebench/rulebench/cache"
)

// maxFrame bounds a single frame so a corrupted length cannot make us
// allocate gigabytes.
const maxFrame = 512 << 20

// Frame types sent by the child.
const (
	frameHello = "hello"
	frameDone  = "done"
	frameFail  = "fail"
	frameItem  = "item"
	frameJob   = "job"
	frameLoad  = "load"
	frameCache = "cache"
	frameBeat  = "beat"
)

// Frame types sent to the child.
const (
	reqConfigure  = "configure"
	reqRun        = "run"
	reqPing       = "ping"
	reqExit       = "exit"
	frameCacheAck = "cache_reply"
)

// Frame is one message from the child. Raw keeps the whole frame so callers
// can decode type-specific fields without a second read.
type Frame struct {
	T     string          `json:"t"`
	ID    uint64          `json:"id"`
	Job   int             `json:"job"`
	Index int             `json:"index"`
	Error *PyError        `json:"error"`
	Ctx   json.RawMessage `json:"ctx"`
	// One pass decodes every frame type: item and job results, the load
	// report that may ride on a job frame, and cache calls.
	Result  json.RawMessage   `json:"result"`
	Results []json.RawMessage `json:"results"`
	Load    *LoadReply        `json:"load"`
	cache.Call
	Raw []byte `json:"-"`
}

// PyError is a Python exception as the harness reports it.
type PyError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
	// File and Line locate the innermost user frame; RuleLine is the
	// innermost line inside the detection's own file, for highlighting.
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	RuleLine int    `json:"rule_line,omitempty"`
}

func (e *PyError) Error() string {
	if e == nil {
		return ""
	}
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

func writeFrame(w io.Writer, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	return writeRaw(w, payload)
}

func writeRaw(w io.Writer, payload []byte) error {
	if len(payload) > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the %d byte limit", len(payload), maxFrame)
	}
	var header [4]byte
	binary.BigEndian.PutUint32(header[:], uint32(len(payload)))
	// Two writes rather than a copy of the payload: replay batches are
	// large. Callers hold the worker's write lock, so frames stay whole.
	if _, err := w.Write(header[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

var errFrameTooLarge = errors.New("frame over the size limit")

func readFrame(r io.Reader) (Frame, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return Frame{}, err
	}
	size := binary.BigEndian.Uint32(header[:])
	if size > maxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes", errFrameTooLarge, size)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		return Frame{}, fmt.Errorf("read frame body: %w", err)
	}
	var f Frame
	if err := json.Unmarshal(payload, &f); err != nil {
		return Frame{}, fmt.Errorf("decode frame: %w", err)
	}
	f.Raw = payload
	return f, nil
}
