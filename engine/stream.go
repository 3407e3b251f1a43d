package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
)

// Replay runs detections over a stream of events on every worker at once.
//
// Events are dealt out round-robin (event n goes to worker n mod N) in
// rounds, so every event is parsed once, by one worker, with the cache
// switched off: an evaluation that reaches the cache is abandoned at its
// first call, before any effect, and reported as deferred. When every worker
// has finished its share of a round, the round's deferred evaluations go to
// the workers that own their detections (a detection has one owner), in
// input order, and run there with the cache. So each detection's cache sees
// its events in input order whatever the number of workers, and no worker
// ever waits for another. Results are released in input order, round by
// round, so what a replay reports does not depend on the number of workers.
//
// Most evaluations never reach the cache (rules filter first), so most work
// is spread evenly; the deferred ones cost a second parse.

// StreamOptions configure Stream.
type StreamOptions struct {
	Detections []*repo.Detection
	// AllEvents sends every event to every detection (detections named on
	// the command line); otherwise an event reaches the detections whose
	// LogTypes hold its p_log_type.
	AllEvents bool
	// Store is the cache every detection shares.
	Store cache.Store
	// Clock overrides the engine's clock.
	Clock *Clock
	// RoundSize is the number of events dealt per round (0: 256 per worker).
	RoundSize int
	// OnResult receives every match and every rule error, in input order.
	OnResult func(StreamResult)
	// OnBad receives events a worker could not parse, in input order.
	OnBad func(ev events.Event, err error)
	// OnInputError receives the reader's errors (a bad line, a bad file).
	OnInputError func(err error)
	// OnRound is called after each round is released, with the events read
	// so far (for progress displays).
	OnRound func(eventsRead int64)
}

// StreamResult is one detection's match or error on one event.
type StreamResult struct {
	Event     events.Event
	Detection *repo.Detection
	Result    *Result
	// EventTime is the event's p_event_time (zero when it has none).
	EventTime time.Time
}

// Profile is what one detection cost over a replay.
type Profile struct {
	Detection *repo.Detection
	Events    int64 // events evaluated
	Matched   int64
	Errors    int64
	// Total is the time in rule()/policy() of the Timed evaluations (all of
	// the first ones, then one in eight).
	Total time.Duration
	Timed int64
	hist  map[int]int64
	// CacheCalls counts every cache call; CacheCallsUnmatched those made
	// while evaluating events the detection did not match: the "using the
	// cache before it is necessary" pitfall.
	CacheCalls          int64
	CacheCallsUnmatched int64
}

// Mean is the mean time per evaluated event.
func (p *Profile) Mean() time.Duration {
	if p.Timed == 0 {
		return 0
	}
	return p.Total / time.Duration(p.Timed)
}

// Percentile is the duration under which q (0..1) of evaluations finished,
// to the histogram's resolution (buckets ~19% wide).
func (p *Profile) Percentile(q float64) time.Duration {
	if p.Timed == 0 {
		return 0
	}
	buckets := make([]int, 0, len(p.hist))
	for b := range p.hist {
		buckets = append(buckets, b)
	}
	sort.Ints(buckets)
	target := int64(q*float64(p.Timed) + 0.5)
	if target < 1 {
		target = 1
	}
	var seen int64
	for _, b := range buckets {
		seen += p.hist[b]
		if seen >= target {
			return time.Duration(worker.BucketUpper(b))
		}
	}
	return time.Duration(worker.BucketUpper(buckets[len(buckets)-1]))
}

// CallsPerEvent is cache calls per evaluated event.
func (p *Profile) CallsPerEvent() float64 {
	if p.Events == 0 {
		return 0
	}
	return float64(p.CacheCalls) / float64(p.Events)
}

// StreamSummary is a finished replay.
type StreamSummary struct {
	Events   int64 // events read
	Bad      int64 // events that could not be parsed
	Profiles []*Profile
	Duration time.Duration
}

const maxRoundsInFlight = 4

