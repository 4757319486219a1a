package flow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Engine holds what every session shares: the rules and the backends. Build
// one per process with NewEngine; it is safe for concurrent use.
type Engine struct {
	cfg   Config
	deps  Deps
	clock Clock
	audit *slog.Logger
	trust *trustList

	writes  writes
	audio   audioLinks
	profile profileCache
}

// NewEngine checks cfg (zero fields take their defaults) and deps.
func NewEngine(cfg Config, deps Deps) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Directory == nil {
		return nil, errors.New("flow: no directory configured")
	}
	if deps.Store == nil {
		return nil, errors.New("flow: no store configured")
	}
	clock := deps.Clock
	if clock == nil {
		clock = systemClock{}
	}
	audit := deps.Audit
	if audit == nil {
		audit = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	oplog := deps.Log
	if oplog == nil {
		oplog = slog.New(slog.DiscardHandler)
	}
	audit = slog.New(&auditGuard{next: audit.Handler(), log: oplog})
	trust, err := newTrustList(cfg.Limits.TrustedSources)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, deps: deps, clock: clock, audit: audit, trust: trust}, nil
}

// Config returns the rules in force, defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Now is the time on the engine's clock, which the times in a State
// (State.ResendAt) are read on.
func (e *Engine) Now() time.Time { return e.clock.Now() }

// Begin opens a session for one person at the keyboard. It is refused, with
// a *Error and no session, when its source (address or kiosk) has begun
// too many sessions lately (ReasonRateLimited), when the Store does not
// answer, or while the engine drains (ReasonUnavailable).
func (e *Engine) Begin(ctx context.Context, o Origin) (*Session, error) {
	return e.begin(ctx, o, TaskReset)
}

// begin is Begin for task t.
func (e *Engine) begin(ctx context.Context, o Origin, t Task) (*Session, error) {
	o = Origin{Channel: o.Channel, Remote: Sanitize(o.Remote, 128), Lang: Sanitize(o.Lang, 64), SSHKey: sshKeyOf(o.SSHKey)}
	tr := i18n.For(o.Lang)
	id := randomToken()
	if e.Draining() {
		return nil, &Error{Reason: ReasonUnavailable, Message: tr.T(restarting), Ref: id[:8], Final: true}
	}
	if err := e.admitSession(ctx, o, id); err != nil {
		return nil, err
	}
	s := &Session{
		e:      e,
		id:     id,
		origin: o,
		tr:     tr,
		used:   map[MethodID]bool{},
		sentAt: map[MethodID]time.Time{},
		proof:  e.proofFor(false, false),
		task:   t,
		info:   t == TaskInfo,
	}
	s.newCaptcha()
	s.event("session", "started", "")
	return s, nil
}

// AnswerUnreachable is the answer a provider reports for a call or a push
// that never reached the person: nobody answered, the line was busy, the
// call failed, a machine answered. The person is told their phone could
// not be reached and may choose another method. It counts as a failed try,
// as an unanswered call must.
const AnswerUnreachable = "unreach"

// Approve hands a provider's answer (the digits keyed on the phone, the
// number tapped in the app) to the session waiting on token, wherever it is.
func (e *Engine) Approve(ctx context.Context, token, answer string) error {
	if len(token) != 32 {
		return ErrNoApproval
	}
	return e.deps.Store.ResolveApproval(ctx, token, Sanitize(answer, 8))
}

// available reports whether the backend for m is configured.
func (e *Engine) available(m MethodID) bool {
	switch m {
	case TextMobile:
		return e.deps.SMS != nil
	case CallMobile, CallOffice:
		return e.deps.Voice != nil
	case PushApp:
		return e.deps.Push != nil
	case TOTPApp:
		return e.deps.TOTP != nil
	case EmailAltern:
		return e.deps.Email != nil && e.cfg.EmailEnabled
	case Helpdesk:
		return e.helpdeskStore() != nil
	case SSHKey:
		return e.cfg.SSHKey.Enabled
	}
	return false
}

func (e *Engine) sender(m MethodID) Sender {
	switch m {
	case TextMobile:
		return e.deps.SMS
	case CallMobile, CallOffice:
		return e.deps.Voice
	case PushApp:
		return e.deps.Push
	case EmailAltern:
		return e.deps.Email
	}
	return nil
}

// NewAuditLogger writes one JSON line per event to w, with UTC times.
func NewAuditLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				a.Value = slog.TimeValue(a.Value.Time().UTC())
			}
			return a
		},
	}))
}
