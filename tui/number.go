package tui

import (
	"context"
	"fmt"

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

const linkOther = "Choose another method"

func newNumber(e *env, m flow.Method) *number {
	s := &number{e: e, m: m, phone: newField("Enter your phone number", limitPhone, 24, false)}
	s.form = newForm([]*field{s.phone}, linkOther)
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
	kind, then := "mobile", "a text message with a verification code"
	if s.m.ID == flow.CallOffice {
		kind = "office"
	}
	if s.m.ID != flow.TextMobile {
		then = "a phone call"
	}
	b.add(t.heading.Render(s.m.Label))
	b.add(fmt.Sprintf("In order to protect your account, we need you to enter your complete %s phone number (%s) below. You will then receive %s which can be used to reset your password.", kind, s.m.Hint, then))
	b.blank()
	b.field(t, s.phone, s.form.at == 0)
	b.blank()
	b.links(t, s.form)
	return b
}

func (s *number) Keys() []hint {
	verb := "send text"
	if s.m.ID != flow.TextMobile {
		verb = "call"
	}
	return []hint{{"Enter", verb, 1}, {"Tab", "other method", 2}}
}

func (s *number) clear() { s.form.clear() }