// Stream replays events from r through the detections.
func (e *Engine) Stream(ctx context.Context, r *events.Reader, opts StreamOptions) (*StreamSummary, error) {
	started := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clock := opts.Clock
	if clock == nil {
		clock = e.opts.Clock
	}
	s := &replay{
		e: e, ctx: ctx, cancel: cancel, opts: opts, clock: clock,
		rounds: map[int]*round{}, replays: map[int64][]cache.Op{}, inflight: make(chan struct{}, maxRoundsInFlight),
	}
	for _, d := range opts.Detections {
		s.profiles = append(s.profiles, &Profile{Detection: d, hist: map[int]int64{}})
	}
	if len(opts.Detections) == 0 {
		// Nothing to run: still read the input, for its counts and errors.
		for {
			ev, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if opts.OnInputError != nil {
					opts.OnInputError(err)
				}
				continue
			}
			s.read.Add(1)
			_ = ev
		}
		return &StreamSummary{Events: s.read.Load(), Duration: time.Since(started)}, nil
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	defer s.close()
	s.roundSize = opts.RoundSize
	if s.roundSize <= 0 {
		s.roundSize = 256 * len(s.slots)
	}

	var wg sync.WaitGroup
	for _, sl := range s.slots {
		wg.Add(3)
		go func(sl *slot) { defer wg.Done(); s.serve(sl) }(sl)
		go func(sl *slot) { defer wg.Done(); s.send(sl) }(sl)
		go func(sl *slot) { defer wg.Done(); s.watch(sl) }(sl)
	}
	readErr := s.dispatch(r)
	// Every round dispatched; wait until all are released, then end.
	for i := 0; i < cap(s.inflight); i++ {
		select {
		case s.inflight <- struct{}{}:
		case <-ctx.Done():
		}
	}
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	for _, sl := range s.slots {
		close(sl.queue)
	}
	wg.Wait()
	if err := s.failure(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	return &StreamSummary{Events: s.read.Load(), Bad: s.bad, Profiles: s.profiles, Duration: time.Since(started)}, nil
}

type replay struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	opts   StreamOptions
	clock  *Clock
	setup  worker.StreamSetup
	slots  []*slot

	roundSize int
	inflight  chan struct{}
	// arenas recycles the buffers that hold a round's events: one buffer
	// per round instead of an allocation per event keeps the garbage
	// collector (which competes with the workers for the CPUs) quiet.
	arenas sync.Pool

	releaseMu sync.Mutex // keeps rounds released in order

	read atomic.Int64 // events read (dispatch writes, others read)

	mu     sync.Mutex
	rounds map[int]*round
	// replays holds recorded cache calls of events being evaluated again
	// after a worker died: their calls are answered from the recording so
	// that nothing is applied twice.
	replays   map[int64][]cache.Op
	next      int // next round to release
	nextOwned int // next round whose deferred evaluations go to their owners
	bad       int64
	profiles  []*Profile
	finished  bool
	err       error
}

// round is one slice of the input on its way through the workers.
type round struct {
	index  int
	first  int64
	events []events.Event
	arena  []byte // holds every event's Raw
	// expected final frames (one per worker given events, then one per
	// owner given deferred evaluations), received so far
	expected, finals int
	sharded          int  // shard batches still running
	owned            bool // deferred evaluations sent to their owners
	deferred         []worker.Deferral
	items            []worker.StreamItem
	badEvents        []worker.BadEvent
	ops              map[int64][]cache.Op // by seq<<DetBits|det
	times            map[int64]time.Time
}

// slot is one worker serving the replay.
type slot struct {
	index    int
	lease    *worker.Lease
	progress *worker.Progress
	queue    chan *batch // shard and owned batches, in the order to run them

	mu          sync.Mutex
	worker      *worker.Worker // the lease's current process, for watch
	stream      *worker.Stream
	outstanding []*batch // sent or queued, not yet final
	recovering  bool
	hung        atomic.Bool
}

// batch is one worker's share of a round (dets nil), or the deferred
// evaluations of a round for the detections a worker owns (dets lists the
// detections to run for each event).
type batch struct {
	round   *round
	seqs    []int64
	raws    [][]byte
	dets    [][]int
	flushed int64 // results received up to this event
	sent    bool  // written to the current worker
}

