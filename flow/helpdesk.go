package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/i18n"
)

// A helpdesk code is a one-time code an administrator issues for an
// account (sspr helpdesk code): a person with no usable method proves
// who they are with it instead. The Store keeps only its HMAC under the
// engine's secret key, bound to the account, so every instance sharing the
// Store honours it and a dump of the Store does not reveal it.
//
// Enumeration: the choice "Enter a code from the helpdesk" is offered to
// every login, real or unknown, while at least one helpdesk code is live
// anywhere, and to none otherwise; it never depends on the login. An
// account whose own methods do not meet the policy sees what it showed
// before the code was issued (a decoy's list), with the helpdesk choice
// like every login; only that choice can verify it.

// HelpdeskCode is a helpdesk code as the Store keeps it: never the code,
// only its keyed hash.
type HelpdeskCode struct {
	// Login is the account's login, for the list.
	Login string
	// Agent is who issued it.
	Agent   string
	Hash    []byte
	Expires time.Time
	// Uses is how many uses are left.
	Uses int
}

// HelpdeskStore is a Store that keeps helpdesk codes. Without it, the
// helpdesk method is not offered and codes cannot be issued.
type HelpdeskStore interface {
	// PutHelpdeskCode keeps c under key until c.Expires, replacing any
	// code under key.
	PutHelpdeskCode(ctx context.Context, key string, c HelpdeskCode) error
	// HelpdeskCode returns the live code under key; ok is false when
	// there is none.
	HelpdeskCode(ctx context.Context, key string) (c HelpdeskCode, ok bool, err error)
	// UseHelpdeskCode spends one use of the code under key if it is live
	// and its hash is still hash, as one atomic step across every
	// instance sharing the store; the last use removes it. ok is false
	// when nothing was spent.
	UseHelpdeskCode(ctx context.Context, key string, hash []byte) (ok bool, err error)
	// DeleteHelpdeskCode removes the code under key and reports whether
	// there was one.
	DeleteHelpdeskCode(ctx context.Context, key string) (bool, error)
	// HelpdeskCodes lists the live codes.
	HelpdeskCodes(ctx context.Context) ([]HelpdeskCode, error)
	// HelpdeskLive reports whether any code is live.
	HelpdeskLive(ctx context.Context) (bool, error)
}

// HelpdeskPolicy is policy.helpdesk.*.
type HelpdeskPolicy struct {
	Enabled  bool          `yaml:"enabled" doc:"offer \"Enter a code from the helpdesk\" while helpdesk codes are live, and let sspr helpdesk code issue them (the store keeps them: Redis, or the running serve)"`
	CountsAs string        `yaml:"counts_as" doc:"one: a helpdesk code is one method (a two-method policy asks for another); all: it alone is enough, whatever the policy asks"`
	TTL      time.Duration `yaml:"ttl" range:"1m..720h" doc:"how long a code is valid when sspr helpdesk code is given no --ttl"`
	MaxTTL   time.Duration `yaml:"max_ttl" range:"1m..720h" doc:"the longest --ttl allowed"`
	MaxUses  int           `yaml:"max_uses" range:"1..100" doc:"the most --uses allowed"`
}

// The values of policy.helpdesk.counts_as.
const (
	CountsAsOne = "one"
	CountsAsAll = "all"
)

// DefaultHelpdesk is the helpdesk policy sspr ships with.
func DefaultHelpdesk() HelpdeskPolicy {
	return HelpdeskPolicy{Enabled: true, CountsAs: CountsAsOne, TTL: time.Hour, MaxTTL: 24 * time.Hour, MaxUses: 3}
}

// Validate checks counts_as and that ttl fits max_ttl; paths are relative
// to the helpdesk block.
func (h HelpdeskPolicy) Validate() error {
	var es config.Errors
	if h.CountsAs != CountsAsOne && h.CountsAs != CountsAsAll {
		es.Add("counts_as", "%q is not allowed (%s or %s)", Sanitize(h.CountsAs, 32), CountsAsOne, CountsAsAll)
	}
	if h.TTL > h.MaxTTL {
		es.Add("ttl", "%s is longer than max_ttl (%s)", h.TTL, h.MaxTTL)
	}
	return es.Err()
}

func (h HelpdeskPolicy) countsAll() bool { return h.CountsAs == CountsAsAll }

// helpdeskAlphabet has no 0, O, 1, I or L: nothing to misread over the
// phone. helpdeskCodeLen characters of it are 49 bits.
const (
	helpdeskAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	helpdeskCodeLen  = 10
)

