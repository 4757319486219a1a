package flow

import (
	"crypto/subtle"
	"image"
	"time"

	"github.com/dchest/captcha"
)

// maxCaptchaReloads bounds the new pictures one session may ask for.
const maxCaptchaReloads = 5

// captchaTTL is how long a picture can be answered (dchest/captcha's own
// expiration).
const captchaTTL = 10 * time.Minute

// newCaptcha draws new digits and voids the audio link of the old ones.
// Called with s.mu held, or before the session is shared.
func (s *Session) newCaptcha() {
	s.dropAudio()
	s.captchaSeed = randomToken()
	s.captchaDigits = captcha.RandomDigits(s.e.cfg.CaptchaLength)
	s.captchaIssued = s.e.clock.Now()
}

// CaptchaEnabled reports whether the identify step asks for a CAPTCHA.
func (s *Session) CaptchaEnabled() bool { return !s.e.cfg.CaptchaDisabled }

// Captcha draws the current CAPTCHA at width x height pixels. The digits
// never leave the session in any other form.
func (s *Session) Captcha(width, height int) *image.Paletted {
	s.mu.Lock()
	seed, digits := s.captchaSeed, append([]byte(nil), s.captchaDigits...)
	s.mu.Unlock()
	return captcha.NewImage(seed, digits, width, height).Paletted
}

// ReloadCaptcha draws new digits (Ctrl+R). It neither resets nor adds to the
// count of wrong answers.
func (s *Session) ReloadCaptcha() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepIdentify {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	if s.captchaReloads >= maxCaptchaReloads {
		return s.refuse(ReasonTooManyAttempts, "", s.t("flow.captcha.no_more"))
	}
	s.captchaReloads++
	s.newCaptcha()
	return nil
}

// captchaMatches compares typed digits with the CAPTCHA's.
func (s *Session) captchaMatches(answer string) bool {
	typed := cleanCode(answer)
	want := make([]byte, len(s.captchaDigits))
	for i, d := range s.captchaDigits {
		want[i] = '0' + d
	}
	return subtle.ConstantTimeCompare([]byte(typed), want) == 1
}
