package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/events"
	enginereplay "github.com/rulebench/rulebench/engine/replay"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/replay"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/watch"
)

// Messages from the workbench's commands. Engine work always happens in a
// command; its outcome comes back as one of these.
type (
	engineReadyMsg struct {
		h   *engineHandle
		err error
	}
	eventsLoadedMsg struct {
		samples, user []events.Event
		problems      []string
	}
	// runStepMsg is one item of a run, as soon as it is done.
	runStepMsg struct {
		seq   int
		run   *result.Run
		fresh *mocks.Cache
	}
	runDoneMsg struct {
		seq     int
		err     error
		elapsed time.Duration
	}
	testsReportMsg struct {
		seq    int
		report engine.DetectionReport
	}
	testsDoneMsg struct {
		seq     int
		err     error
		elapsed time.Duration
		// rerun: one detection (or one test) re-run from triage.
		rerun bool
	}
	reloadedMsg struct {
		seq   int
		repo  *repo.Repository
		h     *engineHandle
		paths []string
		err   error
	}
	watchStartedMsg struct {
		w   *watch.Watcher
		err error
	}
	ruleEditedMsg struct{ err error }
	// streamMsg carries one message of a long command (a run, a test run)
	// and the channel the next one comes from.
	streamMsg struct {
		ch  <-chan tea.Msg
		msg tea.Msg
	}
)

// listen waits for the next message of a stream; a closed stream ends the
// chain with a nil message.
func listen(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return streamMsg{ch: ch, msg: msg}
	}
}

func bootEngine(ctx context.Context, h *engineHandle, opts engine.Options, r *repo.Repository) tea.Cmd {
	return func() tea.Msg {
		return engineReadyMsg{h: h, err: h.boot(ctx, opts, r)}
	}
}

// maxUserEvents bounds what the events pane holds of a --events file: it
// lists events to pick from, it is not a replay (rulebench run is).
const maxUserEvents = 10000

func loadEvents(samples, user []string) tea.Cmd {
	return func() tea.Msg {
		var msg eventsLoadedMsg
		if len(samples) > 0 {
			evs, errs, err := events.ReadAll(samples)
			msg.samples = evs
			for _, e := range errs {
				msg.problems = append(msg.problems, e.Error())
			}
			if err != nil {
				msg.problems = append(msg.problems, err.Error())
			}
		}
		if len(user) > 0 {
			r, err := events.Open(user)
			if err != nil {
				msg.problems = append(msg.problems, err.Error())
				return msg
			}
			defer r.Close()
			for {
				ev, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					msg.problems = append(msg.problems, err.Error())
					continue
				}
				if len(msg.user) == maxUserEvents {
					msg.problems = append(msg.problems, fmt.Sprintf("--events: only the first %d events are listed", maxUserEvents))
					break
				}
				msg.user = append(msg.user, ev)
			}
		}
		return msg
	}
}

// SampleEventFiles lists the event files of a samples directory: the JSON
// and JSONL files of its events/ folder.
func SampleEventFiles(root string) []string {
	var out []string
	for _, pattern := range []string{"*.jsonl", "*.json", "*.jsonl.gz", "*.json.gz"} {
		matches, _ := filepath.Glob(filepath.Join(root, "events", pattern))
		out = append(out, matches...)
	}
	return out
}

func startWatch(root string, extra []string) tea.Cmd {
	return func() tea.Msg {
		w, err := watch.Start(root, extra, 150*time.Millisecond)
		return watchStartedMsg{w: w, err: err}
	}
}

// runJob is one run: a detection over items, in order.
type runJob struct {
	seq   int
	h     *engineHandle
	det   *repo.Detection
	items []eventlist.Item
	// shared is the workbench's cache; tests get a fresh one unless
	// sharedTests is set.
	shared      cache.Store
	sharedTests bool
}

// start runs the job in the background; its steps and its end come back
// on the returned stream.
func (j runJob) start(ctx context.Context) tea.Cmd {
	ch := make(chan tea.Msg, 8)
	go func() {
		defer close(ch)
		started := time.Now()
		err := j.run(ctx, ch)
		ch <- runDoneMsg{seq: j.seq, err: err, elapsed: time.Since(started)}
	}()
	return listen(ch)
}

