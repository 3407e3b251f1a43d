package worker

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulebench/rulebench/cache"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, map[string]any{"t": "item", "id": 7, "job": 2, "index": 3, "result": map[string]int{"x": 1}}); err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if f.T != "item" || f.ID != 7 || f.Job != 2 || f.Index != 3 || string(f.Result) != `{"x":1}` {
		t.Errorf("frame = %+v", f)
	}

	var huge bytes.Buffer
	binary.Write(&huge, binary.BigEndian, uint32(maxFrame+1))
	if _, err := readFrame(&huge); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("oversized length: %v", err)
	}
	var cut bytes.Buffer
	binary.Write(&cut, binary.BigEndian, uint32(100))
	cut.WriteString(`{"t":`)
	if _, err := readFrame(&cut); err == nil {
		t.Error("truncated frame must fail")
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"3.9.0": true, "3.11.7": true, "3.13.0": true, "3.8.18": false, "2.7.18": false, "x": false} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
}

type recorder struct {
	mu     sync.Mutex
	loads  map[int]LoadReply
	items  map[[2]int]json.RawMessage
	calls  []cache.Call
	answer func(cache.Call) (any, error)
}

func newRecorder() *recorder {
	return &recorder{loads: map[int]LoadReply{}, items: map[[2]int]json.RawMessage{}}
}

func (r *recorder) Cache(ctx int, call cache.Call) (any, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	if r.answer != nil {
		return r.answer(call)
	}
	return nil, nil
}
func (r *recorder) Loaded(job int, reply LoadReply) { r.loads[job] = reply }
func (r *recorder) Item(job, index int, raw json.RawMessage) {
	r.items[[2]int{job, index}] = raw
}

func startWorker(t *testing.T, timeout time.Duration) *Worker {
	t.Helper()
	py, err := FindPython(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := Start(context.Background(), &Options{Python: py, Timeout: timeout, CaptureLimit: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Configure(context.Background(), Config{Dir: t.TempDir()}, 1); err != nil {
		t.Fatal(err)
	}
	return w
}

func writePy(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rule.py")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkerRunsJobsAndAnswersCacheCalls(t *testing.T) {
	w := startWorker(t, 5*time.Second)
	path := writePy(t, `
from panther_detection_helpers.caching import increment_counter, get_string_set
def rule(event):
    print("stdout is captured, not the protocol")
    if event.get("bad_key"):
        get_string_set("missing-table")
    return increment_counter(event.get("key")) > 1
`)
	rec := newRecorder()
	rec.answer = func(c cache.Call) (any, error) {
		if c.Op == cache.OpGetStringSet {
			return nil, &cache.Error{Type: "CacheError", Message: "table panther-kv-store not found"}
		}
		return 2, nil
	}
	jobs := []Job{{Detection: DetectionSpec{ID: "R", Kind: "rule", Path: path}, Items: []Item{
		{Ctx: 0, Event: json.RawMessage(`{"key": "a"}`)},
		{Ctx: 1, Event: json.RawMessage(`{"key": "b", "bad_key": true}`)},
	}}}
	if err := w.Run(context.Background(), jobs, RunOptions{Alert: true}, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.loads) != 1 || rec.loads[0].Error != nil || strings.Join(rec.loads[0].Functions, ",") != "rule" {
		t.Errorf("load = %+v", rec.loads)
	}
	if !w.Loaded("R") {
		t.Error("worker does not remember the loaded module")
	}
	var first struct {
		Output bool
		Stdout string
	}
	json.Unmarshal(rec.items[[2]int{0, 0}], &first)
	if !first.Output || !strings.Contains(first.Stdout, "captured") {
		t.Errorf("item 0 = %s", rec.items[[2]int{0, 0}])
	}
	if got := string(rec.items[[2]int{0, 1}]); !strings.Contains(got, `"type":"CacheError"`) || !strings.Contains(got, "panther-kv-store not found") {
		t.Errorf("a failed cache call must raise in the rule: %s", got)
	}
	if len(rec.calls) != 2 || rec.calls[0].Op != cache.OpIncrementCounter || rec.calls[0].Key != "a" || *rec.calls[0].Val != 1 {
		t.Errorf("cache calls = %+v", rec.calls)
	}

	// Loaded modules are not imported again.
	rec2 := newRecorder()
	rec2.answer = rec.answer
	if err := w.Run(context.Background(), jobs[:1], RunOptions{PerItem: true}, rec2); err != nil {
		t.Fatal(err)
	}
	if len(rec2.loads) != 0 || len(rec2.items) != 2 {
		t.Errorf("second run: loads %d items %d", len(rec2.loads), len(rec2.items))
	}
}

func TestWorkerHardTimeoutAndCrash(t *testing.T) {
	w := startWorker(t, 300*time.Millisecond)
	w.opts.Grace = 300 * time.Millisecond
	path := writePy(t, `
import os
def rule(event):
    if event.get("mode") == "exit":
        os._exit(7)
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
`)
	job := Job{Detection: DetectionSpec{ID: "R", Kind: "rule", Path: path}, Items: []Item{{Event: json.RawMessage(`{}`)}}}
	err := w.Run(context.Background(), []Job{job}, RunOptions{PerItem: true}, newRecorder())
	var te *TimeoutError
	if !errors.As(err, &te) || w.Alive() {
		t.Fatalf("stubborn loop: err %v alive %v", err, w.Alive())
	}

	w2 := startWorker(t, 5*time.Second)
	job.Items[0].Event = json.RawMessage(`{"mode": "exit"}`)
	err = w2.Run(context.Background(), []Job{job}, RunOptions{PerItem: true}, newRecorder())
	var ce *CrashError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "exit status 7") {
		t.Fatalf("os._exit: %v", err)
	}
}

func TestPoolHomesAndRestarts(t *testing.T) {
	py, err := FindPython(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(&Options{Python: py, Timeout: 5 * time.Second}, 2)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if _, err := p.Acquire(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire before Configure must wait: %v", err)
	}
	cancel()
	p.Configure(Config{Dir: t.TempDir()})
	a, err := p.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	if a.Index() == b.Index() {
		t.Fatal("two leases on one worker")
	}
	first := a.Worker
	first.Kill()
	a.Release()
	b.Release()
	again, err := p.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if again.Index() != a.Index() || again.Worker == first || !again.Worker.Alive() {
		t.Errorf("a must come back to its home slot with a fresh worker")
	}
	if err := again.Worker.Ping(context.Background()); err != nil {
		t.Errorf("restarted worker: %v", err)
	}
}