// newHelpdeskCode returns a random code, shown in two groups of five.
func newHelpdeskCode() string {
	n := big.NewInt(int64(len(helpdeskAlphabet)))
	var b strings.Builder
	for i := range helpdeskCodeLen {
		if i == helpdeskCodeLen/2 {
			b.WriteByte('-')
		}
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic("flow: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(helpdeskAlphabet[v.Int64()])
	}
	return b.String()
}

// cleanHelpdeskCode is a typed code as it is hashed: capitals, without
// spaces and dashes.
func cleanHelpdeskCode(s string) string {
	s = strings.ToUpper(s)
	return strings.NewReplacer(" ", "", "-", "").Replace(s)
}

func (e *Engine) helpdeskStore() HelpdeskStore {
	hs, _ := e.deps.Store.(HelpdeskStore)
	if !e.cfg.Helpdesk.Enabled {
		return nil
	}
	return hs
}

// helpdeskKey is the Store key of acct's code; helpdeskHash the hash of
// code kept for acct.
func (e *Engine) helpdeskKey(acct string) string { return e.key("helpdesk", acct) }

func (e *Engine) helpdeskHash(acct, code string) []byte {
	return codeHash(e.cfg.SecretKey, acct, "helpdesk", cleanHelpdeskCode(code))
}

// helpdeskState says, for Identify, whether the helpdesk choice is offered
// (any code is live) and whether acct has a live code. Both are asked for
// every login, so that the work does not depend on the login either.
func (e *Engine) helpdeskState(ctx context.Context, acct string) (offer, has bool, err error) {
	hs := e.helpdeskStore()
	if hs == nil {
		return false, false, nil
	}
	if offer, err = hs.HelpdeskLive(ctx); err != nil {
		return false, false, err
	}
	c, ok, err := hs.HelpdeskCode(ctx, e.helpdeskKey(acct))
	if err != nil {
		return false, false, err
	}
	return offer, ok && e.clock.Now().Before(c.Expires) && c.Uses > 0, nil
}

// checkHelpdesk checks a code from the helpdesk against the account's: a
// try counted first like any code, a constant-time comparison of hashes,
// then one use spent atomically in the Store, so that two sessions (on any
// instances) cannot both spend the last one.
func (s *Session) checkHelpdesk(ctx context.Context, typed string) error {
	k, err := s.reserve(ctx)
	if err != nil {
		return err
	}
	hs := s.e.helpdeskStore()
	if hs == nil {
		return s.wrongCode(ctx, k)
	}
	key := s.e.helpdeskKey(s.acct)
	h := s.e.helpdeskHash(s.acct, typed)
	c, ok, err := hs.HelpdeskCode(ctx, key)
	if err != nil {
		return s.storeFailed(err)
	}
	stored := c.Hash
	if !ok || len(stored) != len(h) {
		stored = make([]byte, len(h)) // compared all the same
	}
	match := hmac.Equal(h, stored)
	if !ok || !match || !s.real() || !s.e.clock.Now().Before(c.Expires) {
		return s.wrongCode(ctx, k)
	}
	used, err := hs.UseHelpdeskCode(ctx, key, h)
	if err != nil {
		return s.storeFailed(err)
	}
	if !used {
		// Spent or revoked meanwhile.
		return s.wrongCode(ctx, k)
	}
	s.clear(ctx, s.method)
	return s.verifiedNow(ctx)
}

// real reports whether the current method can verify: a known account's,
// and on an account that sees a decoy's list (helpdesk only), the
// helpdesk code alone, or, once that proved the account, the proof of a
// new destination it adds.
func (s *Session) real() bool {
	return s.known && (!s.helpdeskOnly || s.method == Helpdesk || s.adding != nil)
}

// ErrHelpdeskOff means helpdesk codes cannot be used: policy.helpdesk is
// off, or the store cannot keep them.
var ErrHelpdeskOff = errors.New("helpdesk codes are off (policy.helpdesk.enabled), or the store cannot keep them")

// helpdeskAccount finds login's account for an administrator.
func (e *Engine) helpdeskAccount(ctx context.Context, login string) (User, error) {
	key := CanonicalLogin(login)
	if key == "" {
		return User{}, errors.New("no login given")
	}
	u, err := e.deps.Directory.LookupUser(ctx, key)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return User{}, fmt.Errorf("%q is not in the directory", login)
	case err != nil:
		return User{}, fmt.Errorf("directory lookup: %w", err)
	}
	return u, nil
}

// helpdeskAudit writes the record of an administrator's helpdesk command.
func (e *Engine) helpdeskAudit(step, login, agent string, err error, extra ...any) {
	attrs := append([]any{"channel", "admin", "login", login, "step", step, "agent", agent}, extra...)
	if err != nil {
		e.audit.Info(step, append(attrs, "result", "refused", "error", err.Error())...)
		return
	}
	e.audit.Info(step, append(attrs, "result", "ok")...)
}

