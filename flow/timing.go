package flow

import (
	"context"
	"runtime"
	"time"
)

// Sleeper is a Clock that can also wait. An Engine whose Clock is a Sleeper
// waits through it (a test's fake clock may return at once); any other
// Clock waits on a real timer.
type Sleeper interface {
	Sleep(ctx context.Context, d time.Duration)
}

// spinMargin is the last stretch of a wait spent yielding rather than on
// a timer. A timer wakes up late by a varying amount (on Linux, whole
// milliseconds when the process is idle), and how late can depend on what
// the goroutine did before; yielding until the deadline ends every wait
// within microseconds of it, whatever came before.
const spinMargin = 2 * time.Millisecond

// sleep waits d, or until ctx ends.
func (e *Engine) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	if sl, ok := e.clock.(Sleeper); ok {
		sl.Sleep(ctx, d)
		return
	}
	deadline := time.Now().Add(d)
	if d > spinMargin {
		t := time.NewTimer(d - spinMargin)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		runtime.Gosched()
	}
}

// pad makes a step that began at start last at least floor plus a random
// part of jitter, so that how long it took says nothing about the account:
// a real one talks to the directory and the providers, a decoy does not.
// The time is measured on the monotonic clock, as the person sees it.
func (e *Engine) pad(ctx context.Context, start time.Time, floor, jitter time.Duration) {
	target := floor
	if jitter > 0 {
		target += time.Duration(randomInt(int(jitter/time.Microsecond)+1)) * time.Microsecond
	}
	e.sleep(ctx, target-time.Since(start))
}

// padIdentify and padSend are pad with the configured floors.
func (e *Engine) padIdentify(ctx context.Context, start time.Time) {
	e.pad(ctx, start, e.cfg.Limits.IdentifyFloor, e.cfg.Limits.IdentifyJitter)
}

func (e *Engine) padSend(ctx context.Context, start time.Time) {
	e.pad(ctx, start, e.cfg.Limits.SendFloor, e.cfg.Limits.SendJitter)
}
