package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

// identify asks who the person is: login, the current password for a
// change, and, when on, the CAPTCHA. Links in the header lead to the other
// tasks.
type identify struct {
	e       *env
	login   *field
	current *field // the current password of a change; nil for a reset
	answer  *field // nil when the CAPTCHA is off
	form    *form
	tasks   []flow.Task // the tasks the links lead to
	// picture is the CAPTCHA drawn as text; it is drawn in a command.
	picture string
	// drawn counts the drawings asked for: only the latest may land, so a
	// slow drawing of an older picture (before a reload) never replaces a
	// newer one.
	drawn int
	// audio is the link to the spoken form of the picture shown, one-time
	// and made with it; "" without one.
	audio string
}

// The two fields of a change stand side by side: each takes pairColumn
// cells, the bar or marker, the brackets and one space included.
const (
	pairColumn = 39
	pairField  = pairColumn - len(indent) - 3
)

// captchaMsg carries a freshly drawn CAPTCHA.
type captchaMsg struct {
	sess    *flow.Session
	picture string
	audio   string
	drawing int
}

func newIdentify(e *env) (*identify, tea.Cmd) {
	s := &identify{e: e, login: newField(e.t("tui.identify.login"), limitLogin, 60, false), tasks: e.otherTasks()}
	fields := []*field{s.login}
	if e.sess.Task() != flow.TaskReset {
		// Every task but the reset signs in with the current password.
		label := func(id string) string { return ansi.Truncate(e.t(id), pairColumn-2*len(indent), "…") }
		s.login = newField(label("tui.identify.login"), limitLogin, pairField, false)
		s.current = newField(label("tui.identify.current"), limitPassword, pairField, true)
		fields = []*field{s.login, s.current}
	}
	if e.sess.CaptchaEnabled() {
		label := e.t("tui.identify.answer")
		if e.captchaLen > 0 {
			label = e.tr.N("tui.identify.answer_n", e.captchaLen)
		}
		s.answer = newField(label, limitCaptcha, 16, false)
		s.answer.slots = e.captchaLen
		fields = append(fields, s.answer)
	}
	s.form = newForm(fields, e.taskLinks(s.tasks)...)
	return s, s.draw()
}

// draw renders the session's current CAPTCHA in a command, with a new
// one-time link to its spoken form when the audio CAPTCHA is served.
func (s *identify) draw() tea.Cmd {
	if s.answer == nil {
		return nil
	}
	s.drawn++
	sess, n, drawing, audioURL := s.e.sess, s.e.captchaLen, s.drawn, s.e.audioURL
	return func() tea.Msg {
		m := captchaMsg{sess: sess, picture: drawCaptcha(sess.Captcha(captchaImageW, captchaImageH), n), drawing: drawing}
		if audioURL != nil {
			if token := sess.CaptchaAudioToken(); token != "" {
				m.audio = flow.Sanitize(audioURL(token), 512)
			}
		}
		return m
	}
}

func (s *identify) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case captchaMsg:
		if msg.sess == s.e.sess && msg.drawing == s.drawn {
			s.picture, s.audio = msg.picture, msg.audio
		}
		return s, nil
	case result:
		return s, s.refused(msg)
	case tea.KeyPressMsg:
		if key.Matches(msg, s.e.keys.Picture) && s.answer != nil {
			return s, s.e.call("reload", func(_ context.Context, sess *flow.Session) error {
				return sess.ReloadCaptcha()
			})
		}
	}
	switch s.form.update(msg) {
	case actLink:
		t := s.tasks[s.form.link()]
		return s, func() tea.Msg { return taskMsg{t} }
	case actSubmit:
		login, answer := s.login.value(), ""
		if s.answer != nil {
			answer = s.answer.value()
		}
		if s.current != nil {
			current := s.current.value()
			return s, s.e.call("identify", func(ctx context.Context, sess *flow.Session) error {
				return sess.SignIn(ctx, login, current, answer)
			})
		}
		return s, s.e.call("identify", func(ctx context.Context, sess *flow.Session) error {
			return sess.Identify(ctx, login, answer)
		})
	}
	return s, nil
}

// index is the place of f in the form's Tab order.
func (s *identify) index(f *field) int {
	for i, x := range s.form.fields {
		if x == f {
			return i
		}
	}
	return 0
}

// refused handles a result that left the session on this step. Every
// answer uses up the picture, so a new one is drawn and the answer cleared;
// the login stays.
func (s *identify) refused(r result) tea.Cmd {
	if r.op == "identify" {
		if flow.ReasonOf(r.err) == flow.ReasonInvalidInput {
			// Refused before the picture was checked: it still holds.
			// The login first, then the current password, is what is
			// missing.
			if s.current != nil && s.login.value() != "" {
				s.form.move(s.index(s.current))
			} else {
				s.form.move(0)
			}
			return nil
		}
		if s.answer != nil {
			s.answer.clear()
			s.form.move(s.index(s.answer))
		}
		if s.current != nil {
			// A password is typed again after every try, as at any
			// sign-in; it never outlives the try.
			s.current.clear()
			s.form.move(s.index(s.current))
		}
	}
	if s.answer == nil {
		return nil
	}
	return s.draw()
}