func (s *replay) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *replay) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *replay) open() error {
	s.setup = worker.StreamSetup{All: s.opts.AllEvents, Alert: true}
	if !s.opts.AllEvents {
		s.setup.Routes = map[string][]int{}
	}
	for i, d := range s.opts.Detections {
		s.setup.Detections = append(s.setup.Detections, detectionSpec(d))
		if !s.opts.AllEvents {
			for _, lt := range d.LogTypes {
				s.setup.Routes[lt] = append(s.setup.Routes[lt], i)
			}
		}
	}
	leases, err := s.e.pool.AcquireAll(s.ctx)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	for i, l := range leases {
		p, err := worker.NewProgress()
		if err != nil {
			for _, l := range leases[i:] {
				l.Release()
			}
			return err
		}
		// Per round a worker gets at most a shard and an owned batch.
		s.slots = append(s.slots, &slot{index: i, lease: l, progress: p, queue: make(chan *batch, 2*maxRoundsInFlight+2)})
	}
	for _, sl := range s.slots {
		if err := s.openStream(sl); err != nil {
			return err
		}
	}
	return nil
}

func (s *replay) close() {
	for _, sl := range s.slots {
		sl.lease.Release()
		sl.progress.Close()
	}
}

// openStream starts the session on sl's worker. A module whose import kills
// the worker is left out (its evaluations report the import failure) and
// the session is opened again without it.
func (s *replay) openStream(sl *slot) error {
	for {
		s.mu.Lock()
		setup := s.setup
		setup.Detections = append([]worker.DetectionSpec(nil), s.setup.Detections...)
		s.mu.Unlock()
		setup.Progress = sl.progress
		w := sl.lease.Worker
		st, err := w.OpenStream(s.ctx, setup, &slotHandler{s: s, sl: sl})
		if err == nil {
			sl.mu.Lock()
			sl.stream, sl.worker = st, w
			sl.mu.Unlock()
			return nil
		}
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		var py *PyError
		if errors.As(err, &py) {
			return fmt.Errorf("replay: %w", err)
		}
		culprit := s.firstUnloaded(sl)
		if culprit < 0 {
			return fmt.Errorf("replay: %w", err)
		}
		pe := workerError(err)
		pe.Message = "importing " + s.opts.Detections[culprit].PythonFile + ": " + pe.Message
		s.e.recordLoad(s.opts.Detections[culprit].ID, worker.LoadReply{Error: pe})
		s.mu.Lock()
		for i := range s.setup.Detections {
			if i == culprit {
				s.setup.Detections[i].Skip = pe.Error()
			}
		}
		s.mu.Unlock()
		if err := sl.lease.Restart(s.ctx); err != nil {
			return err
		}
	}
}

func (s *replay) firstUnloaded(sl *slot) int {
	for i, d := range s.setup.Detections {
		if d.Skip != "" {
			continue
		}
		if _, ok := s.e.LoadInfo(d.ID); !ok {
			return i
		}
	}
	return -1
}

// dispatch reads the input into rounds and deals them to the workers.
func (s *replay) dispatch(r *events.Reader) error {
	r.Shallow()
	n := len(s.slots)
	for index := 0; ; index++ {
		select {
		case s.inflight <- struct{}{}:
		case <-s.ctx.Done():
			return nil
		}
		rd := &round{index: index, first: s.read.Load(), ops: map[int64][]cache.Op{}, times: map[int64]time.Time{}}
		if a, ok := s.arenas.Get().([]byte); ok {
			rd.arena = a[:0]
		}
		for len(rd.events) < s.roundSize {
			ev, arena, err := r.NextAppend(rd.arena)
			rd.arena = arena
			if err == io.EOF {
				break
			}
			if err != nil {
				if s.opts.OnInputError != nil {
					s.opts.OnInputError(err)
				}
				continue
			}
			ev.Seq = s.read.Load() // our own numbering: the reader skips bad lines too
			s.read.Add(1)
			rd.events = append(rd.events, ev)
		}
		if len(rd.events) == 0 {
			<-s.inflight
			return nil
		}
		shares := make([]*batch, n)
		for _, ev := range rd.events {
			w := int(ev.Seq % int64(n))
			if shares[w] == nil {
				shares[w] = &batch{round: rd, flushed: -1}
			}
			shares[w].seqs = append(shares[w].seqs, ev.Seq)
			shares[w].raws = append(shares[w].raws, ev.Raw)
		}
		for _, b := range shares {
			if b != nil {
				rd.expected++
				rd.sharded++
			}
		}
		s.mu.Lock()
		s.rounds[index] = rd
		s.mu.Unlock()
		for w, b := range shares {
			if b == nil {
				continue
			}
			select {
			case s.slots[w].queue <- b:
			case <-s.ctx.Done():
				return nil
			}
		}
		if len(rd.events) < s.roundSize {
			return nil
		}
	}
}

