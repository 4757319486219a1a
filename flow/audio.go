package flow

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dchest/captcha"
)

// maxAudioLinks bounds the audio CAPTCHA links an engine keeps at once.
const maxAudioLinks = 10000

// audioLinks maps one-time link tokens to the sessions whose CAPTCHA they
// speak. A link works once, for captchaTTL, and only while its session is
// still on the identify step.
type audioLinks struct {
	mu    sync.Mutex
	links map[string]audioLink
}

type audioLink struct {
	s *Session
	// seed is the picture the link speaks: a new picture voids the link.
	seed    string
	expires time.Time
}

// CaptchaAudioToken returns a one-time token for the spoken form of the
// current CAPTCHA, for a link such as https://reset.example.com/captcha/
// <token>.wav served by Engine.CaptchaAudio. A new token voids the last
// one of the session. It is empty when the CAPTCHA is off, the step is
// over, or too many links are open.
func (s *Session) CaptchaAudioToken() string {
	if s.e.cfg.CaptchaDisabled {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepIdentify {
		return ""
	}
	a := &s.e.audio
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.links == nil {
		a.links = map[string]audioLink{}
	}
	delete(a.links, s.audioToken)
	s.audioToken = ""
	now := s.e.clock.Now()
	if len(a.links) >= maxAudioLinks {
		a.prune(now)
		if len(a.links) >= maxAudioLinks {
			return ""
		}
	}
	s.audioToken = randomToken()
	a.links[s.audioToken] = audioLink{s: s, seed: s.captchaSeed, expires: s.captchaIssued.Add(captchaTTL)}
	return s.audioToken
}

// prune drops expired links. Called with a.mu held (never take a
// session's lock under it: sessions take a.mu under theirs).
func (a *audioLinks) prune(now time.Time) {
	for t, l := range a.links {
		if now.After(l.expires) {
			delete(a.links, t)
		}
	}
}

// dropAudio voids the session's audio link, when its picture is replaced
// or the session leaves the identify step. Called with s.mu held.
func (s *Session) dropAudio() {
	if s.audioToken == "" {
		return
	}
	s.e.audio.mu.Lock()
	delete(s.e.audio.links, s.audioToken)
	s.e.audio.mu.Unlock()
	s.audioToken = ""
}

// CaptchaAudio writes the CAPTCHA of the session behind token as a WAV file
// to w, once: the token is spent whether or not the write succeeds. lang
// picks the voice (en, pt, ru, ja, zh; others fall back to English). ok is
// false when the token is unknown, spent, or its picture is gone (a new
// picture, the step over, ten minutes passed); then err is nil. ok is false
// with a *Error when the fetch is refused: each one counts against
// Limits.AudioPerSource and Limits.IdentifyPerSource of the session's
// source, because software reads these digits about as well as a person.
func (e *Engine) CaptchaAudio(ctx context.Context, token, lang string, w io.Writer) (ok bool, err error) {
	e.audio.mu.Lock()
	l := e.audio.links[token]
	delete(e.audio.links, token)
	e.audio.mu.Unlock()
	s := l.s
	if s == nil {
		return false, nil
	}
	s.mu.Lock()
	if s.step != StepIdentify || s.audioToken != token || s.captchaSeed != l.seed || e.clock.Now().Sub(s.captchaIssued) > captchaTTL {
		s.mu.Unlock()
		return false, nil
	}
	s.audioToken = ""
	if err := s.admitAudio(ctx); err != nil {
		s.mu.Unlock()
		return false, err
	}
	seed, digits := s.captchaSeed, append([]byte(nil), s.captchaDigits...)
	s.event("captcha_audio", "ok", "")
	s.mu.Unlock()
	lang, _, _ = strings.Cut(strings.ToLower(lang), "-")
	_, err = captcha.NewAudio(seed, digits, lang).WriteTo(w)
	return true, err
}
