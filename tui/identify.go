package tui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// identify asks who the person is: login and, when on, the CAPTCHA.
type identify struct {
	e      *env
	login  *field
	answer *field // nil when the CAPTCHA is off
	form   *form
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

// captchaMsg carries a freshly drawn CAPTCHA.
type captchaMsg struct {
	sess    *flow.Session
	picture string
	audio   string
	drawing int
}

func newIdentify(e *env) (*identify, tea.Cmd) {
	s := &identify{e: e, login: newField(e.t("tui.identify.login"), limitLogin, 60, false)}
	fields := []*field{s.login}
	if e.sess.CaptchaEnabled() {
		label := e.t("tui.identify.answer")
		if e.captchaLen > 0 {
			label = e.tr.N("tui.identify.answer_n", e.captchaLen)
		}
		s.answer = newField(label, limitCaptcha, 16, false)
		s.answer.slots = e.captchaLen
		fields = append(fields, s.answer)
	}
	s.form = newForm(fields)
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
	if s.form.update(msg) == actSubmit {
		login, answer := s.login.value(), ""
		if s.answer != nil {
			answer = s.answer.value()
		}
		return s, s.e.call("identify", func(ctx context.Context, sess *flow.Session) error {
			return sess.Identify(ctx, login, answer)
		})
	}
	return s, nil
}

// refused handles a result that left the session on this step. Every
// answer uses up the picture, so a new one is drawn and the answer cleared;
// the login stays.
func (s *identify) refused(r result) tea.Cmd {
	if s.answer == nil {
		return nil
	}
	if r.op == "identify" {
		if flow.ReasonOf(r.err) == flow.ReasonInvalidInput {
			// Refused before the picture was checked: it still holds.
			s.form.move(0)
			return nil
		}
		s.answer.clear()
		s.form.move(1)
	}
	return s.draw()
}

func (s *identify) View(width, height int) *body {
	t := s.e.theme
	// The parts that may go when the window is short, least needed first:
	// the introduction, the gap above the picture, the heading (the title
	// above still says where the person is), and last the sentence of
	// plain mode before the picture.
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
			return b
		}
	}
}

// layout draws the screen with or without its optional parts.
func (s *identify) layout(width int, intro, gap, heading, cue bool) *body {
	t := s.e.theme
	b := newBody(width)
	if heading {
		b.add(t.heading.Render(s.e.t("tui.identify.title")))
	}
	if intro {
		if s.answer != nil {
			b.add(s.e.t("tui.identify.intro_captcha"))
		} else {
			b.add(s.e.t("tui.identify.intro"))
		}
		b.blank()
	}
	b.field(s.e, s.login, s.form.at == 0)
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
	b.field(s.e, s.answer, s.form.at == 1)
	return b
}

// inline puts a refusal under its field: the login's when the login was
// refused, else the answer's (the picture was checked, or the tries ran
// out).
func (s *identify) inline(op string, fe *flow.Error, text string) bool {
	if op != "identify" {
		return false
	}
	if s.answer == nil || fe.Reason == flow.ReasonInvalidInput {
		s.login.err = text
	} else {
		s.answer.err = text
	}
	return true
}

func (s *identify) typing() bool { return true }

func (s *identify) Keys() []key.Binding {
	k := s.e.keys
	if s.answer == nil {
		return []key.Binding{k.Next}
	}
	return []key.Binding{k.Next, k.Picture, k.Field}
}

func (s *identify) clear() { s.form.clear() }