// send writes sl's batches to its worker in order.
func (s *replay) send(sl *slot) {
	for b := range sl.queue {
		sl.mu.Lock()
		sl.outstanding = append(sl.outstanding, b)
		st := sl.stream
		if sl.recovering || st == nil {
			sl.mu.Unlock()
			continue // the recovery sends everything outstanding
		}
		b.sent = true
		sl.mu.Unlock()
		// A failed send means the worker died; serve recovers and resends.
		_ = st.Send(b.round.index, b.seqs, b.raws, b.dets)
	}
	sl.mu.Lock()
	st := sl.stream
	sl.mu.Unlock()
	if st != nil && s.ctx.Err() == nil {
		_ = st.End()
	}
}

// serve answers sl's worker until the session ends, recovering from
// crashes and hangs.
func (s *replay) serve(sl *slot) {
	for {
		sl.mu.Lock()
		st := sl.stream
		sl.mu.Unlock()
		err := st.Serve(s.ctx)
		if err == nil || s.ctx.Err() != nil {
			return
		}
		var py *PyError
		if errors.As(err, &py) {
			// The harness failed, not a rule: replaying again would repeat it.
			s.fail(fmt.Errorf("replay: worker failed: %w", err))
			return
		}
		if rerr := s.recover(sl, err); rerr != nil {
			s.fail(rerr)
			return
		}
	}
}

// watch kills sl's worker when it makes no progress for longer than the
// hard limit while it has work (a rule stuck outside the interpreter).
func (s *replay) watch(sl *slot) {
	limit := s.e.opts.Timeout + 2*time.Second
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastDone, lastCur, lastDet int64 = -2, -2, -2
	since := time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		sl.mu.Lock()
		busy := len(sl.outstanding) > 0 && !sl.recovering
		w := sl.worker
		sl.mu.Unlock()
		s.mu.Lock()
		finished := s.finished && len(s.rounds) == 0
		s.mu.Unlock()
		if finished {
			return
		}
		done := sl.progress.Done()
		cur, det := sl.progress.Current()
		if !busy || done != lastDone || cur != lastCur || det != lastDet {
			lastDone, lastCur, lastDet, since = done, cur, det, time.Now()
			continue
		}
		if time.Since(since) > limit {
			sl.hung.Store(true)
			w.Kill()
			since = time.Now()
		}
	}
}

