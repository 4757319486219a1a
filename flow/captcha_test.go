package flow_test

import (
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

func captchaOn(c *flow.Config) { c.CaptchaDisabled = false }

// wrongAnswer is an answer that is not s's CAPTCHA.
func wrongAnswer(s *flow.Session) string { return otherCode(flow.CaptchaAnswer(s)) }

func TestCaptcha(t *testing.T) {
	t.Run("right answer", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		if !s.CaptchaEnabled() {
			t.Fatal("captcha off")
		}
		if img := s.Captcha(240, 80); img == nil || img.Bounds().Dx() != 240 || img.Bounds().Dy() != 80 {
			t.Fatal("no picture")
		}
		ans := flow.CaptchaAnswer(s)
		if len(ans) != flow.DefaultConfig().CaptchaLength {
			t.Fatalf("answer %q", ans)
		}
		mustOK(t, s.Identify(bg, "alice", ans[:3]+" "+ans[3:]))
	})
	t.Run("wrong answer: new picture, same step, no lookup", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		old := flow.CaptchaAnswer(s)
		mustReason(t, s.Identify(bg, "alice", otherCode(old)), flow.ReasonCaptchaWrong)
		mustStep(t, s, flow.StepIdentify)
		if r.dir.Lookups() != 0 {
			t.Fatal("the directory was asked before the CAPTCHA passed")
		}
		// Each picture is answered once: the old answer no longer works.
		if flow.CaptchaAnswer(s) == old {
			t.Skip("the new picture has the old digits by chance")
		}
		mustReason(t, s.Identify(bg, "alice", old), flow.ReasonCaptchaWrong)
		mustOK(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)))
	})
	t.Run("a wrong answer looks the same for every login", func(t *testing.T) {
		r := newRig(t, captchaOn)
		a, z := r.begin(), r.begin()
		ea := mustReason(t, a.Identify(bg, "alice", wrongAnswer(a)), flow.ReasonCaptchaWrong)
		ez := mustReason(t, z.Identify(bg, "zed", wrongAnswer(z)), flow.ReasonCaptchaWrong)
		if ea.Message != ez.Message {
			t.Fatal("messages differ")
		}
	})
	t.Run("the answer of one session does not open another", func(t *testing.T) {
		r := newRig(t, captchaOn)
		a, b := r.begin(), r.begin()
		if flow.CaptchaAnswer(a) == flow.CaptchaAnswer(b) {
			t.Skip("same digits by chance")
		}
		mustReason(t, b.Identify(bg, "alice", flow.CaptchaAnswer(a)), flow.ReasonCaptchaWrong)
	})
	t.Run("too many wrong answers end the session", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		for i := 0; i < 3; i++ {
			mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
		}
		fe := mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonTooManyAttempts)
		if !fe.Final {
			t.Fatal("not final")
		}
		mustStep(t, s, flow.StepClosed)
		mustReason(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)), flow.ReasonOutOfOrder)
		if r.dir.Lookups() != 0 {
			t.Fatal("looked up")
		}
	})
	t.Run("configured limit", func(t *testing.T) {
		r := newRig(t, captchaOn, func(c *flow.Config) { c.CaptchaMaxFailures = 1 })
		s := r.begin()
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonTooManyAttempts)
	})
	t.Run("reloads are bounded and do not touch the count", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
		for i := 0; i < 5; i++ {
			mustOK(t, s.ReloadCaptcha())
		}
		mustReason(t, s.ReloadCaptcha(), flow.ReasonTooManyAttempts)
		mustStep(t, s, flow.StepIdentify)
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonTooManyAttempts)
	})
	t.Run("a reload draws new digits", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		changed := false
		for i := 0; i < 3 && !changed; i++ {
			old := flow.CaptchaAnswer(s)
			mustOK(t, s.ReloadCaptcha())
			changed = flow.CaptchaAnswer(s) != old
		}
		if !changed {
			t.Fatal("reload keeps the digits")
		}
	})
	t.Run("a picture expires after 10 minutes", func(t *testing.T) {
		r := newRig(t, captchaOn)
		s := r.begin()
		r.clock.Advance(10*time.Minute + time.Second)
		mustReason(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)), flow.ReasonCaptchaWrong)
		if r.dir.Lookups() != 0 {
			t.Fatal("looked up")
		}
		mustOK(t, s.Identify(bg, "alice", flow.CaptchaAnswer(s)))
	})
	t.Run("disabled", func(t *testing.T) {
		r := newRig(t)
		s := r.begin()
		if s.CaptchaEnabled() {
			t.Fatal("captcha on")
		}
		mustOK(t, s.Identify(bg, "alice", ""))
	})
}
