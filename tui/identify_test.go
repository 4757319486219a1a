package tui

import (
	"context"
	"testing"

	"github.com/sspr-project/sspr/flow"
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
