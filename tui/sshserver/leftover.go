package sshserver

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// leftoverMax bounds how long an ended program's input reader is waited
// for.
const leftoverMax = 30 * time.Second

// drainLeftovers releases the input reader of a program whose Run
// returned. Bubble Tea's reader (ultraviolet's TerminalReader) sends the
// events it decoded on the program's message channel without watching
// the program's end: when input came just before the end, faster than
// the drain (see drain) waited for it on a busy machine, the reader was
// left blocked on a channel nobody read, holding the program, its model
// and the session's buffers for ever. So after Run, the channel is read
// and its messages dropped until the reader's loop has ended (its input
// ends with the session's channel), at most leftoverMax.
//
// The channel and the loop's end are fields Bubble Tea does not export;
// when they are not there (a Bubble Tea other than the one this was
// written for), drainLeftovers reports false and does nothing, and
// TestLeftoverInputReleased fails.
func drainLeftovers(p *tea.Program) bool {
	pm, ok1 := programField[chan tea.Msg](p, "msgs")
	pd, ok2 := programField[chan struct{}](p, "readLoopDone")
	if !ok1 || !ok2 || *pd == nil {
		return ok1 && ok2
	}
	msgs, done := *pm, *pd
	select {
	case <-done:
		return true
	default:
	}
	go func() {
		limit := time.NewTimer(leftoverMax)
		defer limit.Stop()
		for {
			select {
			case <-msgs:
			case <-done:
				return
			case <-limit.C:
				return
			}
		}
	}()
	return true
}
