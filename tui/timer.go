package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"
)

// after is tea.Tick that ends with ctx. A tea.Tick keeps its goroutine,
// and through it the whole program, until it fires: minutes for the idle
// timer, long after the session ended. This one returns nil as soon as
// ctx ends (the Wizard's ends in Close).
func after(ctx context.Context, d time.Duration, msg tea.Msg) tea.Cmd {
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return msg
		case <-ctx.Done():
			return nil
		}
	}
}
