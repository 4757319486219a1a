package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
	"github.com/sspr-project/sspr/providers/memstore"
)

// A drawing that lands after a newer one was asked for (after a reload)
// must not replace it: the person would type the digits of a picture that
// is no longer valid.
func TestOlderCaptchaDrawingIsIgnored(t *testing.T) {
	cfg := flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}
	eng, err := flow.NewEngine(cfg, flow.Deps{Directory: newFakeDir(), Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := eng.Begin(context.Background(), flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sess: sess, theme: newTheme(true, false, false, false), captchaLen: eng.Config().CaptchaLength}
	s, first := newIdentify(e)
	if first == nil {
		t.Fatal("no drawing asked for")
	}
	old := first().(captchaMsg)
	if err := sess.ReloadCaptcha(); err != nil {
		t.Fatal(err)
	}
	newer := s.draw()().(captchaMsg)

	s.Update(newer)
	s.Update(old)
	if s.picture != newer.picture {
		t.Fatal("an older drawing replaced the newer one")
	}
	if s.picture == old.picture {
		t.Fatal("the two drawings are the same: the test shows nothing")
	}
}

// A change's sign-in refused for the password, in words that wrap under
// the two fields, still fits an 80x24 window filled by the CAPTCHA and
// its audio link, in every language, styled and plain: the row under the
// answer, empty, gives way.
func TestChangeRefusalFitsWithTheCaptcha(t *testing.T) {
	cfg := flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}
	eng, err := flow.NewEngine(cfg, flow.Deps{Directory: newFakeDir(), Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	const room = 24 - 3 - 2 // the header and the footer
	for _, lang := range i18n.Languages() {
		for _, plain := range []bool{false, true} {
			sess, err := eng.BeginTask(context.Background(), flow.Origin{Channel: flow.SSH, Lang: lang}, flow.TaskChange)
			if err != nil {
				t.Fatal(err)
			}
			tr := i18n.For(lang)
			e := &env{sess: sess, theme: newTheme(true, false, false, plain), captchaLen: eng.Config().CaptchaLength,
				tr: tr, task: flow.TaskChange}
			e.keys = newKeyMap(e)
			s, _ := newIdentify(e)
			s.picture = strings.TrimSuffix(strings.Repeat(strings.Repeat("▀", 60)+"\n", captchaRows), "\n")
			s.audio = "https://reset.example.com/captcha/" + strings.Repeat("a", 32) + ".wav"
			msg := tr.T("flow.sign_in.wrong")
			if !s.inline("identify", &flow.Error{Reason: flow.ReasonPasswordWrong, Message: msg}, msg) || s.current.err != msg {
				t.Fatalf("%s: the refusal is not the current password's: %q", lang, s.current.err)
			}
			b := s.View(columnWidth, room)
			v := strings.Join(b.lines, "\n")
			if b.height() > room {
				t.Errorf("%s plain=%v: %d lines for %d:\n%s", lang, plain, b.height(), room, v)
			}
			if !strings.Contains(flatText(ansi.Strip(v)), flatText(msg)) || !strings.Contains(v, s.answer.label) {
				t.Errorf("%s plain=%v: the refusal or the answer is missing:\n%s", lang, plain, v)
			}
			for i, l := range b.lines {
				if w := ansi.StringWidth(l); w > columnWidth {
					t.Errorf("%s plain=%v: line %d is %d columns", lang, plain, i, w)
				}
			}
		}
	}
}
