package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// contact takes a new mobile or office number, or a new alternate email,
// and has flow send a code (or place a call) to it; it is saved only once
// that is answered.
type contact struct {
	e     *env
	back  *manage
	c     flow.Registered
	value *field
	form  *form
	hows  []flow.MethodID // what each link before Back sends: flow.Provers
}

func newContact(e *env, back *manage, c flow.Registered) *contact {
	s := &contact{e: e, back: back, c: c, hows: flow.Provers(c.Kind)}
	if c.Kind == flow.RegEmail {
		s.value = newField(e.t("tui.info.new_email"), limitEmail, 48, false)
	} else {
		s.value = newField(e.t("tui.info.new_number"), limitPhone, 24, false)
	}
	links := make([]string, 0, len(s.hows)+1)
	for _, m := range s.hows {
		links = append(links, e.t(proveIDs[m]))
	}
	s.form = newForm([]*field{s.value}, append(links, e.t("tui.info.back"))...)
	return s
}

// proveIDs word the link that proves a new destination by each method.
var proveIDs = map[flow.MethodID]string{
	flow.TextMobile:  "tui.info.send_text",
	flow.CallMobile:  "tui.info.call",
	flow.CallOffice:  "tui.info.call",
	flow.EmailAltern: "tui.info.send_email",
}

func (s *contact) Update(msg tea.Msg) (screen, tea.Cmd) {
	if _, ok := msg.(result); ok {
		return s, nil // refused: the notice says why, the value stays to mend
	}
	switch s.form.update(msg) {
	case actSubmit:
		return s, s.send(s.hows[0])
	case actLink:
		if l := s.form.link(); l < len(s.hows) {
			return s, s.send(s.hows[l])
		}
		s.clear()
		return s.back, nil
	}
	return s, nil
}

func (s *contact) send(how flow.MethodID) tea.Cmd {
	kind, value := s.c.Kind, s.value.value()
	return s.e.call("add", func(ctx context.Context, sess *flow.Session) error {
		return sess.AddContact(ctx, kind, value, how)
	})
}

func (s *contact) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	b.add(t.heading.Render(s.c.Label))
	switch s.c.Kind {
	case flow.RegEmail:
		b.add(s.e.t("tui.info.intro_email"))
	default:
		b.add(s.e.t("tui.info.intro_phone"))
	}
	b.blank()
	b.field(s.e, s.value, s.form.at == 0)
	b.blank()
	b.links(s.e, s.form)
	return b
}

func (s *contact) Keys() []key.Binding { return []key.Binding{s.e.keys.Send, s.e.keys.Links} }

func (s *contact) clear() { s.form.clear() }

// inline puts a refusal of the new number or address under its field.
func (s *contact) inline(op string, _ *flow.Error, text string) bool {
	if op != "add" {
		return false
	}
	s.value.err = text
	return true
}

func (s *contact) typing() bool { return s.form.focused() != nil }
