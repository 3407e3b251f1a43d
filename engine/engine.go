// Package engine runs a rules repository the way Panther does: detections
// execute in real CPython workers, their cache calls are answered by a Go
// cache, and results come back with every fallback Panther applies.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
)

// Options configure an Engine.
type Options struct {
	// Python is the interpreter to run ("" : $RULEBENCH_PYTHON, then python3).
	Python string
	// Workers is the number of Python processes (0: one per CPU).
	Workers int
	// Timeout bounds one test or event (0: 10s).
	Timeout time.Duration
	// CaptureLimit bounds the printed output kept per event (0: 64 KiB).
	CaptureLimit int
	// NewTestStore gives each unit test its own empty cache. Required to run
	// tests.
	NewTestStore func() cache.Store
	// Clock is where cache calls get "now" (nil: wall clock).
	Clock *Clock
	// Env is added to the workers' environment.
	Env []string
	// BytecodeCache is where compiled rules are cached between runs (""
	// means the user cache directory; "off" disables caching).
	BytecodeCache string
	// Network says what rule code's outside calls (HTTP, AWS) do: answered
	// from fixtures (the default) or sent out and recorded.
	Network NetworkOptions
}

func bytecodeCache(setting string) string {
	switch setting {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "rulebench", "pycache")
	}
	return setting
}

// Engine owns the worker pool for one loaded repository.
type Engine struct {
	opts  Options
	repo  *repo.Repository
	pool  *worker.Pool
	wopts *worker.Options

	mu    sync.Mutex
	loads map[string]worker.LoadReply

	net networkState
}

// New starts the workers for r in the background and returns at once.
func New(ctx context.Context, r *repo.Repository, opts Options) (*Engine, error) {
	e, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	e.Use(r)
	return e, nil
}

// Start resolves the interpreter and boots the workers in the background,
// before the repository is known, so that booting Python overlaps loading
// the YAML. Call Use before running anything.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.CaptureLimit <= 0 {
		opts.CaptureLimit = 64 << 10
	}
	py, err := worker.FindPython(ctx, opts.Python)
	if err != nil {
		return nil, err
	}
	wopts := &worker.Options{
		Python:        py,
		Timeout:       opts.Timeout,
		CaptureLimit:  opts.CaptureLimit,
		PycachePrefix: bytecodeCache(opts.BytecodeCache),
		Env:           opts.Env,
	}
	e := &Engine{opts: opts, wopts: wopts, loads: map[string]worker.LoadReply{}}
	if err := e.startNetwork(ctx); err != nil {
		return nil, err
	}
	e.pool = worker.NewPool(wopts, opts.Workers)
	return e, nil
}

// Use sets the repository the engine runs. It is meant to be called once,
// right after Start; to pick up changed files, start a new Engine.
func (e *Engine) Use(r *repo.Repository) {
	e.repo = r
	cfg := workerConfig(r)
	cfg.Network = e.useNetwork(r)
	e.pool.Configure(cfg)
}

func workerConfig(r *repo.Repository) worker.Config {
	cfg := worker.Config{Dir: r.Root}
	for _, g := range r.Globals {
		cfg.Globals = append(cfg.Globals, worker.GlobalSpec{ID: g.ID, Path: g.PythonFile})
	}
	for _, m := range r.DataModels {
		if !m.Enabled {
			continue
		}
		spec := worker.DataModelSpec{ID: m.ID, Path: m.PythonFile, LogTypes: m.LogTypes}
		for _, mp := range m.Mappings {
			spec.Mappings = append(spec.Mappings, worker.MappingSpec{Name: mp.Name, Path: mp.Path, Method: mp.Method})
		}
		cfg.DataModels = append(cfg.DataModels, spec)
	}
	return cfg
}

// Repository is the repository the engine runs.
func (e *Engine) Repository() *repo.Repository { return e.repo }

// Python is the interpreter the workers run.
func (e *Engine) Python() worker.Interpreter { return e.wopts.Python }

// Workers is the pool size.
func (e *Engine) Workers() int { return e.pool.Size() }

// Close stops the workers.
func (e *Engine) Close() error {
	e.pool.Close()
	return nil
}

// LoadInfo is what importing a detection's module reported (functions
// defined, import error, printed output), once it has been loaded.
func (e *Engine) LoadInfo(id string) (worker.LoadReply, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.loads[id]
	return info, ok
}

