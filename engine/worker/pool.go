package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Pool keeps a fixed number of workers and hands them out one request at a
// time. A detection's module lives in one worker (its home): the first
// worker that runs it keeps it, so later runs find it loaded. Dead workers
// are restarted on the next Acquire; their homes stay, and modules are
// loaded again on demand.
type Pool struct {
	opts *Options

	mu     sync.Mutex
	cond   *sync.Cond
	slots  []*slot
	home   map[string]int
	homes  []int // detections homed per slot, for balancing
	closed bool
	// cfg is what workers must be told before they serve requests; gen
	// counts configurations (0: none yet).
	cfg Config
	gen int
}

type slot struct {
	w        *Worker
	busy     bool
	startErr error
}

// ErrPoolClosed is returned by Acquire after Close.
var ErrPoolClosed = errors.New("worker pool closed")

// NewPool creates a pool of size workers and starts them in the background,
// so they are warm by the time the first request comes. Acquire waits for
// Configure.
func NewPool(opts *Options, size int) *Pool {
	if size < 1 {
		size = 1
	}
	p := &Pool{opts: opts, home: map[string]int{}, homes: make([]int, size)}
	p.cond = sync.NewCond(&p.mu)
	for i := 0; i < size; i++ {
		p.slots = append(p.slots, &slot{busy: true})
	}
	for i := range p.slots {
		go func(s *slot, cpu int) {
			w, err := start(context.Background(), opts, cpu)
			p.mu.Lock()
			s.w, s.startErr, s.busy = w, err, false
			if p.closed && w != nil {
				go w.Close()
				s.w = nil
			}
			p.cond.Broadcast()
			p.mu.Unlock()
		}(p.slots[i], workerCPU(i))
	}
	return p
}

// Size is the number of workers.
func (p *Pool) Size() int { return len(p.slots) }

// Lease is exclusive use of one worker until Release.
type Lease struct {
	pool   *Pool
	index  int
	Worker *Worker
}

// Release returns the worker to the pool.
func (l *Lease) Release() {
	p := l.pool
	p.mu.Lock()
	p.slots[l.index].busy = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// AcquireAll leases every worker of the pool (a replay uses them all),
// starting any that are down.
func (p *Pool) AcquireAll(ctx context.Context) ([]*Lease, error) {
	var leases []*Lease
	for range p.slots {
		l, err := p.Acquire(ctx, "")
		if err != nil {
			for _, held := range leases {
				held.Release()
			}
			return nil, err
		}
		leases = append(leases, l)
	}
	return leases, nil
}

// Restart replaces the leased worker with a fresh process (after it died
// or hung), keeping the lease.
func (l *Lease) Restart(ctx context.Context) error {
	p := l.pool
	if l.Worker != nil {
		l.Worker.Kill()
		go l.Worker.Close()
	}
	nw, err := start(ctx, p.opts, workerCPU(l.index))
	p.mu.Lock()
	s := p.slots[l.index]
	cfg, gen := p.cfg, p.gen
	if err == nil {
		s.w, s.startErr = nw, nil
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("restart worker: %w", err)
	}
	if err := nw.Configure(ctx, cfg, gen); err != nil {
		nw.Kill()
		return err
	}
	l.Worker = nw
	return nil
}

// Acquire waits for the worker that is home to key (or, for a key without a
// home yet, any idle worker, which becomes its home) and returns it running.
// The empty key takes any idle worker and homes nothing.
func (p *Pool) Acquire(ctx context.Context, key string) (*Lease, error) {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()

	p.mu.Lock()
	index := -1
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		if err := ctx.Err(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if p.gen == 0 {
			p.cond.Wait()
			continue
		}
		if h, ok := p.home[key]; ok && key != "" {
			if !p.slots[h].busy {
				index = h
			}
		} else {
			for i, s := range p.slots {
				if !s.busy && (index < 0 || p.homes[i] < p.homes[index]) {
					index = i
				}
			}
			if index >= 0 && key != "" {
				p.home[key] = index
				p.homes[index]++
			}
		}
		if index >= 0 {
			break
		}
		p.cond.Wait()
	}
	s := p.slots[index]
	s.busy = true
	w, startErr := s.w, s.startErr
	cfg, gen := p.cfg, p.gen
	p.mu.Unlock()

	lease := &Lease{pool: p, index: index, Worker: w}
	if w == nil || !w.Alive() {
		if w != nil {
			go w.Close()
		}
		nw, err := start(ctx, p.opts, workerCPU(index))
		if err != nil {
			if startErr != nil && w == nil {
				err = startErr
			}
			p.mu.Lock()
			s.w, s.startErr = nil, err
			p.mu.Unlock()
			lease.Release()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		p.mu.Lock()
		s.w, s.startErr = nw, nil
		p.mu.Unlock()
		lease.Worker = nw
	}
	if lease.Worker.configured() != gen {
		if err := lease.Worker.Configure(ctx, cfg, gen); err != nil {
			lease.Worker.Kill()
			lease.Release()
			return nil, err
		}
	}
	return lease, nil
}

// Configure sets what every worker is told before its first request. It
// may be called once the repository is loaded, while workers are booting.
func (p *Pool) Configure(cfg Config) {
	p.mu.Lock()
	p.cfg = cfg
	p.gen++
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Index is the pool slot of the leased worker.
func (l *Lease) Index() int { return l.index }

// HomeOf reports the slot a key lives in, if it has one.
func (p *Pool) HomeOf(key string) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, ok := p.home[key]
	return h, ok
}

// SetHome makes slot the home of key (a module was loaded there).
func (p *Pool) SetHome(key string, slot int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.home[key]; ok {
		p.homes[old]--
	}
	p.home[key] = slot
	p.homes[slot]++
}

// Forget drops a key's home, so its next run may go to any worker (after a
// reload, say).
func (p *Pool) Forget(key string) {
	p.mu.Lock()
	if h, ok := p.home[key]; ok {
		p.homes[h]--
		delete(p.home, key)
	}
	p.mu.Unlock()
}

// Close stops every worker; waiting Acquires fail.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	var workers []*Worker
	for _, s := range p.slots {
		if s.w != nil {
			workers = append(workers, s.w)
			s.w = nil
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func(w *Worker) {
			defer wg.Done()
			_ = w.Close()
		}(w)
	}
	wg.Wait()
}
