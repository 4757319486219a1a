package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sspr-project/sspr/flow"
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
	// form offers "Add another way to reach you" and "No, thanks" to a
	// person with fewer methods than the policy asks; nil otherwise.
	form *form
}

func newDone(e *env, signInURL string, unlocked, changed, more bool) *done {
	s := &done{e: e, signInURL: signInURL, unlocked: unlocked, changed: changed}
	if more {
		s.form = newForm(nil, e.t("tui.done.add_more"), e.t("tui.done.no_thanks"))
	}
	return s
}

// quitMsg asks the Wizard to end the program.
type quitMsg struct{}

func quit() tea.Msg { return quitMsg{} }

func (s *done) Update(msg tea.Msg) (screen, tea.Cmd) {
	if s.form != nil {
		if _, ok := msg.(result); ok {
			return s, nil // refused (the window passed): the notice says why
		}
		if s.form.update(msg) == actLink {
			if s.form.link() == 0 {
				return s, s.e.call("more", func(_ context.Context, sess *flow.Session) error { return sess.AddMoreMethods() })
			}
			return s, quit
		}
		return s, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, s.e.keys.Close) {
		return s, quit
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
	where := s.e.t(without)
	if s.signInURL != "" {
		where = s.e.t(withURL, "URL", s.signInURL)
	}
	if t.plain {
		b.add(s.e.t(title))
		b.blank()
		b.add(where)
		s.more(b)
		return b
	}
	// A success card: a tick and the title in green, where to sign in.
	inner := width - 2*len(indent) - 4
	text := t.ok.Render(t.checkGlyph()+" "+s.e.t(title)) + "\n\n" + lipgloss.NewStyle().Width(inner).Render(where)
	// Rules above and below, in green; no side borders, so the sentence
	// reads (and is copied) as one.
	card := lipgloss.NewStyle().Border(t.border(), true, false).BorderForeground(t.okColor).Padding(1, 2).Width(inner + 4).Render(text)
	b.blank()
	b.raw(card)
	s.more(b)
	return b
}

// more draws the offer to add another method, when there is one.
func (s *done) more(b *body) {
	if s.form != nil {
		b.blank()
		b.add(s.e.t("tui.done.more"))
		b.blank()
		b.links(s.e, s.form)
	}
}

func (s *done) Keys() []key.Binding {
	if s.form != nil {
		return []key.Binding{s.e.keys.Open, s.e.keys.Links}
	}
	return []key.Binding{s.e.keys.Close}
}