func (j runJob) run(ctx context.Context, ch chan<- tea.Msg) error {
	e, release, err := j.h.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	total := len(j.items)
	step := func(i int, res *engine.Result, fresh *mocks.Cache, err error) {
		it := j.items[i]
		run := &result.Run{Seq: j.seq, Detection: j.det, Item: it, Result: res, Err: err, Index: i, Total: total, Fresh: fresh != nil}
		if it.Test != nil && res != nil {
			tr := engine.Judge(j.det, *it.Test, res)
			run.Test = &tr
		}
		ch <- runStepMsg{seq: j.seq, run: run, fresh: fresh}
	}
	// Events from files go in one call, sharing the cache in order; each
	// test runs alone with its own mocks (and its own cache).
	for i := 0; i < total; {
		it := j.items[i]
		if it.Test != nil {
			store, fresh := j.shared, (*mocks.Cache)(nil)
			if !j.sharedTests {
				fresh = mocks.NewCache()
				store = cache.New(fresh)
			}
			res, err := e.Evaluate(ctx, j.det, []json.RawMessage{it.Raw}, engine.EvalOptions{Store: store, Mocks: it.Test.Mocks})
			if err != nil && ctx.Err() != nil {
				return err
			}
			var r *engine.Result
			if len(res) == 1 {
				r = res[0]
			}
			if r == nil {
				step(i, nil, fresh, err)
			} else {
				step(i, r, fresh, nil)
			}
			i++
			continue
		}
		end := i
		for end < total && j.items[end].Test == nil {
			end++
		}
		raws := make([]json.RawMessage, 0, end-i)
		for _, it := range j.items[i:end] {
			raws = append(raws, it.Raw)
		}
		base := i
		done := make([]bool, end-i)
		res, err := e.Evaluate(ctx, j.det, raws, engine.EvalOptions{
			Store: j.shared,
			OnResult: func(k int, r *engine.Result) {
				done[k] = true
				step(base+k, r, nil, nil)
			},
		})
		if err != nil && ctx.Err() != nil {
			return err
		}
		for k := range res {
			if !done[k] {
				step(base+k, res[k], nil, err)
			}
		}
		i = end
	}
	return nil
}

// testJob runs unit tests, streaming each detection's report.
type testJob struct {
	seq      int
	h        *engineHandle
	dets     []*repo.Detection
	testName string
	rerun    bool
}

func (j testJob) start(ctx context.Context) tea.Cmd {
	ch := make(chan tea.Msg, 8)
	go func() {
		defer close(ch)
		started := time.Now()
		e, release, err := j.h.acquire(ctx)
		if err == nil {
			_, err = e.RunTests(ctx, j.dets, engine.TestOptions{
				TestName: j.testName,
				OnReport: func(rep engine.DetectionReport) { ch <- testsReportMsg{seq: j.seq, report: rep} },
			})
			release()
		}
		ch <- testsDoneMsg{seq: j.seq, err: err, elapsed: time.Since(started), rerun: j.rerun}
	}()
	return listen(ch)
}

// reload loads the repository again and starts a new engine for it.
func reload(ctx context.Context, load func() (*repo.Repository, error), opts engine.Options, paths []string) tea.Cmd {
	return func() tea.Msg {
		r, err := load()
		if err != nil {
			return reloadedMsg{err: err, paths: paths}
		}
		h := newEngineHandle()
		// Python boots in the background; the new repository shows at once.
		go h.boot(ctx, opts, r)
		return reloadedMsg{repo: r, h: h, paths: paths}
	}
}

// openRule opens a detection's Python file in the user's editor, at line
// when it is set and the editor is known to take "+LINE".
func openRule(editor []string, path string, line int) tea.Cmd {
	args := append([]string(nil), editor[1:]...)
	if line > 0 && takesPlusLine(editor[0]) {
		args = append(args, fmt.Sprintf("+%d", line))
	}
	args = append(args, path)
	c := exec.Command(editor[0], args...)
	return tea.ExecProcess(c, func(err error) tea.Msg { return ruleEditedMsg{err: err} })
}

func takesPlusLine(editor string) bool {
	switch strings.TrimSuffix(filepath.Base(editor), ".exe") {
	case "vi", "vim", "nvim", "view", "nano", "emacs", "emacsclient", "micro", "kak", "hx", "joe", "mg", "ne":
		return true
	}
	return false
}

