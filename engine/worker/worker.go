package worker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rulebench/rulebench/cache"
)

// Config is what every worker is told before its first request: where the
// global helpers and data models live.
type Config struct {
	// Dir becomes the worker's working directory (the repository root, as
	// when a test runner is started there).
	Dir        string          `json:"cwd,omitempty"`
	Globals    []GlobalSpec    `json:"globals"`
	DataModels []DataModelSpec `json:"data_models"`
	// SysPath entries are appended to sys.path (e.g. the repository root).
	SysPath []string `json:"sys_path,omitempty"`
	// Network is the harness's network settings (mode and fixtures, see
	// network.py), encoded once for all workers; nil means offline without
	// fixtures.
	Network json.RawMessage `json:"network,omitempty"`
}

// GlobalSpec makes a helper module importable under its GlobalID.
type GlobalSpec struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// DataModelSpec is one enabled data model.
type DataModelSpec struct {
	ID       string        `json:"id"`
	Path     string        `json:"path,omitempty"`
	LogTypes []string      `json:"log_types"`
	Mappings []MappingSpec `json:"mappings"`
}

// MappingSpec maps a unified field name to a JSONPath or a method.
type MappingSpec struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	Method string `json:"method,omitempty"`
}

// DetectionSpec is what a worker needs to load and run one detection.
type DetectionSpec struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Path        string   `json:"path"`
	DisplayName string   `json:"display_name,omitempty"`
	Severity    string   `json:"severity,omitempty"`
	OutputIDs   []string `json:"output_ids,omitempty"`
	Description string   `json:"description,omitempty"`
	Reference   string   `json:"reference,omitempty"`
	Runbook     string   `json:"runbook,omitempty"`
	// Skip, when set, says why the module must not be imported (importing
	// it killed a worker); evaluations report it as the import error.
	Skip string `json:"skip,omitempty"`
}

// Item is one event (or test case) to evaluate.
type Item struct {
	// Ctx comes back with every cache call the item makes, so the caller can
	// route the call to the item's cache, clock and trace.
	Ctx   int             `json:"ctx"`
	Event json.RawMessage `json:"event"`
	Mocks []Mock          `json:"mocks,omitempty"`
}

// Mock replaces Name in the detection's module with a MagicMock returning
// Value for the duration of one item.
type Mock struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// LoadReply is the outcome of importing a detection's module.
type LoadReply struct {
	Functions []string `json:"functions"`
	Error     *PyError `json:"error"`
	Stdout    string   `json:"stdout"`
	// NetworkCalls are the outside calls module-level code made; Secrets
	// the secret values it received (to be masked).
	NetworkCalls []NetworkCall `json:"network_calls,omitempty"`
	Secrets      []Secret      `json:"secrets,omitempty"`
}

// Job is one detection and the items to evaluate with it. The worker
// imports the detection's module first if it has not yet (or Reload is set).
type Job struct {
	Detection DetectionSpec `json:"detection"`
	Items     []Item        `json:"items"`
	Reload    bool          `json:"reload,omitempty"`
}

// RunOptions shape a Run.
type RunOptions struct {
	// Alert runs the alert functions (title, dedup, ...) after a match.
	Alert bool
	// PerItem sends every result as soon as it is ready. Stateful runs need
	// it: if the process dies, exactly the answered items were applied.
	// Otherwise a job's results come in one frame (cheaper for tests).
	PerItem bool
}

// Handler answers what a worker asks for while it works on a request.
type Handler interface {
	// Cache answers one caching-helper call made by the item with ctx.
	Cache(ctx int, call cache.Call) (any, error)
	// Loaded reports that job's detection was imported (or failed to).
	Loaded(job int, reply LoadReply)
	// Item receives one item's result (raw JSON).
	Item(job, index int, result json.RawMessage)
}

// Options configure how workers are started.
type Options struct {
	Python Interpreter
	// Timeout is how long one item may run. The harness interrupts the rule
	// at Timeout; rulebench kills the process at Timeout+Grace without a
	// sign of life (for code stuck outside the interpreter).
	Timeout      time.Duration
	Grace        time.Duration
	CaptureLimit int
	// PycachePrefix is where compiled rule modules are cached ("" : none).
	PycachePrefix string
	Dir           string
	Env           []string
	Config        Config
}

