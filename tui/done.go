package tui

import (
	tea "charm.land/bubbletea/v2"
)

// done says the password was reset, or the account unlocked, and where to
// sign in.
type done struct {
	e         *env
	signInURL string
	// unlocked: the reset ended by unlocking the account, its password
	// kept (flow.State.Unlocked).
	unlocked bool
	// changed: the person changed a password they knew.
	changed bool
}

// quitMsg asks the Wizard to end the program.
type quitMsg struct{}

func quit() tea.Msg { return quitMsg{} }

func (s *done) Update(msg tea.Msg) (screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter", "q", "space":
			return s, quit
		}
	}
	return s, nil
}

func (s *done) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	title, withURL, without := "tui.done.title", "tui.done.signin_url", "tui.done.signin"
	if s.unlocked {
		title, withURL, without = "tui.done.unlocked_title", "tui.done.unlocked_signin_url", "tui.done.unlocked_signin"
	} else if s.changed {
		title = "tui.done.changed_title"
	}
	b.add(t.heading.Render(s.e.t(title)))
	b.blank()
	if s.signInURL != "" {
		b.add(s.e.t(withURL, "URL", s.signInURL))
	} else {
		b.add(s.e.t(without))
	}
	return b
}

func (s *done) Keys() []hint {
	return []hint{{s.e.t("tui.key.enter"), s.e.t("tui.hint.close"), 1}}
}