// replayJob streams event files through detections on every worker of
// the engine (engine.Stream), against the workbench's cache and clock.
type replayJob struct {
	seq       int
	h         *engineHandle
	dets      []*repo.Detection
	allEvents bool
	files     []string
	store     cache.Store
	clock     *engine.Clock
	// every is how often results and progress are handed to the view.
	every time.Duration
}

// maxReplayBatch bounds the results of one batch message: the view groups
// them in its Update, which must stay short.
const maxReplayBatch = 2000

// replayItem is a result or a bad-input problem on its way to a batch.
type replayItem struct {
	result engine.StreamResult
	bad    string
}

// start runs the replay in the background. Results reach the view in
// batches, in input order; the last message is a replay.DoneMsg, sent
// even when ctx was cancelled (while the workbench, parent, lives).
func (j replayJob) start(ctx, parent context.Context) tea.Cmd {
	ch := make(chan tea.Msg, 2)
	go func() {
		defer close(ch)
		done := j.run(ctx, ch)
		select {
		case ch <- done:
		case <-parent.Done():
		}
	}()
	return listen(ch)
}

func (j replayJob) run(ctx context.Context, out chan<- tea.Msg) replay.DoneMsg {
	started := time.Now()
	done := replay.DoneMsg{Seq: j.seq}
	r, err := events.Open(j.files)
	if err != nil {
		done.Err = err
		return done
	}
	defer r.Close()
	e, release, err := j.h.acquire(ctx)
	if err != nil {
		done.Err = err
		return done
	}
	defer release()
	// Outside calls are counted per worker since they were last asked:
	// those of runs before the replay are not the replay's.
	if err := e.CollectNetworkUsage(ctx, engine.NewNetworkUsage()); err != nil {
		done.Err = err
		return done
	}
	every := j.every
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	// Results come from the engine's goroutines: they go through a channel
	// to one goroutine that batches them for the view. A full channel
	// holds the engine back, so memory stays flat when the view is slower.
	items := make(chan replayItem, maxReplayBatch)
	put := func(it replayItem) {
		select {
		case items <- it:
		case <-ctx.Done():
		}
	}
	batched := make(chan struct{})
	go func() {
		defer close(batched)
		batchReplay(ctx, j.seq, r, items, out, every, started)
	}()
	summary, err := e.Stream(ctx, r, engine.StreamOptions{
		Detections: j.dets, AllEvents: j.allEvents, Store: j.store, Clock: j.clock,
		OnResult:     func(sr engine.StreamResult) { put(replayItem{result: sr}) },
		OnBad:        func(_ events.Event, err error) { put(replayItem{bad: err.Error()}) },
		OnInputError: func(err error) { put(replayItem{bad: err.Error()}) },
	})
	close(items)
	<-batched
	done.Progress, done.Elapsed = r.Progress(), time.Since(started)
	done.Summary = summary
	switch {
	case err != nil:
		done.Err = err
	case ctx.Err() != nil:
		// Cancelled: the stream ends early without an error; what it
		// profiled so far is kept.
		done.Err = ctx.Err()
	default:
		done.Calls, done.CallsErr = enginereplay.ProjectCalls(ctx, e, summary, 0, 0)
	}
	return done
}

// batchReplay gathers results into batch messages, sent every so often
// (with the reader's progress, even when nothing matched) and when a batch
// is full; the last one when items closes.
func batchReplay(ctx context.Context, seq int, r *events.Reader, items <-chan replayItem, out chan<- tea.Msg, every time.Duration, started time.Time) {
	t := time.NewTicker(every)
	defer t.Stop()
	var batch replay.BatchMsg
	flush := func() bool {
		batch.Seq, batch.Progress, batch.Elapsed = seq, r.Progress(), time.Since(started)
		select {
		case out <- batch:
		case <-ctx.Done():
			return false
		}
		batch = replay.BatchMsg{}
		return true
	}
	for {
		select {
		case it, ok := <-items:
			if !ok {
				flush()
				return
			}
			if it.bad != "" {
				batch.Bad = append(batch.Bad, it.bad)
			} else {
				batch.Results = append(batch.Results, it.result)
			}
			if len(batch.Results) >= maxReplayBatch && !flush() {
				return
			}
		case <-t.C:
			if !flush() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
