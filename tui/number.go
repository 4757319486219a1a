package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// number asks for the complete phone number before a text or a call.
type number struct {
	e     *env
	m     flow.Method
	phone *field
	form  *form
}

func newNumber(e *env, m flow.Method) *number {
	s := &number{e: e, m: m, phone: newField(e.t("tui.number.field"), limitPhone, 24, false)}
	s.phone.placeholder = e.t("tui.number.placeholder")
	s.form = newForm([]*field{s.phone}, e.t("tui.number.other"))
	return s
}

func (s *number) Update(msg tea.Msg) (screen, tea.Cmd) {
	if _, ok := msg.(result); ok {
		s.form.move(0) // refused: the number stays, to be corrected
		return s, nil
	}
	switch s.form.update(msg) {
	case actSubmit:
		typed := s.phone.value()
		return s, s.e.call("confirm", func(ctx context.Context, sess *flow.Session) error {
			return sess.ConfirmNumber(ctx, typed)
		})
	case actLink:
		return s, back(s.e)
	}
	return s, nil
}

// back returns to the method list of the same verification step.
func back(e *env) tea.Cmd {
	return e.call("back", func(_ context.Context, sess *flow.Session) error { return sess.Back() })
}

func (s *number) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	intro := "tui.number.intro_text"
	switch s.m.ID {
	case flow.CallMobile:
		intro = "tui.number.intro_call_mobile"
	case flow.CallOffice:
		intro = "tui.number.intro_call_office"
	}
	b.add(t.heading.Render(s.m.Label))
	b.add(s.e.t(intro, "Hint", s.m.Hint))
	b.blank()
	b.field(s.e, s.phone, s.form.at == 0)
	b.links(s.e, s.form)
	return b
}

func (s *number) Keys() []key.Binding {
	k := s.e.keys
	verb := k.SendText
	if s.m.ID != flow.TextMobile {
		verb = k.Call
	}
	return []key.Binding{verb, k.Other}
}

// inline puts a refused number under the field, where it is corrected.
func (s *number) inline(op string, _ *flow.Error, text string) bool {
	if op != "confirm" {
		return false
	}
	s.phone.err = text
	return true
}

func (s *number) typing() bool { return s.form.focused() != nil }

func (s *number) clear() { s.form.clear() }
