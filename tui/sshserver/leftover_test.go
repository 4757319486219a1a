package sshserver

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// slowModel takes a while over every key, so that input piles up.
type slowModel struct{ keys *atomic.Int64 }

func (m slowModel) Init() tea.Cmd { return nil }
func (m slowModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tea.KeyPressMsg); ok {
		m.keys.Add(1)
		time.Sleep(100 * time.Microsecond)
	}
	return m, nil
}
func (m slowModel) View() tea.View { return tea.NewView("") }

// A program that ends while its input reader still has keys to hand over
// leaves the reader blocked on its message channel; drainLeftovers
// releases it once its input ends.
func TestLeftoverInputReleased(t *testing.T) {
	pr, pw := io.Pipe()
	var keys atomic.Int64
	p := tea.NewProgram(slowModel{&keys}, tea.WithInput(pr), tea.WithOutput(io.Discard),
		tea.WithWindowSize(80, 24), tea.WithoutSignalHandler())
	ran := make(chan struct{})
	go func() { _, _ = p.Run(); close(ran) }()
	go func() {
		chunk := []byte(strings.Repeat("a", 512))
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	eventually(t, 10*time.Second, "keys reaching the program", func() bool { return keys.Load() > 200 })
	p.Quit()
	<-ran

	pd, ok := programField[chan struct{}](p, "readLoopDone")
	if !ok || *pd == nil {
		t.Fatal("Bubble Tea has no readLoopDone channel any more: see drainLeftovers")
	}
	if !drainLeftovers(p) {
		t.Fatal("Bubble Tea has no msgs channel any more: see drainLeftovers")
	}
	_ = pw.Close() // the session's channel ends
	select {
	case <-*pd:
	case <-time.After(10 * time.Second):
		t.Fatal("the input reader is still blocked 10s after its input ended")
	}
}
