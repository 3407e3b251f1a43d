package ui

import (
	"context"
	"errors"
	"sync"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
)

// errReloaded ends a run that waited for an engine replaced by a reload.
var errReloaded = errors.New("the repository was reloaded; run it again")

// engineHandle is one engine's life in the workbench. The engine boots in a
// command while the interface is already drawn; runs wait for it. A reload
// retires the handle: the engine closes once the runs using it are done,
// since a module is imported once per worker and changed files need fresh
// workers.
type engineHandle struct {
	ready chan struct{}

	mu      sync.Mutex
	eng     *engine.Engine
	err     error
	users   int
	retired bool
	closed  bool
}

func newEngineHandle() *engineHandle { return &engineHandle{ready: make(chan struct{})} }

// boot starts the engine for r; it is called from a command.
func (h *engineHandle) boot(ctx context.Context, opts engine.Options, r *repo.Repository) error {
	e, err := engine.Start(ctx, opts)
	if err == nil {
		e.Use(r)
	}
	h.mu.Lock()
	h.eng, h.err = e, err
	close(h.ready)
	idle := h.idle()
	h.mu.Unlock()
	closeEngine(idle)
	return err
}

// acquire waits for the engine and holds it until release is called.
func (h *engineHandle) acquire(ctx context.Context) (*engine.Engine, func(), error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.err != nil:
		return nil, nil, h.err
	case h.retired:
		return nil, nil, errReloaded
	}
	h.users++
	return h.eng, h.release, nil
}

func (h *engineHandle) release() {
	h.mu.Lock()
	h.users--
	idle := h.idle()
	h.mu.Unlock()
	closeEngine(idle)
}

// retire closes the engine now if no run uses it, else when the last one
// ends. Closing waits for the workers to exit.
func (h *engineHandle) retire() {
	h.mu.Lock()
	h.retired = true
	idle := h.idle()
	h.mu.Unlock()
	closeEngine(idle)
}

// idle returns the engine to close, once: retired, booted and unused. It
// is called with mu held; the engine is closed after mu is released.
func (h *engineHandle) idle() *engine.Engine {
	if !h.retired || h.closed || h.users > 0 || h.eng == nil {
		return nil
	}
	select {
	case <-h.ready:
	default:
		return nil
	}
	h.closed = true
	return h.eng
}

func closeEngine(e *engine.Engine) {
	if e != nil {
		e.Close()
	}
}

// status describes the engine for the header.
func (h *engineHandle) status() (text string, ready bool, err error) {
	select {
	case <-h.ready:
	default:
		return "python starting…", false, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return "python: " + h.err.Error(), false, h.err
	}
	py := h.eng.Python()
	return "python " + py.Version, true, nil
}

// network describes outside calls for the header and status line: the
// mode ("offline", "real"), what answers them (engine.NetworkStatus) and a
// fixture problem. ok is false until the engine has booted.
func (h *engineHandle) network() (mode, status string, err error, ok bool) {
	select {
	case <-h.ready:
	default:
		return "", "", nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil || h.eng == nil {
		return "", "", nil, false
	}
	return h.eng.NetworkMode(), h.eng.NetworkStatus(), h.eng.NetworkErr(), true
}