func detectionSpec(d *repo.Detection) worker.DetectionSpec {
	return worker.DetectionSpec{
		ID: d.ID, Kind: string(d.Kind), Path: d.PythonFile,
		DisplayName: d.DisplayName, Severity: string(d.Severity), OutputIDs: d.OutputIDs,
		Description: d.Description, Reference: d.Reference, Runbook: d.Runbook,
	}
}

// job is one detection's items on their way through a worker. Items are
// numbered by their position in events.
type job struct {
	det    *repo.Detection
	events []json.RawMessage
	mocks  func(item int) []worker.Mock
	store  func(item int) cache.Store
	// onResult, when set, sees each result as soon as it is ready.
	onResult func(item int, r *Result)

	results []*Result
	ops     map[int][]cache.Op
	times   map[int]time.Time
	loaded  bool // a load frame came back during the current request
	// secrets masks results as they finish (set by run).
	secrets *Secrets
}

func newJob(d *repo.Detection, evs []json.RawMessage) *job {
	return &job{det: d, events: evs, results: make([]*Result, len(evs)), ops: map[int][]cache.Op{}, times: map[int]time.Time{}}
}

// next is the first item without a result (len(events) when done).
func (j *job) next() int {
	for i, r := range j.results {
		if r == nil {
			return i
		}
	}
	return len(j.results)
}

func (j *job) finish(item int, r *Result) {
	if item < 0 || item >= len(j.results) || j.results[item] != nil {
		return
	}
	r.CacheOps = j.ops[item]
	delete(j.ops, item)
	j.secrets.learnAndMask(r)
	j.results[item] = r
	if j.onResult != nil {
		j.onResult(item, r)
	}
}

// failRest gives every unanswered item the same error.
func (j *job) failRest(r func() *Result) {
	for i := j.next(); i < len(j.results); i++ {
		if j.results[i] == nil {
			j.finish(i, r())
		}
	}
}

func (j *job) eventTime(clock *Clock, item int) time.Time {
	if clock.Mode() != ClockEvent {
		return time.Time{}
	}
	if t, ok := j.times[item]; ok {
		return t
	}
	var t time.Time
	if s, ok := events.StringField(j.events[item], "p_event_time"); ok {
		t, _ = events.ParseTime(s)
	}
	j.times[item] = t
	return t
}

// runOptions shape one dispatch.
type runOptions struct {
	alert   bool
	perItem bool
	clock   *Clock
	// loadStore answers cache calls made while a module is imported.
	loadStore cache.Store
}

// request is one worker.Run call: it routes the worker's callbacks to jobs.
type request struct {
	ctx    context.Context
	e      *Engine
	opts   runOptions
	jobs   []*job
	offset []int // per job: index of the first item sent
	// ctx id -> job and item
	ctxJob, ctxItem []int
}

func (q *request) Cache(id int, call cache.Call) (any, error) {
	store, item := q.opts.loadStore, -1
	var j *job
	var eventTime time.Time
	if id >= 0 && id < len(q.ctxJob) {
		j, item = q.jobs[q.ctxJob[id]], q.ctxItem[id]
		store = j.store(item)
		eventTime = j.eventTime(q.opts.clock, item)
	}
	if store == nil {
		return nil, &cache.Error{Type: "CacheError", Message: "no cache is configured for this run"}
	}
	value, op, err := store.Do(q.ctx, q.opts.clock.Now(eventTime), call)
	if j != nil {
		j.ops[item] = append(j.ops[item], op)
	}
	return value, err
}

func (q *request) Loaded(job int, reply worker.LoadReply) {
	if job >= 0 && job < len(q.jobs) {
		q.jobs[job].loaded = true
		q.e.recordLoad(q.jobs[job].det.ID, reply)
	}
}

func (q *request) Item(job, index int, raw json.RawMessage) {
	if job < 0 || job >= len(q.jobs) {
		return
	}
	j := q.jobs[job]
	j.finish(q.offset[job]+index, decodeResult(j.det.ID, raw))
}

