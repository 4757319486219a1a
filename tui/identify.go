package tui

import (
	"context"

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
	// slow drawing of an older picture (before a reload, or in the glyphs
	// of a terminal not yet known) never replaces a newer one.
	drawn int
}

// captchaMsg carries a freshly drawn CAPTCHA.
type captchaMsg struct {
	sess    *flow.Session
	picture string
	drawing int
}

func newIdentify(e *env) (*identify, tea.Cmd) {
	s := &identify{e: e, login: newField("Email or Username", limitLogin, 60, false)}
	fields := []*field{s.login}
	if e.sess.CaptchaEnabled() {
		s.answer = newField("Enter the characters in the picture", limitCaptcha, 16, false)
		fields = append(fields, s.answer)
	}
	s.form = newForm(fields)
	return s, s.draw()
}

// draw renders the session's current CAPTCHA in a command.
func (s *identify) draw() tea.Cmd {
	if s.answer == nil {
		return nil
	}
	s.drawn++
	sess, n, blocks, drawing := s.e.sess, s.e.captchaLen, s.e.theme.ascii, s.drawn
	return func() tea.Msg {
		return captchaMsg{sess: sess, picture: drawCaptcha(sess.Captcha(captchaImageW, captchaImageH), n, blocks), drawing: drawing}
	}
}

func (s *identify) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case captchaMsg:
		if msg.sess == s.e.sess && msg.drawing == s.drawn {
			s.picture = msg.picture
		}
		return s, nil
	case themeMsg:
		return s, s.draw()
	case result:
		return s, s.refused(msg)
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+r" && s.answer != nil {
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
	b := newBody(width)
	b.add(t.heading.Render("Who are you?"))
	need := 3
	if s.answer != nil {
		need += 3 + captchaRows(t.ascii)
	}
	if height >= need+3 {
		b.add("To recover your account, begin by entering your email or username" + s.andPicture() + ".")
		b.blank()
	}
	b.field(t, s.login, s.form.at == 0)
	if s.answer == nil {
		return b
	}
	if t.plain {
		b.add(captchaIntro(s.e.captchaLen)) // in the place of the blank line
	} else {
		b.blank()
	}
	if s.picture == "" {
		b.add(t.hint.Render("Drawing the picture..."))
		for i := 1; i < captchaRows(t.ascii); i++ {
			b.blank()
		}
	} else {
		b.raw(s.picture)
	}
	b.field(t, s.answer, s.form.at == 1)
	return b
}

func (s *identify) andPicture() string {
	if s.answer == nil {
		return ""
	}
	return " and the characters in the picture below"
}

func (s *identify) Keys() []hint {
	h := []hint{{"Enter", "next", 1}, {"Tab", "field", 5}}
	if s.answer != nil {
		h = append(h, hint{"Ctrl+R", "new picture", 2})
	}
	return h
}

func (s *identify) clear() { s.form.clear() }
