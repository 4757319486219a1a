package flow

import (
	"context"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// unavailable is the message a person sees when a backend does not answer.
const unavailable = "flow.unavailable"

// Every limit is counted in the Store, under keys made by Engine.key. An
// account is counted by its directory entry when there is one, and by the
// login as typed when there is none, so that an unknown login is counted
// and suspended exactly like a real account and no limit tells them apart.
// Every Store error refuses the step (fail closed): nothing is sent and
// nothing verifies until the Store answers again.

// storeFailed logs a Store error and refuses the step.
func (s *Session) storeFailed(err error) error {
	s.e.audit.Error("store failed", "sid", s.id, "ref", s.Ref(), "step", s.step.String(), "error", err.Error())
	return s.refuse(ReasonUnavailable, s.method, s.t(unavailable))
}

func (s *Session) suspKey() string { return s.e.key("susp", s.acct) }

func (s *Session) failKey(m MethodID) string { return s.e.key("fail", s.acct, string(m)) }

// seqKey counts failures in a row of the authenticator behind m.
func (s *Session) seqKey(m MethodID) string {
	return s.e.key("seq", s.acct, factor(s.subject(), m, s.e.cfg.PhoneRegion))
}

// checkSuspended refuses when self-service reset is paused for the account.
// final ends the session (a verification step); at identify the person may
// type another login.
func (s *Session) checkSuspended(ctx context.Context, final bool) error {
	left, err := s.e.deps.Store.Held(ctx, s.suspKey())
	if err != nil {
		return s.storeFailed(err)
	}
	if left > 0 {
		return s.suspended(left, final)
	}
	return nil
}

func (s *Session) suspended(left time.Duration, final bool) error {
	step := s.step.String()
	if final {
		s.voidChallenge()
		s.step = StepClosed
	}
	s.e.audit.Info(step, "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
		"login", s.login, "method", string(s.method), "step", step, "result", "refused", "reason", string(ReasonSuspended),
		"retry_after", left.Round(time.Second).String())
	return &Error{Reason: ReasonSuspended, Ref: s.Ref(), Final: final, RetryAfter: left,
		Message: s.t("flow.suspended", "Until", s.e.until(s.tr, left))}
}

// strike is one failed verification as the account counts it: failures of
// the method in the window, and failures in a row of its authenticator.
type strike struct{ n, seq int }

// reserve counts a try of the current method before its guess is checked:
// it stands as a failure unless the guess proves right (then clear forgets
// it). Counting first means that parallel guesses, in any number of
// sessions and instances, never check more than Limits.Failures guesses per
// account and method in the window.
func (s *Session) reserve(ctx context.Context) (strike, error) {
	if err := s.checkSuspended(ctx, true); err != nil {
		return strike{}, err
	}
	k, err := s.count(ctx)
	if err != nil {
		return k, err
	}
	if l := s.e.cfg.Limits; k.n > l.Failures || k.seq > l.ConsecutiveFailures {
		return k, s.suspend(ctx)
	}
	return k, nil
}

// count records one failure of the current method against the account.
func (s *Session) count(ctx context.Context) (strike, error) {
	st := s.e.deps.Store
	n, err := st.Add(ctx, s.failKey(s.method), s.e.cfg.Limits.FailureWindow)
	if err != nil {
		return strike{}, s.storeFailed(err)
	}
	seq, err := st.Add(ctx, s.seqKey(s.method), consecutiveWindow)
	if err != nil {
		return strike{}, s.storeFailed(err)
	}
	return strike{n, seq}, nil
}

// over reports whether the failure k stands for reaches a limit.
func (s *Session) over(k strike) bool {
	l := s.e.cfg.Limits
	return k.n >= l.Failures || k.seq >= l.ConsecutiveFailures
}

// suspend pauses self-service reset for the account and ends the session.
// The directory account itself is not touched.
func (s *Session) suspend(ctx context.Context) error {
	st, l := s.e.deps.Store, s.e.cfg.Limits
	if err := st.Hold(ctx, s.suspKey(), l.Suspension); err != nil {
		return s.storeFailed(err)
	}
	left, err := st.Held(ctx, s.suspKey())
	if err != nil || left <= 0 {
		left = l.Suspension
	}
	s.e.audit.Warn("suspend", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
		"login", s.login, "method", string(s.method), "step", "suspend", "result", "held", "reason", string(ReasonTooManyAttempts),
		"for", left.Round(time.Second).String())
	return s.suspended(left, true)
}

// clear forgets the failures of m once it proved right. Failing to forget
// only leaves the limits stricter, so it is logged and not refused.
func (s *Session) clear(ctx context.Context, m MethodID) {
	if err := s.e.deps.Store.Forget(ctx, s.failKey(m), s.seqKey(m)); err != nil {
		s.e.audit.Error("store failed", "sid", s.id, "ref", s.Ref(), "step", "clear", "error", err.Error())
	}
}

// forgetAccount clears every failure count and the suspension of the
// account after a successful reset. Send budgets stay.
func (s *Session) forgetAccount(ctx context.Context) {
	keys := []string{s.suspKey()}
	for _, m := range append(methodOrder[:len(methodOrder):len(methodOrder)], currentPassword) {
		keys = append(keys, s.failKey(m), s.seqKey(m))
	}
	if err := s.e.deps.Store.Forget(ctx, keys...); err != nil {
		s.e.audit.Error("store failed", "sid", s.id, "ref", s.Ref(), "step", "forget", "error", err.Error())
	}
}

// channelOf groups methods by what carries them: sends on one channel to
// one account share a budget.
func channelOf(m MethodID) string {
	switch m {
	case CallMobile, CallOffice:
		return "voice"
	}
	return string(m)
}

// admitSend checks and counts every budget a send spends: the account's
// suspension, the gap and the windows of the account on this channel, the
// same for the destination, and the global budget. A decoy spends its
// account's budgets like a real account; it has no destination and does
// not spend the global budget, but is refused with the same words while
// the global budget is spent. It returns the keys of the gaps it took, for
// refund when the provider then fails to deliver.
func (s *Session) admitSend(ctx context.Context) (taken []string, err error) {
	if err := s.checkSuspended(ctx, true); err != nil {
		return nil, err
	}
	var gaps []string
	defer func() {
		if err != nil {
			// A refused send takes no gap.
			s.refund(ctx, gaps)
		}
	}()
	st, l := s.e.deps.Store, s.e.cfg.Limits
	ch := channelOf(s.method)
	if l.SendGap > 0 {
		key := s.e.key("gap", s.acct, ch)
		ok, wait, err := st.Take(ctx, key, 1, l.SendGap)
		if err != nil {
			return nil, s.storeFailed(err)
		}
		if !ok {
			return nil, s.limited(ReasonCooldown, "account_gap", wait, s.tr.N("flow.cooldown.method", seconds(wait)))
		}
		gaps = append(gaps, key)
	}
	for _, r := range l.SendsPerAccount {
		ok, wait, err := st.Take(ctx, s.e.key(windowKind("sends", r.Per), s.acct, ch), r.Count, r.Per)
		if err != nil {
			return nil, s.storeFailed(err)
		}
		if !ok {
			return nil, s.tooManySends("account_"+r.String(), wait)
		}
	}
	if !s.real() {
		left, err := st.Held(ctx, s.e.key("global-spent"))
		if err != nil {
			return nil, s.storeFailed(err)
		}
		if left > 0 {
			return nil, s.sendsPaused(left)
		}
		return gaps, nil
	}
	dest := s.destinationKey()
	if l.SendGap > 0 {
		key := s.e.key("dest-gap", dest)
		ok, wait, err := st.Take(ctx, key, 1, l.SendGap)
		if err != nil {
			return nil, s.storeFailed(err)
		}
		if !ok {
			return nil, s.limited(ReasonCooldown, "destination_gap", wait, s.tr.N("flow.cooldown.method", seconds(wait)))
		}
		gaps = append(gaps, key)
	}
	for _, r := range l.SendsPerDestination {
		ok, wait, err := st.Take(ctx, s.e.key(windowKind("dest", r.Per), dest), r.Count, r.Per)
		if err != nil {
			return nil, s.storeFailed(err)
		}
		if !ok {
			// The same words as the account's own budget: a shared number
			// is nothing the person needs to learn.
			return nil, s.tooManySends("destination_"+r.String(), wait)
		}
	}
	g := l.SendsGlobal
	ok, wait, err := st.Take(ctx, s.e.key(windowKind("global", g.Per)), g.Count, g.Per)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	if !ok {
		if err := st.Hold(ctx, s.e.key("global-spent"), wait); err != nil {
			return nil, s.storeFailed(err)
		}
		// One alert per spell, however many sends are refused in it.
		if first, err := st.UseOnce(ctx, s.e.key("global-alert"), wait); err != nil || first {
			s.e.audit.Error("alert", "alert", "send_budget_spent", "sid", s.id, "ref", s.Ref(),
				"limit", g.String(), "retry_after", wait.Round(time.Second).String())
		}
		return nil, s.sendsPaused(wait)
	}
	return gaps, nil
}

// refund gives back the gaps a send took when nothing was delivered, so
// the person may try again at once. The windows keep the try: a provider
// that keeps failing is not tried without bound.
func (s *Session) refund(ctx context.Context, gaps []string) {
	if len(gaps) == 0 {
		return
	}
	if err := s.e.deps.Store.Forget(ctx, gaps...); err != nil {
		s.e.audit.Error("store failed", "sid", s.id, "ref", s.Ref(), "step", "refund", "error", err.Error())
	}
}

// destinationKey is the destination in one spelling: E.164 for a number,
// lower case for an address.
func (s *Session) destinationKey() string {
	if s.method == EmailAltern {
		return "email:" + CanonicalLogin(s.subject().Email)
	}
	return channelOf(s.method) + ":" + s.destination()
}

func (s *Session) tooManySends(limit string, wait time.Duration) error {
	return s.limited(ReasonRateLimited, limit, wait, s.t("flow.sends.too_many", "When", s.e.when(s.tr, wait)))
}

func (s *Session) sendsPaused(wait time.Duration) error {
	return s.limited(ReasonRateLimited, "global", wait, s.t("flow.sends.paused", "When", s.e.when(s.tr, wait)))
}

// limited refuses a step over a limit, saying when to try again.
func (s *Session) limited(reason Reason, limit string, wait time.Duration, msg string) error {
	s.e.audit.Info(s.step.String(), "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
		"login", s.login, "method", string(s.method), "step", s.step.String(), "result", "refused", "reason", string(reason),
		"limit", limit, "retry_after", wait.Round(time.Second).String())
	return &Error{Reason: reason, Message: msg, Ref: s.Ref(), RetryAfter: wait}
}

// sourceRate is the rate that applies to the source of o: its own, or
// the trusted sources' one. Trust is decided by the address itself (a
// trusted range may be narrower than the /64 an IPv6 source counts as).
func (e *Engine) sourceRate(o Origin, normal, trusted Rate) Rate {
	if e.trust.has(sourceAddr(o)) {
		return trusted
	}
	return normal
}

// admitSession counts a new session against its source.
func (e *Engine) admitSession(ctx context.Context, o Origin, sid string) error {
	tr := i18n.For(o.Lang)
	source := sourceOf(o)
	l := e.cfg.Limits
	r := e.sourceRate(o, l.SessionsPerSource, l.TrustedSessions)
	ok, wait, err := e.deps.Store.Take(ctx, e.key(windowKind("src-sessions", r.Per), source), r.Count, r.Per)
	ref := sid[:8]
	log := func(reason Reason, extra ...any) {
		e.audit.Info("session", append([]any{"sid", sid, "ref", ref, "remote", o.Remote, "channel", string(o.Channel),
			"step", "session", "result", "refused", "reason", string(reason)}, extra...)...)
	}
	switch {
	case err != nil:
		e.audit.Error("store failed", "sid", sid, "ref", ref, "step", "session", "error", err.Error())
		log(ReasonUnavailable)
		return &Error{Reason: ReasonUnavailable, Message: tr.T(unavailable), Ref: ref, Final: true}
	case !ok:
		log(ReasonRateLimited, "limit", "sessions_per_source", "retry_after", wait.Round(time.Second).String())
		return &Error{Reason: ReasonRateLimited, Ref: ref, Final: true, RetryAfter: wait,
			Message: tr.T("flow.sessions.too_many", "When", e.when(tr, wait))}
	}
	return nil
}

// admitIdentify counts an identify attempt against the session's source.
func (s *Session) admitIdentify(ctx context.Context) error {
	source := sourceOf(s.origin)
	l := s.e.cfg.Limits
	r := s.e.sourceRate(s.origin, l.IdentifyPerSource, l.TrustedIdentify)
	ok, wait, err := s.e.deps.Store.Take(ctx, s.e.key(windowKind("src-identify", r.Per), source), r.Count, r.Per)
	if err != nil {
		return s.storeFailed(err)
	}
	if !ok {
		return s.limited(ReasonRateLimited, "identify_per_source", wait,
			s.t("flow.identify.too_many", "When", s.e.when(s.tr, wait)))
	}
	return nil
}

// admitAudio counts a spoken CAPTCHA against the session's source: in the
// audio budget of its own, and as an identify attempt. A recogniser reads
// dchest/captcha's audio nearly every time, so each fetch costs what a
// guess at the picture costs, and a few more are not to be had at all.
func (s *Session) admitAudio(ctx context.Context) error {
	source := sourceOf(s.origin)
	l := s.e.cfg.Limits
	r := l.AudioPerSource
	ok, wait, err := s.e.deps.Store.Take(ctx, s.e.key(windowKind("src-audio", r.Per), source), r.Count, r.Per)
	if err != nil {
		return s.storeFailed(err)
	}
	if !ok {
		return s.limited(ReasonRateLimited, "audio_per_source", wait,
			s.t("flow.identify.too_many", "When", s.e.when(s.tr, wait)))
	}
	return s.admitIdentify(ctx)
}
