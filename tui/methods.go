package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// methods is the radio list of the ways the person can verify.
type methods struct {
	e    *env
	list []flow.Method
	at   int
}

func newMethods(e *env, list []flow.Method) *methods {
	return &methods{e: e, list: list}
}

func (s *methods) Update(msg tea.Msg) (screen, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(s.list) == 0 {
		return s, nil
	}
	switch k.String() {
	case "up", "k", "shift+tab", "left":
		s.at = (s.at + len(s.list) - 1) % len(s.list)
	case "down", "j", "tab", "right":
		s.at = (s.at + 1) % len(s.list)
	}
	switch {
	case key.Matches(k, s.e.keys.Continue):
		id := s.list[s.at].ID
		return s, s.e.call("choose", func(ctx context.Context, sess *flow.Session) error {
			return sess.Choose(ctx, id)
		})
	}
	return s, nil
}

func (s *methods) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	if s.e.st.MethodsRequired > 1 {
		b.add(t.heading.Render(s.e.t("tui.methods.step", "N", s.e.st.Verification)))
	}
	b.add(s.e.t("tui.methods.prompt"))
	b.blank()
	if len(s.list) == 0 {
		b.add(s.e.t("tui.methods.none"))
		return b
	}
	for i, m := range s.list {
		line := t.radio(i == s.at) + " " + m.Label
		if i == s.at {
			b.cursor = &tea.Position{X: len(indent) + 1, Y: b.height()}
			line = t.radio(true) + " " + t.heading.Render(m.Label)
		}
		if m.Hint != "" {
			line += "  " + t.hint.Render(m.Hint)
		}
		b.add(line)
	}
	return b
}

func (s *methods) Keys() []key.Binding { return radioKeys(s.e) }

// radioKeys are the keys of a radio list.
func radioKeys(e *env) []key.Binding {
	return []key.Binding{e.keys.Continue, e.keys.Choose}
}