// recover handles a worker that died or was killed: the event it was on
// gets the error, every event after the last results it sent is dealt
// again to a fresh worker. Results are flushed right after any event that
// called the cache, so no event whose cache calls were applied runs twice.
func (s *replay) recover(sl *slot, cause error) error {
	sl.mu.Lock()
	sl.recovering = true
	sl.mu.Unlock()
	pe := workerError(cause)
	if sl.hung.Swap(false) {
		pe = &PyError{Type: ErrTypeTimeout, Message: fmt.Sprintf("no progress within %s: the worker was killed and restarted", s.e.opts.Timeout+2*time.Second)}
	}
	cur, det := sl.progress.Current()
	done := sl.progress.Done()
	inProgress := cur != done && cur >= 0

	sl.mu.Lock()
	var resend []*batch
	culpritDone := false
	for _, b := range sl.outstanding {
		keep := &batch{round: b.round, flushed: b.flushed}
		if !b.sent {
			keep.seqs, keep.raws, keep.dets = b.seqs, b.raws, b.dets
			resend = append(resend, keep)
			continue
		}
		for i, seq := range b.seqs {
			if seq <= b.flushed {
				continue
			}
			if inProgress && !culpritDone && seq == cur {
				// The event the worker was on fails; it is not run again.
				culpritDone = true
				continue
			}
			keep.seqs = append(keep.seqs, seq)
			keep.raws = append(keep.raws, b.raws[i])
			if b.dets != nil {
				keep.dets = append(keep.dets, b.dets[i])
			}
		}
		resend = append(resend, keep)
	}
	sl.outstanding = nil
	sl.mu.Unlock()

	// Events evaluated since the last results the worker sent run again;
	// those that reached the cache get their recorded answers back.
	s.mu.Lock()
	for _, b := range resend {
		for _, seq := range b.seqs {
			for det := range s.opts.Detections {
				key := seq<<worker.DetBits | int64(det)
				if ops := b.round.ops[key]; len(ops) > 0 {
					s.replays[key] = append([]cache.Op(nil), ops...)
				}
			}
		}
	}
	s.mu.Unlock()
	if inProgress {
		s.mu.Lock()
		for _, b := range resend {
			if cur >= b.round.first && cur < b.round.first+int64(len(b.round.events)) {
				if det >= 0 {
					raw, _ := json.Marshal(map[string]any{"error": pe})
					b.round.items = append(b.round.items, worker.StreamItem{Seq: cur, Det: int(det), Result: raw})
				} else {
					b.round.badEvents = append(b.round.badEvents, worker.BadEvent{Seq: cur, Error: pe.Error()})
				}
			}
		}
		s.mu.Unlock()
	}
	if err := sl.lease.Restart(s.ctx); err != nil {
		return err
	}
	sl.progress.Set(-1, -1, -1)
	if err := s.openStream(sl); err != nil {
		return err
	}
	sl.mu.Lock()
	st := sl.stream
	for _, b := range sl.outstanding {
		b.sent = false // queued during the recovery, never sent
	}
	sl.outstanding = append(resend, sl.outstanding...)
	sl.mu.Unlock()
	go func() {
		// Send outside the lock: the worker may need cache answers from
		// serve before it reads the next batch.
		for {
			sl.mu.Lock()
			var next *batch
			for _, b := range sl.outstanding {
				if !b.sent {
					next = b
					break
				}
			}
			if next == nil {
				sl.recovering = false
				sl.mu.Unlock()
				return
			}
			next.sent = true
			sl.mu.Unlock()
			if len(next.seqs) == 0 {
				s.finalize(sl, next)
				continue
			}
			_ = st.Send(next.round.index, next.seqs, next.raws, next.dets)
		}
	}()
	return nil
}

// slotHandler routes one worker's callbacks.
type slotHandler struct {
	s  *replay
	sl *slot
}

func (h *slotHandler) Loaded(det int, reply worker.LoadReply) {
	if det >= 0 && det < len(h.s.opts.Detections) {
		h.s.e.recordLoad(h.s.opts.Detections[det].ID, reply)
	}
}

func (h *slotHandler) Cache(ctxID int64, call cache.Call) (any, error) {
	s := h.s
	if ctxID < 0 {
		if s.opts.Store == nil {
			return nil, &cache.Error{Type: "CacheError", Message: "no cache is configured for this run"}
		}
		value, _, err := s.opts.Store.Do(s.ctx, s.clock.Now(time.Time{}), call)
		return value, err
	}
	seq := ctxID >> worker.DetBits
	if value, err, ok := s.replayed(ctxID, call); ok {
		return value, err
	}
	s.mu.Lock()
	rd := s.roundOf(seq)
	var eventTime time.Time
	if rd != nil && s.clock.Mode() == ClockEvent {
		if t, ok := rd.times[seq]; ok {
			eventTime = t
		} else {
			if v, ok := events.StringField(rd.events[seq-rd.first].Raw, "p_event_time"); ok {
				eventTime, _ = events.ParseTime(v)
			}
			rd.times[seq] = eventTime
		}
	}
	s.mu.Unlock()
	if s.opts.Store == nil {
		return nil, &cache.Error{Type: "CacheError", Message: "no cache is configured for this run"}
	}
	value, op, err := s.opts.Store.Do(s.ctx, s.clock.Now(eventTime), call)
	s.mu.Lock()
	if rd != nil {
		rd.ops[ctxID] = append(rd.ops[ctxID], op)
	}
	s.mu.Unlock()
	return value, err
}

