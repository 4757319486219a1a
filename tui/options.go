package tui

import (
	"context"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// Options are what a Wizard needs besides the engine.
type Options struct {
	// Origin is where the person is: local, SSH (with the remote address) or
	// kiosk. Its Lang is the language of every screen and of all the
	// session sends (a tag or a locale, see package i18n), resolved by the
	// caller from the configuration and the person's environment.
	Origin flow.Origin
	// Demo is the in-terminal phone of demo mode; nil outside it.
	Demo DemoPhone
	// SignInURL is where to sign in after the reset.
	SignInURL string
	// IdleTimeout ends a session nobody types in (default 5 minutes).
	IdleTimeout time.Duration
	// Remote is true over SSH: Ctrl+C hangs up instead of quitting.
	Remote bool
	// ExitKeys is the kiosk's admin exit: the key presses (as Bubble Tea
	// names them, e.g. "ctrl+x") that, typed in a row, end the program.
	// Empty (the default): a kiosk cannot be left.
	ExitKeys []string
	// Plain draws every screen as plain lines a screen reader can follow:
	// no colour or styling, no box drawing, no animation, words for marks.
	Plain bool
	// Task is what the first screen offers to do (the zero value is
	// flow.TaskReset); the first screen links to the other tasks.
	Task flow.Task
	// CaptchaAudioURL returns the address where the CAPTCHA with this
	// one-time token is spoken (see flow.Session.CaptchaAudioToken); the
	// first screen shows it under the picture. nil when nothing serves it.
	CaptchaAudioURL func(token string) string
}

// DemoPhone is the phone drawn beside the wizard in demo mode, where texts
// arrive, calls ring with a keypad and pushes show their numbers. The tui
// knows it only through this interface.
type DemoPhone interface {
	// Inbox returns what was delivered to the session, oldest first.
	Inbox(sessionID string) []flow.Delivery
	// Answer keys digits on a ringing call or taps a number on a push.
	Answer(ctx context.Context, token, answer string) error
	// AuthenticatorCode is the code the demo authenticator app shows for login.
	AuthenticatorCode(login string, t time.Time) (string, bool)
}
