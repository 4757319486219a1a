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

func newCode(e *env, m flow.Method) *code {
	s := &code{e: e, m: m, code: newField(e.t("tui.code.field"), limitCode, 16, false)}
	other := e.t("tui.number.other")
	if e.st.Registering {
		other = e.t("tui.info.back") // a new destination: back to the list of them
	}
	if s.canResend() {
		s.form = newForm([]*field{s.code}, e.t("tui.code.resend"), other)
	} else {
		s.form = newForm([]*field{s.code}, other)
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
		if s.canResend() && s.form.link() == 0 {
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
		b.add(s.e.t("tui.code.sent_text"))
	case flow.EmailAltern:
		b.add(s.e.t("tui.code.sent_email", "Hint", s.m.Hint))
	case flow.Helpdesk:
		b.add(s.e.t("tui.code.helpdesk"))
	default:
		b.add(s.e.t("tui.code.totp"))
	}
	b.blank()
	b.field(t, s.code, s.form.at == 0)
	b.blank()
	b.links(s.e, s.form)
	return b
}

func (s *code) Keys() []hint {
	e := s.e
	h := []hint{{e.t("tui.key.enter"), e.t("tui.hint.verify"), 1}, {e.t("tui.key.tab"), e.t("tui.hint.links"), 4}}
	if s.canResend() {
		h = append(h, hint{e.t("tui.key.ctrl_r"), e.t("tui.hint.new_code"), 2})
	}
	return h
}

func (s *code) clear() { s.form.clear() }
