package flow

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Suspensions are held in the Store under keys made from the account (its
// directory entry, or the login as typed when there is none), never under
// the login itself: an administrator names the account by its login, and
// the keys are derived again from it, so no list of the suspended is
// needed to lift one. Who is suspended is in the audit trail (step
// suspend, result held), not in the Store.

// accountKeys are the accounts a login is counted as: its directory entry
// when there is one, and the login itself (what an unknown login, or this
// login before its entry existed, was counted as). users are the entries
// whose authenticators the failures in a row were counted against: the
// entry, and the empty one a decoy is counted with.
func (e *Engine) accountKeys(ctx context.Context, login string) (accts []string, users []User, err error) {
	key := CanonicalLogin(Sanitize(login, MaxLoginLen))
	if key == "" {
		return nil, nil, errors.New("no login given")
	}
	accts = []string{"login\x00" + key}
	users = []User{{}}
	u, err := e.deps.Directory.LookupUser(ctx, key)
	switch {
	case errors.Is(err, ErrUnknownUser):
	case err != nil:
		return nil, nil, fmt.Errorf("directory lookup: %w", err)
	case u.ID != "":
		accts = append(accts, "user\x00"+u.ID)
		users = append(users, u)
	}
	return accts, users, nil
}

// Suspended returns what remains of the suspension of login's account, 0
// when self-service reset is not paused for it.
func (e *Engine) Suspended(ctx context.Context, login string) (time.Duration, error) {
	accts, _, err := e.accountKeys(ctx, login)
	if err != nil {
		return 0, err
	}
	var left time.Duration
	for _, a := range accts {
		d, err := e.deps.Store.Held(ctx, e.key("susp", a))
		if err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		left = max(left, d)
	}
	return left, nil
}

// LiftSuspension ends the suspension of login's account and forgets its
// failure counts, as a successful reset would; send budgets stay. lifted
// reports whether a suspension was in force. agent says who asked (an
// administrator's name), for the audit trail, which records every call.
func (e *Engine) LiftSuspension(ctx context.Context, login, agent string) (lifted bool, err error) {
	login = Sanitize(login, MaxLoginLen)
	agent = Sanitize(agent, 128)
	record := func(result, reason string, extra ...any) {
		attrs := append([]any{"channel", "admin", "login", login, "step", "lift_suspension", "result", result, "agent", agent}, extra...)
		if reason != "" {
			attrs = append(attrs, "reason", reason)
		}
		e.audit.Info("lift_suspension", attrs...)
	}
	accts, users, err := e.accountKeys(ctx, login)
	if err != nil {
		record("refused", string(ReasonUnavailable), "error", err.Error())
		return false, err
	}
	left, err := e.Suspended(ctx, login)
	if err != nil {
		record("refused", string(ReasonUnavailable), "error", err.Error())
		return false, err
	}
	var keys []string
	for _, a := range accts {
		keys = append(keys, e.key("susp", a))
		for _, m := range methodOrder {
			keys = append(keys, e.key("fail", a, string(m)))
			for _, u := range users {
				keys = append(keys, e.key("seq", a, factor(u, m, e.cfg.PhoneRegion)))
			}
		}
	}
	if err := e.deps.Store.Forget(ctx, keys...); err != nil {
		err = fmt.Errorf("store: %w", err)
		record("refused", string(ReasonUnavailable), "error", err.Error())
		return false, err
	}
	if left > 0 {
		record("ok", "", "was", left.Round(time.Second).String())
	} else {
		record("ok", "", "was", "none")
	}
	return left > 0, nil
}