// replayed answers a call from the recording of an event being evaluated
// again, when the rule makes the same call it made the first time.
func (s *replay) replayed(ctxID int64, call cache.Call) (any, error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops, ok := s.replays[ctxID]
	if !ok {
		return nil, nil, false
	}
	if len(ops) == 0 || ops[0].Op != call.Op || ops[0].Key != call.Key {
		// The rule took another path this time: from here on it is live.
		delete(s.replays, ctxID)
		return nil, nil, false
	}
	op := ops[0]
	if len(ops) == 1 {
		delete(s.replays, ctxID)
	} else {
		s.replays[ctxID] = ops[1:]
	}
	if op.Error != "" {
		return nil, &cache.Error{Type: "CacheError", Message: op.Error}, true
	}
	return op.Result, nil, true
}

// roundOf finds the round holding seq (s.mu held).
func (s *replay) roundOf(seq int64) *round {
	if s.roundSize == 0 {
		return nil
	}
	return s.rounds[int(seq/int64(s.roundSize))]
}

func (h *slotHandler) Results(r worker.StreamResults) {
	s, sl := h.s, h.sl
	s.mu.Lock()
	rd := s.rounds[r.Round]
	if rd != nil {
		rd.items = append(rd.items, r.Items...)
		rd.badEvents = append(rd.badEvents, r.Bad...)
		rd.deferred = append(rd.deferred, r.Deferred...)
	}
	for _, st := range r.Stats {
		if st.Det < 0 || st.Det >= len(s.profiles) {
			continue
		}
		p := s.profiles[st.Det]
		p.Events += st.Events
		p.Matched += st.Matched
		p.Errors += st.Errors
		p.Total += time.Duration(st.TotalNS)
		p.Timed += st.Timed
		for b, c := range st.Hist {
			p.hist[b] += c
		}
	}
	s.mu.Unlock()
	sl.mu.Lock()
	var b *batch
	for _, x := range sl.outstanding {
		if x.round.index == r.Round {
			b = x
			break
		}
	}
	if b != nil && r.Upto > b.flushed {
		b.flushed = r.Upto
	}
	sl.mu.Unlock()
	if r.Final && b != nil {
		s.finalize(sl, b)
	}
}

// finalize marks sl's share of a round done and releases finished rounds.
func (s *replay) finalize(sl *slot, b *batch) {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	sl.mu.Lock()
	for i, x := range sl.outstanding {
		if x == b {
			sl.outstanding = append(sl.outstanding[:i], sl.outstanding[i+1:]...)
			break
		}
	}
	sl.mu.Unlock()
	s.mu.Lock()
	b.round.finals++
	if b.dets == nil {
		b.round.sharded--
	}
	// Deferred evaluations go to their owners in round order: a round's
	// batches may finish before an earlier round's.
	var owned []*batch
	for {
		rd := s.rounds[s.nextOwned]
		if rd == nil || rd.sharded > 0 || rd.owned {
			break
		}
		rd.owned = true
		owned = append(owned, s.ownedBatches(rd)...)
		s.nextOwned++
	}
	var ready []*round
	for {
		rd := s.rounds[s.next]
		if rd == nil || !rd.owned || rd.finals < rd.expected {
			break
		}
		delete(s.rounds, s.next)
		s.next++
		ready = append(ready, rd)
	}
	s.mu.Unlock()
	for _, ob := range owned {
		// Never blocks: a slot's queue holds two batches per round in flight.
		s.slots[s.owner(ob.dets[0][0])].queue <- ob
	}
	for _, rd := range ready {
		s.release(rd)
		if rd.arena != nil {
			s.arenas.Put(rd.arena[:0]) //nolint:staticcheck // a slice header is fine here
		}
		<-s.inflight
	}
}