// IssueHelpdeskCode makes a code for login's account, valid for ttl (0:
// policy.helpdesk.ttl) and uses times, replacing any code it had; agent
// says who asked, for the audit trail. The code is returned once and kept
// only as a hash; the person is told at every address they registered.
func (e *Engine) IssueHelpdeskCode(ctx context.Context, login, agent string, ttl time.Duration, uses int) (code string, expires time.Time, err error) {
	login, agent = Sanitize(login, MaxLoginLen), Sanitize(agent, 128)
	p := e.cfg.Helpdesk
	if ttl == 0 {
		ttl = p.TTL
	}
	defer func() {
		e.helpdeskAudit("helpdesk_code", login, agent, err, "ttl", ttl.String(), "uses", uses)
	}()
	hs := e.helpdeskStore()
	switch {
	case hs == nil:
		return "", time.Time{}, ErrHelpdeskOff
	case ttl < time.Minute || ttl > p.MaxTTL:
		return "", time.Time{}, fmt.Errorf("ttl %s is not allowed (1m to policy.helpdesk.max_ttl, %s)", ttl, p.MaxTTL)
	case uses < 1 || uses > p.MaxUses:
		return "", time.Time{}, fmt.Errorf("uses %d is not allowed (1 to policy.helpdesk.max_uses, %d)", uses, p.MaxUses)
	}
	u, err := e.helpdeskAccount(ctx, login)
	if err != nil {
		return "", time.Time{}, err
	}
	if u.Disabled {
		return "", time.Time{}, fmt.Errorf("%q is disabled in the directory", login)
	}
	if e.cfg.Privileged.Mode == PrivilegedExcluded && e.cfg.Privileged.matches(u) {
		return "", time.Time{}, fmt.Errorf("%q is privileged, and privileged accounts are excluded from self-service (policy.privileged.mode)", login)
	}
	acct := "user\x00" + u.ID
	code = newHelpdeskCode()
	expires = e.clock.Now().Add(ttl)
	c := HelpdeskCode{Login: u.Login, Agent: agent, Hash: e.helpdeskHash(acct, code), Expires: expires, Uses: uses}
	if err := hs.PutHelpdeskCode(ctx, e.helpdeskKey(acct), c); err != nil {
		return "", time.Time{}, fmt.Errorf("store: %w", err)
	}
	e.helpdeskNotice(ctx, u, expires)
	return code, expires, nil
}

// HelpdeskCodes lists the live codes (never a code, and no hash); the
// listing is audited with agent.
func (e *Engine) HelpdeskCodes(ctx context.Context, agent string) (cs []HelpdeskCode, err error) {
	defer func() { e.helpdeskAudit("helpdesk_list", "", Sanitize(agent, 128), err, "codes", len(cs)) }()
	hs := e.helpdeskStore()
	if hs == nil {
		return nil, ErrHelpdeskOff
	}
	cs, err = hs.HelpdeskCodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	now := e.clock.Now()
	out := cs[:0]
	for _, c := range cs {
		if now.Before(c.Expires) && c.Uses > 0 {
			c.Hash = nil
			out = append(out, c)
		}
	}
	return out, nil
}

// RevokeHelpdeskCode voids login's code and reports whether it had one;
// audited with agent.
func (e *Engine) RevokeHelpdeskCode(ctx context.Context, login, agent string) (revoked bool, err error) {
	login, agent = Sanitize(login, MaxLoginLen), Sanitize(agent, 128)
	defer func() { e.helpdeskAudit("helpdesk_revoke", login, agent, err, "revoked", revoked) }()
	hs := e.helpdeskStore()
	if hs == nil {
		return false, ErrHelpdeskOff
	}
	u, err := e.helpdeskAccount(ctx, login)
	if err != nil {
		return false, err
	}
	revoked, err = hs.DeleteHelpdeskCode(ctx, e.helpdeskKey("user\x00"+u.ID))
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return revoked, nil
}

// helpdeskNotice tells u, at every address registered, that the helpdesk
// issued a code, in the language of notices.lang. A notice that fails is
// logged; the code stands.
func (e *Engine) helpdeskNotice(ctx context.Context, u User, expires time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	tr := i18n.For(e.cfg.Notices.Lang)
	at, until := e.clock.Now().UTC(), expires.UTC()
	text := tr.T("flow.notice.helpdesk_code", "Login", fmt.Sprintf("%q", Sanitize(u.Login, 128)),
		"When", noticeWhen(tr, at), "Until", noticeWhen(tr, until)) + " " + e.helpdeskLine(tr)
	send := func(snd Sender, m MethodID, to string) {
		d := Delivery{Kind: KindNotice, Method: m, To: to, Text: text, Subject: tr.T("flow.subject.helpdesk_code"), Lang: tr.Lang()}
		result := "ok"
		if err := snd.Deliver(ctx, d); err != nil {
			result = "failed"
			e.audit.Error("notice failed", "channel", "admin", "login", u.Login, "method", string(m), "to", "user", "error", err.Error())
		}
		e.audit.Info("notice", "channel", "admin", "login", u.Login, "method", string(m), "step", "notice", "result", result, "to", "user", "about", "helpdesk_code")
	}
	if u.Email != "" && e.deps.Email != nil {
		send(e.deps.Email, EmailAltern, u.Email)
	}
	if u.Mobile != "" && e.deps.SMS != nil {
		to := u.Mobile
		if n, ok := e164(to, e.cfg.PhoneRegion); ok {
			to = n
		}
		send(e.deps.SMS, TextMobile, to)
	}
}
