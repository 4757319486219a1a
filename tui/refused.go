package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// refused is shown when no session could be begun (too many from this
// address, the service restarting or unavailable, a task not offered): it
// says why, and Enter tries again. For a task not offered it links to the
// other tasks instead.
type refused struct {
	e   *env
	msg string
	// tasks are the tasks linked to, when the task itself is not offered.
	tasks []flow.Task
	form  *form
}

// retryMsg asks the Wizard to begin a session again.
type retryMsg struct{}

func newRefused(e *env, msg string, links bool) *refused {
	s := &refused{e: e, msg: msg}
	if links {
		s.tasks = e.otherTasks()
		s.form = newForm(nil, e.taskLinks(s.tasks)...)
	}
	return s
}

func (s *refused) Update(msg tea.Msg) (screen, tea.Cmd) {
	if s.form != nil {
		if s.form.update(msg) == actLink {
			t := s.tasks[s.form.link()]
			return s, func() tea.Msg { return taskMsg{t} }
		}
		return s, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, s.e.keys.Retry) {
		return s, func() tea.Msg { return retryMsg{} }
	}
	return s, nil
}

func (s *refused) View(width, _ int) *body {
	t := s.e.theme
	b := newBody(width)
	if s.form != nil {
		b.add(t.heading.Render(s.e.t("tui.refused.not_offered")))
	} else {
		b.add(t.heading.Render(s.e.t("tui.refused.title")))
	}
	b.blank()
	b.add(s.msg)
	b.blank()
	if s.form != nil {
		b.links(s.e, s.form)
		return b
	}
	b.add(s.e.t("tui.refused.retry"))
	return b
}

func (s *refused) Keys() []key.Binding {
	if s.form != nil {
		return []key.Binding{s.e.keys.Open, s.e.keys.Links}
	}
	return []key.Binding{s.e.keys.Retry}
}
