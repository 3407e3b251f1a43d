package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/rulebench/rulebench/cache"
)

// DetBits: a replay item's cache-call context is seq<<DetBits | detection.
const DetBits = 16

// StreamSetup opens a replay session on one worker.
type StreamSetup struct {
	Detections []DetectionSpec `json:"detections"`
	// Routes maps a log type to the detections (indexes) its events reach;
	// All sends every event to every detection instead.
	Routes   map[string][]int `json:"routes,omitempty"`
	All      bool             `json:"all"`
	Alert    bool             `json:"alert"`
	Progress *Progress        `json:"-"`
}

// StreamHandler receives what a replay session sends back.
type StreamHandler interface {
	Cache(ctx int64, call cache.Call) (any, error)
	Loaded(det int, reply LoadReply)
	Results(r StreamResults)
}

// StreamResults is one flush of a batch: everything up to event Upto, and
// Final when the batch is done.
type StreamResults struct {
	Round int          `json:"round"`
	Final bool         `json:"final"`
	Upto  int64        `json:"upto"`
	Items []StreamItem `json:"items"`
	Bad   []BadEvent   `json:"bad"`
	Stats []DetStats   `json:"stats"`
	// Deferred are the evaluations a shard batch abandoned at their first
	// cache call; the detection's owner runs them again, in order.
	Deferred []Deferral `json:"deferred"`
}

// Deferral is one abandoned evaluation: an event and a detection.
type Deferral struct {
	Seq int64
	Det int
}

func (d *Deferral) UnmarshalJSON(b []byte) error {
	var pair [2]int64
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("deferral: %s", b)
	}
	d.Seq, d.Det = pair[0], int(pair[1])
	return nil
}

// StreamItem is a match or an error: the full result of one detection on
// one event.
type StreamItem struct {
	Seq    int64
	Det    int
	Result json.RawMessage
}

func (it *StreamItem) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 3 {
		return fmt.Errorf("stream item: %s", b)
	}
	if err := json.Unmarshal(parts[0], &it.Seq); err != nil {
		return err
	}
	if err := json.Unmarshal(parts[1], &it.Det); err != nil {
		return err
	}
	it.Result = parts[2]
	return nil
}

// BadEvent is an event the worker could not parse.
type BadEvent struct {
	Seq   int64
	Error string
}

func (b *BadEvent) UnmarshalJSON(data []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) != 2 {
		return fmt.Errorf("bad event: %s", data)
	}
	if err := json.Unmarshal(parts[0], &b.Seq); err != nil {
		return err
	}
	return json.Unmarshal(parts[1], &b.Error)
}

// DetStats are one detection's counters for the events of a flush. Only
// some evaluations are timed (the first ones, then one in eight): TotalNS
// and Hist (evaluations by duration bucket, see BucketUpper) cover Timed
// evaluations.
type DetStats struct {
	Det                     int
	Events, Matched, Errors int64
	TotalNS                 int64
	Hist                    map[int]int64
	Timed                   int64
}

func (d *DetStats) UnmarshalJSON(data []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) != 7 {
		return fmt.Errorf("detection stats: %s", data)
	}
	if err := json.Unmarshal(parts[6], &d.Timed); err != nil {
		return err
	}
	for i, dst := range []any{&d.Det, &d.Events, &d.Matched, &d.Errors, &d.TotalNS} {
		if err := json.Unmarshal(parts[i], dst); err != nil {
			return err
		}
	}
	var hist map[string]int64
	if err := json.Unmarshal(parts[5], &hist); err != nil {
		return err
	}
	d.Hist = make(map[int]int64, len(hist))
	for k, v := range hist {
		b, err := strconv.Atoi(k)
		if err != nil {
			return err
		}
		d.Hist[b] = v
	}
	return nil
}

// BucketUpper is the upper bound in nanoseconds of a histogram bucket: four
// buckets per power of two, as rulebench/stream.py's bucket() counts them.
func BucketUpper(b int) int64 {
	if b < 8 {
		return int64(b) + 1
	}
	bits, sub := b/4, int64(b%4)
	return (4 + sub + 1) << (bits - 3)
}

// Stream is an open replay session.
type Stream struct {
	w  *Worker
	id uint64
	h  StreamHandler
}

