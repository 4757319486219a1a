package flow

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Directory finds users and sets their password.
type Directory interface {
	// LookupUser returns the one entry that matches login, or ErrUnknownUser.
	// login is in its canonical form (CanonicalLogin); a directory that
	// compares itself must compare canonical forms, so that two spellings
	// flow takes for one login find the same entries.
	LookupUser(ctx context.Context, login string) (User, error)
	// SetPassword replaces the password of the entry u.ID.
	SetPassword(ctx context.Context, u User, password string) error
}

// Unlocker is a Directory that can lift a lockout without changing the
// password ("I know my password, but still can't sign in").
type Unlocker interface {
	Unlock(ctx context.Context, u User) error
}

// CurrentPasswordChecker is a Directory that can tell whether a password
// is the one an account has now, so that a reset to it is refused with the
// other password rules (RuleNotCurrent). A directory with a history rule
// of its own (OpenLDAP's ppolicy, Active Directory) refuses it on the
// write instead, with DirRuleHistory or DirRuleUnchanged. It is asked
// quietly, never as a sign-in: a person who signs in (a change, the
// security info) is checked by PasswordChanger.CheckPassword, as the
// person, with the directory's own rules for a wrong password.
type CurrentPasswordChecker interface {
	// IsCurrentPassword reports whether pw is u's password now. It may be
	// slow (a password hash), so flow asks it once per candidate, when
	// every other rule holds.
	IsCurrentPassword(ctx context.Context, u User, pw string) (bool, error)
}

// ErrUnknownUser is returned by a Directory when no single entry matches.
var ErrUnknownUser = errors.New("flow: unknown user")

// Sender delivers one text, call, email or push.
type Sender interface {
	Deliver(ctx context.Context, d Delivery) error
}

// TOTP checks authenticator codes.
type TOTP interface {
	// Validate reports the time step at which code is valid for secret at t,
	// within the allowed skew; ok is false when it is not valid at all.
	Validate(secret, code string, t time.Time) (step int64, ok bool)
}

// ErrNoApproval means a pending approval is unknown, expired or answered.
var ErrNoApproval = errors.New("flow: no such pending approval")

// Store keeps what must outlive one call: pending approvals and the TOTP
// replay cache. Implementations must be safe for concurrent use.
type Store interface {
	// CreateApproval records a pending approval under token until ttl passes.
	CreateApproval(ctx context.Context, token string, ttl time.Duration) error
	// ResolveApproval records the answer for token, once; ErrNoApproval when
	// token is unknown, expired or already answered.
	ResolveApproval(ctx context.Context, token, answer string) error
	// AwaitApproval blocks until token is answered, expires (ErrNoApproval)
	// or ctx ends, and removes it.
	AwaitApproval(ctx context.Context, token string) (string, error)
	// DeleteApproval voids token.
	DeleteApproval(ctx context.Context, token string) error
	// UseOnce records key for ttl and reports whether it was not there yet.
	UseOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Take records one event in the sliding window key (of length window)
	// if fewer than limit events are in it, as one atomic step across every
	// instance sharing the store. When it does not, retryAfter says when the
	// oldest event leaves the window.
	Take(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Add records one event in the sliding window key unconditionally and
	// returns how many events the window then holds.
	Add(ctx context.Context, key string, window time.Duration) (int, error)
	// Forget drops keys: counters, windows and holds alike.
	Forget(ctx context.Context, keys ...string) error
	// Hold sets key until ttl passes (a suspension); a longer hold wins.
	Hold(ctx context.Context, key string, ttl time.Duration) error
	// Held returns what remains of the hold on key, 0 when there is none.
	Held(ctx context.Context, key string) (time.Duration, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// Clock tells the time; tests move a fake one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Deps are the backends an Engine works with. Directory and Store are
// required; a nil sender means the methods it carries are not offered.
type Deps struct {
	Directory Directory
	Store     Store
	SMS       Sender
	Voice     Sender
	Email     Sender
	Push      Sender
	TOTP      TOTP
	// Audit receives one record per step outcome; nil discards them. A
	// password is written, or an account unlocked, only once a record
	// saying so has been written (auditsink.go).
	Audit *slog.Logger
	// Log is the operational log: audit records that could not be
	// written are reported there. nil discards it.
	Log   *slog.Logger
	Clock Clock
}
