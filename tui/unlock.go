package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// unlock is shown to a verified person whose account the directory has
// locked (flow.Session.Unlockable): unlock it and keep the password, or go
// on to choose a new one.
type unlock struct {
	e  *env
	at int // 0: unlock and keep the password; 1: a new password
}

// newPasswordMsg asks the Wizard for the password screen of the same step.
type newPasswordMsg struct{}

func newUnlock(e *env) *unlock { return &unlock{e: e} }

func (s *unlock) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil // a refusal stays on this screen; the notice says why
	}
	switch k.String() {
	case "up", "k", "shift+tab", "left", "down", "j", "tab", "right":
		s.at = 1 - s.at
	}
	if key.Matches(k, s.e.keys.Continue) {
		if s.at == 1 {
			return s, func() tea.Msg { return newPasswordMsg{} }
		}
		return s, s.e.call("unlock", func(ctx context.Context, sess *flow.Session) error {
			return sess.Unlock(ctx)
		})
	}
	return s, nil
}

func (s *unlock) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.e.t("tui.unlock.title")))
	b.add(s.e.t("tui.unlock.intro"))
	b.blank()
	for i, id := range []string{"tui.unlock.keep", "tui.unlock.new"} {
		label := s.e.t(id)
		line := t.radio(i == s.at) + " " + label
		if i == s.at {
			b.cursor = &tea.Position{X: len(indent) + 1, Y: b.height()}
			line = t.radio(true) + " " + t.heading.Render(label)
		}
		b.add(line)
	}
	return b
}

func (s *unlock) Keys() []key.Binding { return radioKeys(s.e) }
