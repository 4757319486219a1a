package sshserver

import (
	"reflect"
	"sync/atomic"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"
)

// frames draws a session's frame as soon as the update that changed its
// view returns, and wakes the session for nothing while it is idle.
//
// Bubble Tea (v2.1.1) draws on a fixed ticker: the renderer's goroutine
// flushes the latest view every 1/fps second, for the program's whole life.
// An echo therefore waited for the next tick (up to 33 ms at 30 frames a
// second), and every idle session woke fps times a second to find nothing
// to draw. The program offers no way to ask for a frame, so frames takes
// the ticker's place: before Run, it sets the program's (unexported)
// ticker to one whose channel is frames' own, which the ticker never sends
// on. The renderer's goroutine then waits on that channel, and a frame is
// drawn exactly when frames sends on it.
//
// A view reaches the renderer only after View returns (Program.render), so
// View cannot send the tick itself: it asks for a frameMsg, which the
// program handles after the view is with the renderer; the message filter
// (drain.filter) turns it into the tick. The guard asks from the first
// window size on, so the first frame is laid out for the window. The guard
// still builds views at most once per 1/fps second on average (two may come
// at once, so that a key's view never waits behind a countdown's), so a
// flood of input draws no more frames than before.
//
// When the program has no such ticker (a Bubble Tea other than the one
// this was written for), takeFrames returns nil and the program ticks as
// Bubble Tea made it; TestFramesTakeTheTicker fails then.
type frames struct {
	tick   chan time.Time // what the renderer waits on
	send   func(tea.Msg)
	wanted atomic.Bool  // a frameMsg is on its way
	drawn  atomic.Int64 // ticks handed to the renderer
}

// frameMsg asks for a tick of the renderer; it never reaches the model.
type frameMsg struct{}

// takeFrames puts a frames in the place of p's frame ticker. It must be
// called before p.Run.
func takeFrames(p *tea.Program) *frames {
	ticker, ok := programField[*time.Ticker](p, "ticker")
	if !ok {
		return nil
	}
	f := &frames{tick: make(chan time.Time, 1), send: p.Send}
	// A ticker made by NewTicker (Program.startRenderer resets it, which
	// a ticker not made so would not survive), stopped, and reading from
	// frames' channel. Its own channel, which the runtime would send on,
	// has no reader, so a reset ticker never fires.
	t := time.NewTicker(time.Hour)
	t.Stop()
	t.C = f.tick
	*ticker = t
	return f
}

// programField points at p's unexported field name, when it has one of
// type T: the fields frames and drainLeftovers reach, which Bubble Tea
// does not export.
func programField[T any](p *tea.Program, name string) (*T, bool) {
	f := reflect.ValueOf(p).Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != reflect.TypeFor[T]() {
		return nil, false
	}
	return (*T)(unsafe.Pointer(f.UnsafeAddr())), true
}

// request asks for a frame; called from View, on the program's goroutine.
// A request already on its way draws this view too.
func (f *frames) request() {
	if f == nil || f.wanted.Swap(true) {
		return
	}
	go f.send(frameMsg{})
}

// filter hands the renderer its tick when a frameMsg comes, and drops the
// message; it reports whether msg was one.
func (f *frames) filter(msg tea.Msg) bool {
	if _, ok := msg.(frameMsg); !ok || f == nil {
		return ok
	}
	f.wanted.Store(false)
	select {
	case f.tick <- time.Now():
		f.drawn.Add(1)
	default: // a tick is pending already: it draws the latest view
	}
	return true
}