func (o *Options) hardLimit() time.Duration {
	grace := o.Grace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	if o.Timeout <= 0 {
		return 0
	}
	return o.Timeout + grace
}

// TimeoutError: the worker gave no sign of life within the hard limit and
// was killed.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s: the worker was killed and will be restarted", e.After.Round(time.Millisecond))
}

// CrashError: the worker process died (os._exit, a segfault, killed).
type CrashError struct {
	State  string
	Stderr string
}

func (e *CrashError) Error() string {
	msg := "the Python worker exited unexpectedly"
	if e.State != "" {
		msg += " (" + e.State + ")"
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + lastLines(s, 6)
	}
	return msg
}

// ErrClosed is returned for requests to a worker that has been closed.
var ErrClosed = errors.New("worker closed")

// Worker is one Python process. It serves one request at a time.
type Worker struct {
	opts    *Options
	cmd     *exec.Cmd
	toChild *os.File
	in      *bufio.Reader
	readEnd *os.File
	exited  chan struct{}
	stderr  *tail
	stdout  *tail
	nextID  uint64
	Python  string
	PID     int

	// writeMu keeps frames whole when a replay writes batches while the
	// goroutine serving it answers cache calls.
	writeMu sync.Mutex

	mu        sync.Mutex
	dead      bool
	loaded    map[string]bool
	configGen int
	cpu       int
}

// Start launches a worker and boots the harness.
func Start(ctx context.Context, opts *Options) (*Worker, error) {
	return start(ctx, opts, -1)
}

// start launches a worker; cpu >= 0 pins it (and the thread serving it) to
// that CPU.
func start(ctx context.Context, opts *Options, cpu int) (*Worker, error) {
	payload, script, err := bootPayload(opts.CaptureLimit, opts.PycachePrefix, cpu)
	if err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	growPipe(reqW)
	growPipe(repW)
	w := &Worker{
		opts:    opts,
		toChild: reqW,
		exited:  make(chan struct{}),
		stderr:  newTail(16 << 10),
		stdout:  newTail(4 << 10),
		loaded:  map[string]bool{},
		cpu:     cpu,
	}
	cmd := exec.Command(opts.Python.Path, "-c", script)
	cmd.ExtraFiles = []*os.File{reqR, repW} // fd 3 and fd 4 in the child
	cmd.Env = workerEnv(opts.Env)
	cmd.Stdout = w.stdout
	cmd.Stderr = w.stderr
	// A rule that starts a long-lived child keeps the output pipes open;
	// don't let that hang Wait.
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		repR.Close()
		repW.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Python.Path, err)
	}
	reqR.Close()
	repW.Close()
	w.cmd = cmd
	w.PID = cmd.Process.Pid
	// Frames are read by the goroutine serving the request, with blocking
	// reads: no reader goroutine or poller hand-off sits between a cache
	// call and its answer. Timeouts and cancellation kill the process, which
	// ends a blocked read.
	_ = repR.Fd() // switches the pipe to blocking mode
	w.in = bufio.NewReaderSize(repR, 64<<10)
	w.readEnd = repR
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()

	if err := writeRaw(w.toChild, payload); err != nil {
		w.Kill()
		return nil, w.crashOr(fmt.Errorf("boot worker: %w", err))
	}
	hello, err := w.await(ctx, 30*time.Second)
	if err != nil {
		w.Kill()
		return nil, fmt.Errorf("boot worker: %w", err)
	}
	var h struct {
		Protocol int    `json:"protocol"`
		Python   string `json:"python"`
	}
	if hello.T != frameHello || json.Unmarshal(hello.Raw, &h) != nil {
		w.Kill()
		return nil, fmt.Errorf("boot worker: expected hello, got %q", hello.T)
	}
	if h.Protocol != ProtocolVersion {
		w.Kill()
		return nil, fmt.Errorf("boot worker: harness speaks protocol %d, rulebench speaks %d", h.Protocol, ProtocolVersion)
	}
	w.Python = h.Python
	return w, nil
}

