package flow_test

import (
	"bytes"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func audio(t *testing.T, eng *flow.Engine, token string) (bool, []byte) {
	t.Helper()
	var b bytes.Buffer
	ok, err := eng.CaptchaAudio(token, "en", &b)
	if err != nil {
		t.Fatalf("CaptchaAudio: %v", err)
	}
	return ok, b.Bytes()
}

func TestCaptchaAudio(t *testing.T) {
	captchaOn := func(c *flow.Config) { c.CaptchaDisabled = false }
	t.Run("a link speaks once", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		tok := s.CaptchaAudioToken()
		if len(tok) != 32 {
			t.Fatalf("token %q", tok)
		}
		ok, wav := audio(t, r.eng, tok)
		if !ok || len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
			t.Fatalf("ok %v, %d bytes", ok, len(wav))
		}
		if ok, wav := audio(t, r.eng, tok); ok || len(wav) != 0 {
			t.Fatal("the link worked twice")
		}
		// The picture is still answerable, and a new link works.
		if ok, _ := audio(t, r.eng, s.CaptchaAudioToken()); !ok {
			t.Fatal("a second link did not work")
		}
	})
	t.Run("a new link voids the last", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		old := s.CaptchaAudioToken()
		cur := s.CaptchaAudioToken()
		if old == cur {
			t.Fatal("same token twice")
		}
		if ok, _ := audio(t, r.eng, old); ok {
			t.Fatal("the voided link worked")
		}
		if ok, _ := audio(t, r.eng, cur); !ok {
			t.Fatal("the current link did not work")
		}
	})
	t.Run("no link once the step is over", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		tok := s.CaptchaAudioToken()
		mustOK(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)))
		if ok, _ := audio(t, r.eng, tok); ok {
			t.Fatal("the link worked after the identify step")
		}
		if s.CaptchaAudioToken() != "" {
			t.Fatal("a link after the identify step")
		}
		s2 := r.begin()
		tok = s2.CaptchaAudioToken()
		s2.Cancel()
		if ok, _ := audio(t, r.eng, tok); ok {
			t.Fatal("the link of a cancelled session worked")
		}
	})
	t.Run("expired with its picture", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		tok := s.CaptchaAudioToken()
		r.clock.Advance(11 * 60e9)
		if ok, _ := audio(t, r.eng, tok); ok {
			t.Fatal("an expired link worked")
		}
	})
	t.Run("none without a CAPTCHA", func(t *testing.T) {
		r := newRig(t)
		if tok := r.begin().CaptchaAudioToken(); tok != "" {
			t.Fatalf("token %q with the CAPTCHA off", tok)
		}
		if ok, _ := audio(t, r.eng, "0123456789abcdef0123456789abcdef"); ok {
			t.Fatal("an unknown token worked")
		}
	})
}
