package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// code asks for a texted or emailed code, or one from the authenticator app.
type code struct {
	e    *env
	m    flow.Method
	code *field
	form *form
}

const linkResend = "Send a new code"

func newCode(e *env, m flow.Method) *code {
	s := &code{e: e, m: m, code: newField("Enter your verification code", limitCode, 16, false)}
	if s.canResend() {
		s.form = newForm([]*field{s.code}, linkResend, linkOther)
	} else {
		s.form = newForm([]*field{s.code}, linkOther)
	}
	return s
}

func (s *code) canResend() bool { return s.m.ID == flow.TextMobile || s.m.ID == flow.EmailAltern }

func (s *code) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case result:
		if msg.op == "submit" {
			s.code.clear() // a wrong code is typed again, not edited
		}
		s.form.move(0)
		return s, nil
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+r" && s.canResend() {
			return s, s.resend()
		}
	}
	switch s.form.update(msg) {
	case actSubmit:
		typed := s.code.value()
		return s, s.e.call("submit", func(ctx context.Context, sess *flow.Session) error {
			return sess.SubmitCode(ctx, typed)
		})
	case actLink:
		if s.form.links[s.form.link()] == linkResend {
			return s, s.resend()
		}
		return s, back(s.e)
	}
	return s, nil
}

func (s *code) resend() tea.Cmd {
	return s.e.call("resend", func(ctx context.Context, sess *flow.Session) error { return sess.Resend(ctx) })
}

func (s *code) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.m.Label))
	switch s.m.ID {
	case flow.TextMobile:
		b.add("We've sent you a text message containing a verification code to your phone.")
	case flow.EmailAltern:
		b.add("We've sent an email message containing a verification code to your inbox (" + s.m.Hint + ").")
	default:
		b.add("Enter the code displayed in your authenticator app.")
	}
	b.blank()
	b.field(t, s.code, s.form.at == 0)
	b.blank()
	b.links(t, s.form)
	return b
}

func (s *code) Keys() []hint {
	h := []hint{{"Enter", "verify", 1}, {"Tab", "links", 4}}
	if s.canResend() {
		h = append(h, hint{"Ctrl+R", "new code", 2})
	}
	return h
}

func (s *code) clear() { s.form.clear() }