func (s *identify) View(width, height int) *body {
	t := s.e.theme
	// The parts that may go when the window is short, least needed first:
	// the introduction, the gap above the picture, the heading (the title
	// above still says where the person is), the sentence of plain mode
	// before the picture, and last the empty error row of the last field
	// (a refusal of a change's sign-in that wraps under its two fields
	// needs it when the CAPTCHA fills the window).
	intro, gap, heading, cue := true, !t.plain, true, t.plain
	for {
		b := s.layout(width, intro, gap, heading, cue)
		switch {
		case b.height() <= height:
			return b
		case intro:
			intro = false
		case gap:
			gap = false
		case heading:
			heading = false
		case cue:
			cue = false
		default:
			for b.height() > height && b.lines[len(b.lines)-1] == "" {
				b.lines = b.lines[:len(b.lines)-1]
			}
			return b
		}
	}
}

// layout draws the screen with or without its optional parts.
func (s *identify) layout(width int, intro, gap, heading, cue bool) *body {
	t := s.e.theme
	b := newBody(width)
	if heading {
		b.add(t.style(&t.heading, s.e.t("tui.identify.title")))
	}
	if intro {
		id := "tui.identify.intro"
		switch {
		case s.e.task == flow.TaskInfo:
			id = "tui.identify.intro_info"
		case s.current != nil && s.answer != nil:
			id = "tui.identify.intro_change_captcha"
		case s.current != nil:
			id = "tui.identify.intro_change"
		case s.answer != nil:
			id = "tui.identify.intro_captcha"
		}
		b.add(s.e.t(id))
		b.blank()
	}
	if s.current != nil {
		s.pair(b)
	} else {
		b.field(s.e, s.login, s.form.at == 0)
	}
	if s.answer == nil {
		return b
	}
	if cue {
		b.add(captchaIntro(s.e, s.e.captchaLen)) // in the place of the blank line
	} else if gap {
		b.blank()
	}
	if s.picture == "" {
		b.add(t.hint.Render(s.e.t("tui.identify.drawing")))
		for i := 1; i < captchaRows; i++ {
			b.blank()
		}
	} else {
		b.raw(s.picture)
	}
	if s.audio != "" {
		b.add(s.e.t("tui.identify.audio", "URL", s.audio))
	}
	b.field(s.e, s.answer, s.form.at == s.index(s.answer))
	return b
}

// headerLinks implements headerLinker: the links to the other tasks.
func (s *identify) headerLinks() *form { return s.form }

// pair draws the login and the current password of a change side by
// side, each a field with its title, so that the change fits where the
// reset's one field does. The row under them is their error row: a
// sign-in is refused for one of them at a time.
func (s *identify) pair(b *body) {
	t := s.e.theme
	var cols [2][]string
	var msg string
	for i, f := range []*field{s.login, s.current} {
		fb := newBody(pairColumn)
		fb.fieldRows(s.e, f, s.form.at == i) // the error goes below, across both
		if f.err != "" {
			msg = f.err
		}
		cols[i] = fb.lines[:2] // the title and the value
		if fb.cursor != nil {
			b.cursor = &tea.Position{X: i*pairColumn + fb.cursor.X, Y: len(b.lines) + fb.cursor.Y}
		}
	}
	for r := range 2 {
		l := cols[0][r]
		l += strings.Repeat(" ", max(pairColumn-ansi.StringWidth(l), 1))
		b.lines = append(b.lines, strings.TrimRight(l+cols[1][r], " "))
	}
	switch {
	case msg != "":
		b.add(s.e.errorText(msg))
	case !t.plain:
		b.blank()
	}
}

// inline puts a refusal under its field: the login's when the login was
// refused, the current password's when it was missing or wrong (or the
// sign-in suspended), else the answer's (the picture was checked, or the
// tries ran out).
func (s *identify) inline(op string, fe *flow.Error, text string) bool {
	if op != "identify" {
		return false
	}
	switch {
	case fe.Reason == flow.ReasonInvalidInput && (s.current == nil || s.login.value() == ""):
		s.login.err = text
	case s.current != nil && fe.Reason != flow.ReasonCaptchaWrong:
		s.current.err = text
	case s.answer == nil || fe.Reason == flow.ReasonInvalidInput:
		s.login.err = text
	default:
		s.answer.err = text
	}
	return true
}

func (s *identify) typing() bool { return true }

func (s *identify) Keys() []key.Binding {
	k := s.e.keys
	next := k.Next
	if s.form.link() >= 0 {
		next = k.Open
	}
	out := []key.Binding{next}
	if s.answer != nil {
		out = append(out, k.Picture)
	}
	if len(s.form.links) > 0 {
		return append(out, k.Links)
	}
	if len(s.form.fields) > 1 {
		out = append(out, k.Field)
	}
	return out
}

func (s *identify) clear() { s.form.clear() }
