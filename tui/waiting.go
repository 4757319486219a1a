package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sspr-project/sspr/flow"
)

// waiting shows the number to key in on a call or to tap on a push while
// the Wizard waits for the answer. It is the only screen that animates.
type waiting struct {
	e    *env
	m    flow.Method
	show string
	spin spinner.Model
}

func newWaiting(e *env, st flow.State) (*waiting, tea.Cmd) {
	sp := spinner.MiniDot
	if e.theme.ascii {
		sp = spinner.Line
	}
	sp.FPS = 250 * time.Millisecond // every frame is bytes on the wire over SSH
	s := &waiting{e: e, m: st.Method, show: st.Show, spin: spinner.New(spinner.WithSpinner(sp))}
	if e.theme.plain {
		return s, nil // nothing animates in plain mode
	}
	return s, s.spin.Tick
}

func (s *waiting) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return s, cmd
	case tea.KeyPressMsg:
		if key.Matches(msg, s.e.keys.BackB) {
			return s, back(s.e)
		}
	}
	return s, nil
}

func (s *waiting) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.m.Label))
	if s.m.ID == flow.PushApp {
		b.add(s.e.t("tui.waiting.push"))
	} else {
		b.add(s.e.t("tui.waiting.call"))
		b.add(s.e.t("tui.waiting.keypad"))
	}
	b.blank()
	if t.plain {
		b.add(s.e.t("tui.plain.number", "Number", s.show))
		b.blank()
		b.add(s.e.t("tui.plain.waiting"))
		return b
	}
	b.raw(lipgloss.NewStyle().MarginLeft(2).Render(t.big.Render(s.show)))
	b.blank()
	b.add(s.spin.View() + " " + s.e.t("tui.waiting.spinner"))
	return b
}

// Keys: Esc is the Wizard's (back one step), shown by it.
func (s *waiting) Keys() []key.Binding { return nil }