// run sends jobs to one worker (the home of the first job's detection, which
// becomes home to them all) until every item has a result. A worker that
// dies or hangs costs only the item it was on: that item gets the error and
// the rest go to a fresh worker. Cache state lives here, in Go, so nothing
// already stored is lost.
func (e *Engine) run(ctx context.Context, jobs []*job, opts runOptions) error {
	for {
		var pending []*job
		for _, j := range jobs {
			if j.next() < len(j.events) {
				pending = append(pending, j)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		lease, err := e.pool.Acquire(ctx, pending[0].det.ID)
		if err != nil {
			return err
		}
		w := lease.Worker
		wasLoaded := make([]bool, len(pending))
		q := &request{ctx: ctx, e: e, opts: opts, jobs: pending, offset: make([]int, len(pending))}
		wjobs := make([]worker.Job, len(pending))
		for ji, j := range pending {
			e.pool.SetHome(j.det.ID, lease.Index())
			j.loaded = false
			j.secrets = e.net.secrets
			wasLoaded[ji] = w.Loaded(j.det.ID)
			first := j.next()
			q.offset[ji] = first
			wj := worker.Job{Detection: detectionSpec(j.det)}
			for i := first; i < len(j.events); i++ {
				it := worker.Item{Ctx: len(q.ctxJob), Event: j.events[i]}
				if j.mocks != nil {
					it.Mocks = j.mocks(i)
				}
				q.ctxJob = append(q.ctxJob, ji)
				q.ctxItem = append(q.ctxItem, i)
				wj.Items = append(wj.Items, it)
			}
			wjobs[ji] = wj
		}
		err = w.Run(ctx, wjobs, worker.RunOptions{Alert: opts.alert, PerItem: opts.perItem}, q)
		lease.Release()
		if err == nil {
			continue
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var py *PyError
		if errors.As(err, &py) {
			// The harness itself failed the request (a bug, not the rule's).
			for _, j := range pending {
				j.failRest(func() *Result { return failedResult(j.det.ID, err) })
			}
			return nil
		}
		// Find the job the worker was on when it died or hung.
		for ji, j := range pending {
			if j.next() == len(j.events) {
				continue
			}
			if !opts.perItem {
				// Results (and the import report) were due at the end of
				// the job: run it again one item at a time to find where
				// the worker died.
				single := opts
				single.perItem = true
				if err := e.run(ctx, []*job{j}, single); err != nil {
					return err
				}
				break
			}
			if !wasLoaded[ji] && !j.loaded {
				// Importing the module hung or killed the worker: every
				// item fails the same way, and retrying would repeat it.
				pe := workerError(err)
				pe.Message = "importing " + j.det.PythonFile + ": " + pe.Message
				e.recordLoad(j.det.ID, worker.LoadReply{Error: pe})
				j.failRest(func() *Result { return &Result{DetectionID: j.det.ID, Error: pe, SetupError: true} })
				break
			}
			j.finish(j.next(), failedResult(j.det.ID, err))
			break
		}
	}
}

func (e *Engine) recordLoad(id string, reply worker.LoadReply) {
	e.mu.Lock()
	e.loads[id] = e.net.secrets.learnAndMaskLoad(reply)
	e.mu.Unlock()
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Store is the cache shared by the events, in order. Required when the
	// detection uses the cache.
	Store cache.Store
	// Clock overrides the engine's clock.
	Clock *Clock
	// Mocks apply to every event, as in a unit test.
	Mocks []repo.Mock
	// OnResult, when set, receives each result as soon as it is ready.
	OnResult func(index int, r *Result)
}

// Evaluate runs one detection over events in order, against one shared
// cache, running the alert functions on every match.
func (e *Engine) Evaluate(ctx context.Context, d *repo.Detection, evs []json.RawMessage, opts EvalOptions) ([]*Result, error) {
	clock := opts.Clock
	if clock == nil {
		clock = e.opts.Clock
	}
	j := newJob(d, evs)
	j.store = func(int) cache.Store { return opts.Store }
	j.onResult = opts.OnResult
	if len(opts.Mocks) > 0 {
		wm := workerMocks(opts.Mocks)
		j.mocks = func(int) []worker.Mock { return wm }
	}
	if err := e.run(ctx, []*job{j}, runOptions{alert: true, perItem: true, clock: clock, loadStore: opts.Store}); err != nil {
		return j.results, fmt.Errorf("evaluate %s: %w", d.ID, err)
	}
	return j.results, nil
}

func workerMocks(ms []repo.Mock) []worker.Mock {
	out := make([]worker.Mock, len(ms))
	for i, m := range ms {
		out[i] = worker.Mock{Name: m.ObjectName, Value: m.ReturnValue}
	}
	return out
}
