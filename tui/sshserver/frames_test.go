package sshserver

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// echoModel shows what was typed and asks for a frame with every view,
// as guard does.
type echoModel struct {
	f     **frames
	typed string
}

func (m *echoModel) Init() tea.Cmd { return nil }

func (m *echoModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.Text != "" {
		m.typed += k.Text
	}
	return m, nil
}

func (m *echoModel) View() tea.View {
	(*m.f).request()
	v := tea.NewView("typed:" + m.typed + ".")
	v.AltScreen = true
	return v
}

// The renderer draws when, and only when, frames hands it a tick: an echo
// is drawn without waiting for a frame tick, and nothing else wakes the
// renderer (the program's own ticker, at 120 frames a second here, is
// gone).
func TestFramesTakeTheTicker(t *testing.T) {
	inR, inW := io.Pipe()
	out := &syncBuffer{}
	var f *frames
	var held atomic.Bool // frameMsgs are counted, not turned into ticks
	var asked atomic.Int64
	held.Store(true)
	p := tea.NewProgram(&echoModel{f: &f},
		tea.WithInput(inR), tea.WithOutput(out), tea.WithWindowSize(40, 5),
		tea.WithFPS(120), tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(frameMsg); ok && held.Load() {
				asked.Add(1)
				f.wanted.Store(false)
				return nil
			}
			if f.filter(msg) {
				return nil
			}
			return msg
		}))
	f = takeFrames(p)
	if f == nil {
		t.Fatal("takeFrames found no frame ticker in this Bubble Tea: echoes wait for its ticks again")
	}
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	defer func() {
		p.Quit()
		inW.Close()
		<-done
	}()
	screen := func() string { return ansi.Strip(out.String()) }

	if _, err := inW.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a frame asked for after the key press", func() bool { return asked.Load() > 0 })
	// With the ticks held, nothing is drawn, however long the renderer
	// waits: no ticker of its own wakes it.
	time.Sleep(200 * time.Millisecond)
	if s := screen(); strings.Contains(s, "typed:") {
		t.Fatalf("drawn without a tick from frames: %q", s)
	}
	f.tick <- time.Now()
	eventually(t, 5*time.Second, "the echo, once the tick is given", func() bool { return strings.Contains(screen(), "typed:x.") })

	// With the filter handing the ticks over, each key press is drawn.
	held.Store(false)
	before := f.drawn.Load()
	if _, err := inW.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	// The renderer writes the changed cells only: "y." over "."
	eventually(t, 5*time.Second, "the echo of y", func() bool { return strings.HasSuffix(screen(), "typed:x.y.") })
	if got := f.drawn.Load() - before; got != 1 {
		t.Errorf("ticks for one key press: %d, want 1", got)
	}
}

// A session's first frame is drawn once the program has its window size:
// a view built before it asks for no frame (the first frame would show a
// screen laid out for no size, then the real one over it).
func TestFirstFrameWaitsForTheSize(t *testing.T) {
	sent := make(chan tea.Msg, 4)
	f := &frames{tick: make(chan time.Time, 1), send: func(m tea.Msg) { sent <- m }}
	g := &guard{model: &testModel{rec: &recorder{}}, frames: f, frame: time.Second / 60}
	g.View()
	if f.wanted.Load() {
		t.Fatal("a frame was asked for before the window size came")
	}
	g.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	g.View()
	if !f.wanted.Load() {
		t.Fatal("no frame asked for once the window size came")
	}
	if _, ok := (<-sent).(frameMsg); !ok {
		t.Fatal("the request is not a frameMsg")
	}
}

// viewClock is a guard's clock that moves only when told.
type viewClock struct{ t time.Time }

func (c *viewClock) now() time.Time      { return c.t }
func (c *viewClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newViewGuard(c *viewClock) (*guard, *recorder) {
	rec := &recorder{}
	f := &frames{tick: make(chan time.Time, 1), send: func(tea.Msg) {}}
	g := &guard{model: &testModel{rec: rec}, frames: f, frame: time.Second / 60, now: c.now, send: func(tea.Msg) {}}
	g.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	g.View()
	return g, rec
}

// tickMsg stands for a message that is not input: a countdown's second,
// a call's answer.
type tickMsg struct{}

// A key pressed just after a view built for something else (a countdown
// redrawn each second) is drawn at once: its view is not held back for
// the rest of the frame.
func TestKeyViewNotHeldBehindAnother(t *testing.T) {
	c := &viewClock{t: time.Unix(1e9, 0)}
	g, rec := newViewGuard(c)
	for i, k := range "abcdef" {
		c.add(time.Second) // idle
		g.Update(tickMsg{})
		g.View()
		c.add(time.Millisecond)
		g.Update(tea.KeyPressMsg{Code: k, Text: string(k)})
		if v := g.View().Content; !strings.Contains(v, "["+"abcdef"[:i+1]+"]") {
			t.Fatalf("the view after %q, typed 1 ms after a tick's view, is %q: held back", k, v)
		}
	}
	if rec.views != 1+2*6 {
		t.Errorf("%d views built, want %d (one for each message)", rec.views, 1+2*6)
	}
}

// However fast messages come, views are built at most once a frame on
// average: the burst of two is the most above that.
func TestViewsCappedAtTheFrameRate(t *testing.T) {
	c := &viewClock{t: time.Unix(1e9, 0)}
	g, rec := newViewGuard(c)
	c.add(time.Second)
	views0 := rec.views
	const keys = 1000 // one a millisecond, a second of them
	for range keys {
		c.add(time.Millisecond)
		g.Update(tea.KeyPressMsg{Code: 'z', Text: "z"})
		g.View()
		if g.redraw {
			g.Update(redrawMsg{}) // the held back view, asked for again
			g.View()
		}
	}
	built := rec.views - views0
	frames := int(time.Duration(keys)*time.Millisecond/g.frame) + 1
	if built > frames+viewBurst-1 || built < frames*9/10 {
		t.Errorf("%d views built in %d frames, want %d to %d", built, frames, frames*9/10, frames+viewBurst-1)
	}
	c.add(g.frame) // the last one held back, once due
	if v := g.View().Content; strings.Count(v, "z") != keys {
		t.Errorf("the last view shows %d of %d keys", strings.Count(v, "z"), keys)
	}
}
