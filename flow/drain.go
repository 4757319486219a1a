package flow

import (
	"context"
	"fmt"
	"sync"
)

// restarting is the message a person sees when the instance is shutting
// down.
const restarting = "flow.restarting"

// writes counts the password writes under way, so that a shutdown can wait
// for them and never stop one half-way.
type writes struct {
	mu       sync.Mutex
	draining bool
	n        int
	// idle is closed once draining and no write is under way.
	idle chan struct{}
}

// begin admits one write, unless the engine drains.
func (w *writes) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.draining {
		return false
	}
	w.n++
	return true
}

// end marks one write finished.
func (w *writes) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n--
	if w.draining && w.n == 0 {
		close(w.idle)
	}
}

// Drain readies the engine for shutdown. From the call on, it refuses new
// sessions, identify steps, sends and password writes (ReasonUnavailable,
// saying the service is restarting), and it waits until every password
// write already under way has finished, or ctx ends. The error then says
// how many writes were still under way. Calling it again waits again.
func (e *Engine) Drain(ctx context.Context) error {
	w := &e.writes
	w.mu.Lock()
	if !w.draining {
		w.draining = true
		w.idle = make(chan struct{})
		if w.n == 0 {
			close(w.idle)
		}
	}
	n, idle := w.n, w.idle
	w.mu.Unlock()
	e.audit.Info("drain", "step", "drain", "result", "started", "in_flight", n)
	select {
	case <-idle:
		e.audit.Info("drain", "step", "drain", "result", "done", "in_flight", 0)
		return nil
	case <-ctx.Done():
		left := e.InFlight()
		e.audit.Error("drain", "step", "drain", "result", "timeout", "in_flight", left)
		return fmt.Errorf("flow: drain: %d password writes still under way: %w", left, ctx.Err())
	}
}

// InFlight returns how many password writes are under way.
func (e *Engine) InFlight() int {
	e.writes.mu.Lock()
	defer e.writes.mu.Unlock()
	return e.writes.n
}

// Draining reports whether Drain was called.
func (e *Engine) Draining() bool {
	e.writes.mu.Lock()
	defer e.writes.mu.Unlock()
	return e.writes.draining
}