// OpenStream starts a replay session: the worker loads the detections
// (reporting each through h.Loaded) and then waits for batches.
func (w *Worker) OpenStream(ctx context.Context, setup StreamSetup, h StreamHandler) (*Stream, error) {
	if !w.Alive() {
		return nil, ErrClosed
	}
	w.nextID++
	s := &Stream{w: w, id: w.nextID, h: h}
	msg := map[string]any{
		"t": "stream", "id": s.id, "detections": setup.Detections, "routes": setup.Routes,
		"all": setup.All, "alert": setup.Alert, "timeout": w.opts.Timeout.Seconds(),
		"progress": setup.Progress.Path(),
	}
	if err := w.send(msg); err != nil {
		w.Kill()
		return nil, w.crashOr(fmt.Errorf("open stream: %w", err))
	}
	// Loading every module may take a while; the hard limit applies to each.
	for {
		f, err := w.await(ctx, w.opts.hardLimit())
		if err != nil {
			w.Kill()
			return nil, err
		}
		switch f.T {
		case "ready":
			return s, nil
		case frameLoad:
			var reply LoadReply
			if err := json.Unmarshal(f.Raw, &reply); err != nil {
				w.Kill()
				return nil, fmt.Errorf("decode load reply: %w", err)
			}
			w.mu.Lock()
			if f.Job >= 0 && f.Job < len(setup.Detections) {
				w.loaded[setup.Detections[f.Job].ID] = true
			}
			w.mu.Unlock()
			h.Loaded(f.Job, reply)
		case frameCache:
			if err := s.answer(f); err != nil {
				w.Kill()
				return nil, w.crashOr(err)
			}
		case frameFail:
			w.Kill()
			return nil, f.Error
		default:
			w.Kill()
			return nil, fmt.Errorf("unexpected frame %q opening a stream", f.T)
		}
	}
}

// Send queues a batch: the events' raw JSON goes after the frame's JSON
// header, unparsed, so Go never decodes an event. dets is nil for a shard
// batch; for an owned batch it lists, per event, the detections to run
// with the cache.
func (s *Stream) Send(round int, seqs []int64, raws [][]byte, dets [][]int) error {
	head := map[string]any{"t": "batch", "round": round, "seqs": seqs, "sizes": sizes(raws)}
	if dets != nil {
		head["dets"] = dets
	}
	header, err := json.Marshal(head)
	if err != nil {
		return err
	}
	buf := frameBuffers.Get().(*bytes.Buffer)
	defer frameBuffers.Put(buf)
	buf.Reset()
	buf.Write(header)
	buf.WriteByte('\n')
	for _, r := range raws {
		buf.Write(r)
	}
	return s.w.sendRaw(buf.Bytes())
}

// frameBuffers keeps batch frames' buffers for reuse: a replay writes
// hundreds of megabytes through them.
var frameBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func sizes(raws [][]byte) []int {
	out := make([]int, len(raws))
	for i, r := range raws {
		out[i] = len(r)
	}
	return out
}

// End asks the worker to finish the session after the batches it has.
func (s *Stream) End() error {
	return s.w.send(map[string]any{"t": "end"})
}

// Serve reads the session's frames until the worker says done after End,
// answering cache calls and passing results on. It returns a *CrashError
// (or the read error) when the worker dies; killing the worker (on a hang,
// or when ctx ends) ends Serve.
func (s *Stream) Serve(ctx context.Context) error {
	defer pinThread(s.w.cpu)()
	defer context.AfterFunc(ctx, s.w.Kill)()
	for {
		f, err := readFrame(s.w.in)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return s.w.crashOr(errors.New("worker closed its pipe"))
			}
			s.w.Kill()
			return s.w.crashOr(err)
		}
		switch f.T {
		case frameCache:
			if err := s.answer(f); err != nil {
				s.w.Kill()
				return s.w.crashOr(err)
			}
		case "results":
			var r StreamResults
			if err := json.Unmarshal(f.Raw, &r); err != nil {
				s.w.Kill()
				return fmt.Errorf("decode results: %w", err)
			}
			s.h.Results(r)
		case frameDone:
			return nil
		case frameFail:
			s.w.Kill()
			return f.Error
		default:
			s.w.Kill()
			return fmt.Errorf("unexpected frame %q in a stream", f.T)
		}
	}
}

func (s *Stream) answer(f Frame) error {
	ctxID := frameContext(f)
	return s.w.send(answerCall(f.Call, func(c cache.Call) (any, error) { return s.h.Cache(ctxID, c) }))
}