// Configure tells the worker where the repository's globals and data models
// are; gen identifies the configuration so the pool configures each worker
// once.
func (w *Worker) Configure(ctx context.Context, cfg Config, gen int) error {
	if _, err := w.request(ctx, reqConfigure, map[string]any{
		"cwd":         cfg.Dir,
		"globals":     nonNil(cfg.Globals),
		"data_models": nonNil(cfg.DataModels),
		"sys_path":    cfg.SysPath,
		"network":     cfg.Network,
	}, nil); err != nil {
		return fmt.Errorf("configure worker: %w", err)
	}
	w.mu.Lock()
	w.configGen = gen
	w.mu.Unlock()
	return nil
}

func (w *Worker) configured() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.configGen
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func workerEnv(extra []string) []string {
	env := os.Environ()
	has := func(key string) bool {
		for _, kv := range append(env, extra...) {
			if strings.HasPrefix(kv, key+"=") {
				return true
			}
		}
		return false
	}
	// Fixed string hashing makes set iteration order, and so titles built
	// from sets, the same in every worker and every run.
	if !has("PYTHONHASHSEED") {
		env = append(env, "PYTHONHASHSEED=0")
	}
	env = append(env, "PYTHONIOENCODING=utf-8")
	return append(env, extra...)
}

// Alive reports whether the process can still take requests.
func (w *Worker) Alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.dead
}

// Loaded reports whether the detection's module was loaded in this process.
func (w *Worker) Loaded(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loaded[id]
}

// Run evaluates jobs in order, reporting through h as results arrive.
func (w *Worker) Run(ctx context.Context, jobs []Job, opts RunOptions, h Handler) error {
	flush := "job"
	if opts.PerItem {
		flush = "item"
	}
	_, err := w.request(ctx, reqRun, map[string]any{
		"jobs":    jobs,
		"alert":   opts.Alert,
		"flush":   flush,
		"timeout": w.opts.Timeout.Seconds(),
	}, loadTracker{Handler: h, w: w, jobs: jobs})
	return err
}

// loadTracker notes which modules the process has imported.
type loadTracker struct {
	Handler
	w    *Worker
	jobs []Job
}

func (t loadTracker) Loaded(job int, reply LoadReply) {
	if job >= 0 && job < len(t.jobs) {
		t.w.mu.Lock()
		t.w.loaded[t.jobs[job].Detection.ID] = true
		t.w.mu.Unlock()
	}
	t.Handler.Loaded(job, reply)
}

// Ping checks the worker answers.
func (w *Worker) Ping(ctx context.Context) error {
	_, err := w.request(ctx, reqPing, nil, nil)
	return err
}

func (w *Worker) request(ctx context.Context, kind string, body map[string]any, h Handler) (Frame, error) {
	if !w.Alive() {
		return Frame{}, ErrClosed
	}
	defer pinThread(w.cpu)()
	w.nextID++
	id := w.nextID
	msg := map[string]any{"t": kind, "id": id}
	for k, v := range body {
		msg[k] = v
	}
	if err := w.send(msg); err != nil {
		w.Kill()
		return Frame{}, w.crashOr(fmt.Errorf("send %s: %w", kind, err))
	}
	limit := w.opts.hardLimit()
	for {
		f, err := w.await(ctx, limit)
		if err != nil {
			w.Kill()
			return Frame{}, err
		}
		switch f.T {
		case frameDone:
			return f, nil
		case frameFail:
			if f.Error != nil {
				return f, f.Error
			}
			return f, fmt.Errorf("worker failed %s", kind)
		case frameLoad:
			var reply LoadReply
			if err := json.Unmarshal(f.Raw, &reply); err != nil {
				w.Kill()
				return Frame{}, fmt.Errorf("decode load reply: %w", err)
			}
			if h != nil {
				h.Loaded(f.Job, reply)
			}
		case frameItem, frameJob:
			if h == nil {
				break
			}
			if f.Load != nil {
				h.Loaded(f.Job, *f.Load)
			}
			if f.T == frameItem {
				h.Item(f.Job, f.Index, f.Result)
			}
			for i, r := range f.Results {
				h.Item(f.Job, i, r)
			}
		case frameCache:
			if err := w.answerCache(f, h); err != nil {
				w.Kill()
				return Frame{}, w.crashOr(err)
			}
		case frameBeat:
		default:
			w.Kill()
			return Frame{}, fmt.Errorf("unexpected frame %q from worker", f.T)
		}
	}
}

