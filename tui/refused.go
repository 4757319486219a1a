package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// refused is shown when no session could be begun (too many from this
// address, the service restarting or unavailable): it says why, and Enter
// tries again.
type refused struct {
	e   *env
	msg string
}

// retryMsg asks the Wizard to begin a session again.
type retryMsg struct{}

func (s *refused) Update(msg tea.Msg) (screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, s.e.keys.Retry) {
		return s, func() tea.Msg { return retryMsg{} }
	}
	return s, nil
}

func (s *refused) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.e.t("tui.refused.title")))
	b.blank()
	b.add(s.msg)
	b.blank()
	b.add(s.e.t("tui.refused.retry"))
	return b
}

func (s *refused) Keys() []key.Binding { return []key.Binding{s.e.keys.Retry} }