// owner is the worker that runs a detection's cache-reaching evaluations.
func (s *replay) owner(det int) int { return det % len(s.slots) }

// ownedBatches groups a round's deferred evaluations by owner, in input
// order (s.mu held). It counts them in rd.expected.
func (s *replay) ownedBatches(rd *round) []*batch {
	sort.Slice(rd.deferred, func(i, j int) bool {
		if rd.deferred[i].Seq != rd.deferred[j].Seq {
			return rd.deferred[i].Seq < rd.deferred[j].Seq
		}
		return rd.deferred[i].Det < rd.deferred[j].Det
	})
	byOwner := map[int]*batch{}
	var order []int
	for _, d := range rd.deferred {
		w := s.owner(d.Det)
		b := byOwner[w]
		if b == nil {
			b = &batch{round: rd, flushed: -1}
			byOwner[w] = b
			order = append(order, w)
		}
		if n := len(b.seqs); n > 0 && b.seqs[n-1] == d.Seq {
			b.dets[n-1] = append(b.dets[n-1], d.Det)
			continue
		}
		b.seqs = append(b.seqs, d.Seq)
		b.raws = append(b.raws, rd.events[d.Seq-rd.first].Raw)
		b.dets = append(b.dets, []int{d.Det})
	}
	sort.Ints(order)
	var out []*batch
	for _, w := range order {
		out = append(out, byOwner[w])
		rd.expected++
	}
	rd.deferred = nil
	return out
}

// release reports a finished round in input order.
func (s *replay) release(rd *round) {
	sort.SliceStable(rd.items, func(i, j int) bool {
		if rd.items[i].Seq != rd.items[j].Seq {
			return rd.items[i].Seq < rd.items[j].Seq
		}
		return rd.items[i].Det < rd.items[j].Det
	})
	sort.Slice(rd.badEvents, func(i, j int) bool { return rd.badEvents[i].Seq < rd.badEvents[j].Seq })
	matched := map[int64]bool{}
	bad := rd.badEvents
	for _, it := range rd.items {
		for len(bad) > 0 && bad[0].Seq < it.Seq {
			s.reportBad(rd, bad[0])
			bad = bad[1:]
		}
		if it.Det < 0 || it.Det >= len(s.opts.Detections) {
			continue
		}
		key := it.Seq<<worker.DetBits | int64(it.Det)
		d := s.opts.Detections[it.Det]
		res := decodeResult(d.ID, it.Result)
		res.CacheOps = rd.ops[key]
		s.e.net.secrets.learnAndMask(res)
		if res.Alerted {
			matched[key] = true
		}
		if s.opts.OnResult != nil {
			ev := rd.events[it.Seq-rd.first]
			// The round's buffer is reused once it is released.
			ev.Raw = append([]byte(nil), ev.Raw...)
			var t time.Time
			if v, ok := events.StringField(ev.Raw, "p_event_time"); ok {
				t, _ = events.ParseTime(v)
			}
			s.opts.OnResult(StreamResult{Event: ev, Detection: d, Result: res, EventTime: t})
		}
	}
	for _, b := range bad {
		s.reportBad(rd, b)
	}
	s.mu.Lock()
	for key, ops := range rd.ops {
		det := int(key & (1<<worker.DetBits - 1))
		if det >= len(s.profiles) {
			continue
		}
		p := s.profiles[det]
		p.CacheCalls += int64(len(ops))
		if !matched[key] {
			p.CacheCallsUnmatched += int64(len(ops))
		}
	}
	s.bad += int64(len(rd.badEvents))
	s.mu.Unlock()
	read := s.read.Load()
	if s.opts.OnRound != nil {
		s.opts.OnRound(read)
	}
}

func (s *replay) reportBad(rd *round, b worker.BadEvent) {
	if s.opts.OnBad != nil && b.Seq >= rd.first && b.Seq < rd.first+int64(len(rd.events)) {
		ev := rd.events[b.Seq-rd.first]
		ev.Raw = append([]byte(nil), ev.Raw...)
		s.opts.OnBad(ev, &events.LineError{File: ev.File, Line: ev.Line, Err: errors.New(b.Error)})
	}
}
