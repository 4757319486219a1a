package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
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

// checkFull may wait for the directory (a slow hash in its turn): as long
// as the wizard lasts.
func (s *password) checkFull() tea.Cmd {
	ctx := s.e.ctx
	return s.ask(func(sess *flow.Session, pw, confirm string) []flow.Rule { return sess.CheckFull(ctx, pw, confirm) })
}

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
	case tea.KeyPressMsg:
		if key.Matches(msg, s.e.keys.Reveal) {
			s.pw.reveal = !s.pw.reveal
			s.confirm.reveal = s.pw.reveal
			s.pw.scroll()
			s.confirm.scroll()
			return s, nil
		}
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
	b.field(s.e, s.pw, s.form.at == 0)
	b.field(s.e, s.confirm, s.form.at == 1)
	if gap {
		b.blank()
	}
	if intro {
		b.add(s.e.t("tui.password.needs"))
	}
	pw, confirm := s.pw.value(), s.confirm.value()
	for _, r := range s.shownRules(len([]rune(pw))) {
		typed := pw != ""
		if r.ID == flow.RuleConfirm {
			typed = confirm != ""
		}
		text := r.Text // what is still to do stands out; the rest is dim
		if !typed || r.Met {
			text = t.hint.Render(text)
		}
		b.add(s.e.mark(typed, r.Met) + " " + text)
	}
	return b
}

// shownRules leaves out what would only be noise: a limit far away (the
// longest length until the password comes near it), and the strength
// verdict while the password is a common one (one verdict for "common").
func (s *password) shownRules(n int) []flow.Rule {
	common := false
	for _, r := range s.rules {
		if r.ID == flow.RuleCommon && !r.Met && n > 0 {
			common = true
		}
	}
	out := make([]flow.Rule, 0, len(s.rules))
	for _, r := range s.rules {
		switch {
		case r.ID == flow.RuleMaxLength && r.Met && n < s.e.maxPassword-16:
		case r.ID == flow.RuleStrength && common:
		default:
			out = append(out, r)
		}
	}
	return out
}

// inline puts a refusal under its field: a mismatch under the
// confirmation, any other under the new password.
func (s *password) inline(op string, fe *flow.Error, text string) bool {
	if op != "set_password" {
		return false
	}
	if fe.Reason == flow.ReasonConfirmMismatch {
		s.confirm.err = text
	} else {
		s.pw.err = text
	}
	return true
}

func (s *password) typing() bool { return true }

func (s *password) Keys() []key.Binding {
	k := s.e.keys
	reveal := k.Reveal
	if s.pw.reveal {
		reveal = k.Hide
	}
	return []key.Binding{k.Next, reveal, k.Field}
}

func (s *password) clear() { s.form.clear() }
