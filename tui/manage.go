package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sspr-project/sspr/flow"
)

// manage lists the person's security info, each line with its actions:
// Change and Remove for what is registered, Add for what is not, none for
// what only the helpdesk may change.
type manage struct {
	e        *env
	contacts []flow.Registered
	acts     []manageAct
	at       int
}

// manageAct is one action of the list, in Tab order.
type manageAct struct {
	row    int // index in contacts
	label  string
	remove bool
}

func newManage(e *env, contacts []flow.Registered) *manage {
	s := &manage{e: e}
	s.set(contacts)
	return s
}

func (s *manage) set(contacts []flow.Registered) {
	s.contacts, s.acts = contacts, nil
	for i, c := range contacts {
		switch {
		case !c.Editable:
		case c.Set:
			s.acts = append(s.acts, manageAct{row: i, label: s.e.t("tui.info.change")},
				manageAct{row: i, label: s.e.t("tui.info.remove"), remove: true})
		default:
			s.acts = append(s.acts, manageAct{row: i, label: s.e.t("tui.info.add")})
		}
	}
	s.at = min(s.at, max(len(s.acts)-1, 0))
}

func (s *manage) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case result:
		if msg.state.Step == flow.StepManage {
			s.set(msg.contacts)
		}
		return s, nil
	case tea.KeyPressMsg:
		if len(s.acts) == 0 {
			return s, nil
		}
		switch msg.String() {
		case "up", "shift+tab", "left":
			s.at = (s.at + len(s.acts) - 1) % len(s.acts)
		case "down", "tab", "right":
			s.at = (s.at + 1) % len(s.acts)
		case "enter", "space":
			return s.act(s.acts[s.at])
		}
	}
	return s, nil
}

// act removes at once (flow refuses the last method), or opens the
// screen that takes the new number or address, or makes a new app secret.
func (s *manage) act(a manageAct) (screen, tea.Cmd) {
	c := s.contacts[a.row]
	switch {
	case a.remove:
		kind := c.Kind
		return s, s.e.call("remove", func(ctx context.Context, sess *flow.Session) error {
			return sess.RemoveContact(ctx, kind)
		})
	case c.Kind == flow.RegApp:
		return s, s.e.callSecret("add_app", func(ctx context.Context, sess *flow.Session) (string, error) {
			return sess.AddApp(ctx)
		})
	}
	return newContact(s.e, s, c), nil
}

func (s *manage) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.e.t("tui.info.heading")))
	b.add(s.e.t("tui.info.intro"))
	b.blank()
	labelW, hintW := 0, 0
	for _, c := range s.contacts {
		labelW, hintW = max(labelW, lipgloss.Width(c.Label)), max(hintW, lipgloss.Width(c.Hint))
	}
	for i, c := range s.contacts {
		head := c.Label + strings.Repeat(" ", labelW-lipgloss.Width(c.Label)+2)
		if hintW > 0 {
			head += t.hint.Render(c.Hint) + strings.Repeat(" ", hintW-lipgloss.Width(c.Hint)+2)
		}
		var parts []string
		var xs []int
		x := 0
		focus := -1
		for j, a := range s.acts {
			if a.row != i {
				continue
			}
			text := linkText(s.e, a.label, j == s.at, false)
			if j == s.at {
				focus = len(parts)
			}
			xs = append(xs, x)
			x += lipgloss.Width(text) + 2
			parts = append(parts, text)
		}
		acts := strings.Join(parts, "  ")
		if !c.Editable {
			acts = t.hint.Render(s.e.t("tui.info.helpdesk_only"))
		}
		line, at := head+acts, lipgloss.Width(head)
		if lipgloss.Width(line) > b.width {
			// The longer words of some languages: the actions go below.
			b.add(strings.TrimRight(head, " "))
			line, at = "  "+acts, 2
		}
		if focus >= 0 {
			b.cursor = &tea.Position{X: len(indent) + at + xs[focus], Y: b.height()}
		}
		b.raw(line)
	}
	return b
}

func (s *manage) Keys() []key.Binding { return radioKeys(s.e) }