func (w *Worker) answerCache(f Frame, h Handler) error {
	if h == nil {
		return w.send(cacheReply{T: frameCacheAck, Error: &PyError{Type: "CacheError", Message: "the cache is not available here"}})
	}
	ctxID := frameContext(f)
	return w.send(answerCall(f.Call, func(c cache.Call) (any, error) { return h.Cache(int(ctxID), c) }))
}

// frameContext is a cache call's context: the item that made it, -1 when
// it came from module-level code.
func frameContext(f Frame) int64 {
	ctxID := int64(-1)
	if len(f.Ctx) > 0 && string(f.Ctx) != "null" {
		_ = json.Unmarshal(f.Ctx, &ctxID)
	}
	return ctxID
}

// answerCall runs a cache call and shapes the reply; an error is raised
// in the rule as the exception type a *cache.Error names.
func answerCall(call cache.Call, do func(cache.Call) (any, error)) cacheReply {
	reply := cacheReply{T: frameCacheAck}
	value, err := do(call)
	if err == nil {
		reply.Value = value
		return reply
	}
	kind := "CacheError"
	var ce *cache.Error
	if errors.As(err, &ce) && ce.Type != "" {
		kind = ce.Type
	}
	reply.Error = &PyError{Type: kind, Message: err.Error()}
	return reply
}

func (w *Worker) send(v any) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return writeFrame(w.toChild, v)
}

func (w *Worker) sendRaw(payload []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return writeRaw(w.toChild, payload)
}

type cacheReply struct {
	T     string   `json:"t"`
	Value any      `json:"value"`
	Error *PyError `json:"error,omitempty"`
}

// await returns the next frame, or an error when the worker dies, goes
// silent for longer than limit (0: no limit), or ctx ends.
func (w *Worker) await(ctx context.Context, limit time.Duration) (Frame, error) {
	var timedOut atomic.Bool
	if limit > 0 {
		t := time.AfterFunc(limit, func() {
			timedOut.Store(true)
			w.Kill()
		})
		defer t.Stop()
	}
	defer context.AfterFunc(ctx, w.Kill)()
	f, err := readFrame(w.in)
	if err == nil {
		return f, nil
	}
	switch {
	case timedOut.Load():
		return Frame{}, &TimeoutError{After: limit}
	case ctx.Err() != nil:
		return Frame{}, ctx.Err()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Frame{}, w.crashOr(errors.New("worker closed its pipe"))
	}
	w.Kill()
	return Frame{}, w.crashOr(fmt.Errorf("read from worker: %w", err))
}

// crashOr waits briefly for the process to finish dying and describes how it
// ended; err is used when it is still running.
func (w *Worker) crashOr(err error) error {
	select {
	case <-w.exited:
	case <-time.After(2 * time.Second):
		return err
	}
	w.markDead()
	state := ""
	if w.cmd.ProcessState != nil {
		state = w.cmd.ProcessState.String()
	}
	return &CrashError{State: state, Stderr: w.stderr.String()}
}

func (w *Worker) markDead() {
	w.mu.Lock()
	w.dead = true
	w.mu.Unlock()
}

// Kill stops the process (and anything it started) immediately.
func (w *Worker) Kill() {
	w.markDead()
	killProcessGroup(w.cmd)
	_ = w.toChild.Close()
}

// Close asks the worker to exit and kills it if it does not.
func (w *Worker) Close() error {
	if w.Alive() {
		_ = w.send(map[string]any{"t": reqExit})
		select {
		case <-w.exited:
		case <-time.After(time.Second):
		}
	}
	w.Kill()
	<-w.exited
	w.readEnd.Close()
	return nil
}

// Stderr is the tail of what the process wrote to stderr, for diagnostics.
func (w *Worker) Stderr() string { return w.stderr.String() }

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.buf, []byte("?")))
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
