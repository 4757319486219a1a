package tui

import (
	tea "charm.land/bubbletea/v2"
)

// done says the password was reset and where to sign in.
type done struct {
	e         *env
	signInURL string
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
	b.add(t.heading.Render("Your password has been reset"))
	b.blank()
	if s.signInURL != "" {
		b.add("To sign in with your new password, go to " + s.signInURL)
	} else {
		b.add("You can now sign in with your new password.")
	}
	return b
}

func (s *done) Keys() []hint {
	return []hint{{"Enter", "close", 1}}
}
