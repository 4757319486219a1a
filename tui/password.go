package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// password asks for the new password twice, with the rules ticking live.
type password struct {
	e           *env
	pw, confirm *field
	form        *form
	rules       []flow.Rule
	seq         int // of the latest check, so a late answer is dropped
}

// rulesMsg carries the rules for what was typed when check ran.
type rulesMsg struct {
	sess  *flow.Session
	seq   int
	rules []flow.Rule
}

func newPassword(e *env) (*password, tea.Cmd) {
	s := &password{
		e:       e,
		pw:      newField(e.t("tui.password.new"), limitPassword, 40, true),
		confirm: newField(e.t("tui.password.confirm"), limitPassword, 40, true),
	}
	s.form = newForm([]*field{s.pw, s.confirm})
	return s, s.check()
}

// check asks flow for the rules in a command: flow owns them. Every key
// press gets the cheap checks; leaving the new-password field (full) also
// gets the lookup in the breached-password list, so its verdict shows
// before the person types the password a second time.
func (s *password) check() tea.Cmd { return s.ask((*flow.Session).Check) }

func (s *password) checkFull() tea.Cmd { return s.ask((*flow.Session).CheckFull) }

func (s *password) ask(check func(*flow.Session, string, string) []flow.Rule) tea.Cmd {
	s.seq++
	sess, seq, pw, confirm := s.e.sess, s.seq, s.pw.value(), s.confirm.value()
	return func() tea.Msg { return rulesMsg{sess: sess, seq: seq, rules: check(sess, pw, confirm)} }
}

func (s *password) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case rulesMsg:
		if msg.sess == s.e.sess && msg.seq == s.seq {
			s.rules = msg.rules
		}
		return s, nil
	case result:
		if flow.ReasonOf(msg.err) == flow.ReasonConfirmMismatch {
			s.confirm.clear()
			s.form.move(1)
		} else {
			s.form.move(0)
		}
		return s, s.check()
	}
	before, at := s.pw.value()+"\x00"+s.confirm.value(), s.form.at
	if s.form.update(msg) == actSubmit {
		pw, confirm := s.pw.value(), s.confirm.value()
		return s, s.e.call("set_password", func(ctx context.Context, sess *flow.Session) error {
			return sess.SetPassword(ctx, pw, confirm)
		})
	}
	switch {
	case at == 0 && s.form.at != 0 && s.pw.value() != "":
		return s, s.checkFull()
	case s.pw.value()+"\x00"+s.confirm.value() != before:
		return s, s.check()
	}
	return s, nil
}

func (s *password) View(width, height int) *body {
	// When the rules run long (a long language, plain mode's words, a
	// reason on the strength rule) the gap and then the line that
	// introduces them go, so every rule stays on the screen.
	b := s.layout(width, true, true)
	if b.height() > height {
		b = s.layout(width, false, true)
	}
	if b.height() > height {
		b = s.layout(width, false, false)
	}
	return b
}

func (s *password) layout(width int, gap, intro bool) *body {
	t := s.e.theme
	b := newBody(width)
	b.field(t, s.pw, s.form.at == 0)
	b.field(t, s.confirm, s.form.at == 1)
	if gap {
		b.blank()
	}
	if intro {
		b.add(s.e.t("tui.password.needs"))
	}
	for _, r := range s.rules {
		b.add(s.e.mark(r.Met) + " " + r.Text)
	}
	return b
}

func (s *password) Keys() []hint {
	e := s.e
	return []hint{{e.t("tui.key.enter"), e.t("tui.hint.next"), 1}, {e.t("tui.key.tab"), e.t("tui.hint.field"), 4}}
}

func (s *password) clear() { s.form.clear() }
