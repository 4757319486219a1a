package flow_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

func audio(t *testing.T, eng *flow.Engine, token string) (bool, []byte) {
	t.Helper()
	var b bytes.Buffer
	ok, err := eng.CaptchaAudio(bg, token, "en", &b)
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

// TestAudioLinkGoesWithItsPicture: a new picture, asked for or drawn after
// a wrong answer, voids the link of the old one, even before the screen
// asks for a new link.
func TestAudioLinkGoesWithItsPicture(t *testing.T) {
	captchaOn := func(c *flow.Config) { c.CaptchaDisabled = false }
	for _, tc := range []struct {
		name string
		next func(*flow.Session) error
		want flow.Reason
	}{
		{"Ctrl+R", func(s *flow.Session) error { return s.ReloadCaptcha() }, ""},
		{"a wrong answer", func(s *flow.Session) error { return s.Identify(bg, "alice", wrongAnswer(s)) }, flow.ReasonCaptchaWrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, captchaOn)
			s := r.begin()
			old := s.CaptchaAudioToken()
			if err := tc.next(s); flow.ReasonOf(err) != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("new picture: %v", err)
			}
			if ok, wav := audio(t, r.eng, old); ok || len(wav) != 0 {
				t.Fatal("the link of the old picture spoke")
			}
			if ok, _ := audio(t, r.eng, s.CaptchaAudioToken()); !ok {
				t.Fatal("the link of the new picture did not speak")
			}
		})
	}
}

// TestAudioPerSource: three spoken CAPTCHAs an hour per source, whatever
// the sessions, and each one is an identify attempt of that source.
func TestAudioPerSource(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.CaptchaDisabled = false
		c.Limits.IdentifyPerSource = flow.Rate{Count: 5, Per: time.Hour}
	})
	if got := flow.DefaultLimits().AudioPerSource; got != (flow.Rate{Count: 3, Per: time.Hour}) {
		t.Fatalf("default %v", got)
	}
	for i := 0; i < 3; i++ {
		if ok, _ := audio(t, r.eng, r.begin().CaptchaAudioToken()); !ok {
			t.Fatalf("fetch %d refused", i+1)
		}
	}
	s := r.begin()
	var b bytes.Buffer
	ok, err := r.eng.CaptchaAudio(bg, s.CaptchaAudioToken(), "en", &b)
	fe := mustReason(t, err, flow.ReasonRateLimited)
	if ok || b.Len() != 0 || fe.RetryAfter != time.Hour || fe.Message != "Too many attempts from your address. Please try again in 60 minutes." {
		t.Fatalf("fourth fetch: ok %v, %d bytes, %+v", ok, b.Len(), fe)
	}
	// The three fetches took three of the five identify attempts.
	mustOK(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)))
	x := r.begin()
	mustReason(t, x.Identify(bg, "alice", wrongAnswer(x)), flow.ReasonCaptchaWrong)
	mustReason(t, x.Identify(bg, "alice", flow.CaptchaAnswer(x)), flow.ReasonRateLimited)
	// Another source has its own budget.
	y := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "198.51.100.9:2222"})
	if ok, _ := audio(t, r.eng, y.CaptchaAudioToken()); !ok {
		t.Fatal("another source was refused")
	}
	r.clock.Advance(time.Hour)
	if ok, _ := audio(t, r.eng, r.begin().CaptchaAudioToken()); !ok {
		t.Fatal("refused an hour later")
	}
}

// TestAudioSpentIdentifyBudget: when the identify attempts of the source
// are spent, so is the audio.
func TestAudioSpentIdentifyBudget(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.CaptchaDisabled = false
		c.Limits.IdentifyPerSource = flow.Rate{Count: 1, Per: time.Hour}
	})
	s := r.begin()
	mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
	_, err := r.eng.CaptchaAudio(bg, s.CaptchaAudioToken(), "en", &bytes.Buffer{})
	mustReason(t, err, flow.ReasonRateLimited)
}
