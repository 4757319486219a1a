package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
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

// canResend: only a code that was sent may be sent again (flow.Resend).
func (s *code) canResend() bool { return s.m.ID.SendsCode() }

func (s *code) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case result:
		if msg.op == "submit" {
			s.code.clear() // a wrong code is typed again, not edited
		}
		s.form.move(0)
		return s, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, s.e.keys.Resend) && s.canResend() {
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
	b.field(s.e, s.code, s.form.at == 0)
	if s.canResend() {
		// The resend link is dim, with its countdown, until it may be used.
		if left := s.resendIn(); left > 0 {
			s.form.links[0], s.form.off[0] = s.e.tr.N("tui.code.resend_in", left), true
		} else {
			s.form.links[0], s.form.off[0] = s.e.t("tui.code.resend"), false
		}
	}
	b.links(s.e, s.form)
	return b
}

// resendIn is how many seconds are left before a new code may be sent.
func (s *code) resendIn() int {
	at := s.e.st.ResendAt
	if at.IsZero() {
		return 0
	}
	d := at.Sub(s.e.now())
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func (s *code) countingDown() bool { return s.canResend() && s.resendIn() > 0 }

// inline puts a wrong or expired code under the field.
func (s *code) inline(op string, _ *flow.Error, text string) bool {
	if op != "submit" {
		return false
	}
	s.code.err = text
	return true
}

func (s *code) typing() bool { return s.form.focused() != nil }

func (s *code) Keys() []key.Binding {
	k := s.e.keys
	if s.canResend() {
		return []key.Binding{k.Verify, k.Resend, k.Links}
	}
	return []key.Binding{k.Verify, k.Links}
}

func (s *code) clear() { s.form.clear() }
