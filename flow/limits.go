package flow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"
)

// Rate is at most Count events in any window of length Per.
type Rate struct {
	Count int
	Per   time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Count, r.Per) }

// Limits are the throttles of the reset. All of them are counted in the
// Store, so they hold across sessions and across every instance that
// shares it. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// Failures failed verifications of one method of one account (wrong
	// numbers, wrong codes, wrong or unanswered calls and pushes, replayed
	// authenticator codes) within FailureWindow pause self-service reset
	// for the account for Suspension. The directory account is untouched.
	Failures      int
	FailureWindow time.Duration
	Suspension    time.Duration
	// ConsecutiveFailures bounds the failures in a row of one
	// authenticator (a phone, the app, a mailbox) of one account, whatever
	// their pace; a success starts the count again. NIST SP 800-63B allows
	// at most 100.
	ConsecutiveFailures int

	// SendGap is the least time between two sends on one channel (text,
	// call, email, push) to one account, and between two sends to one
	// destination.
	SendGap time.Duration
	// SendsPerAccount bound the sends on one channel to one account.
	SendsPerAccount []Rate
	// SendsPerDestination bound the sends to one phone number or email
	// address, whichever accounts asked for them.
	SendsPerDestination []Rate
	// SendsGlobal bounds every send of every account; when it is spent,
	// sends are refused and an alert is logged.
	SendsGlobal Rate

	// SessionsPerSource and IdentifyPerSource bound new sessions and
	// identify attempts (each CAPTCHA answer) per source address, or per
	// kiosk name.
	SessionsPerSource Rate
	IdentifyPerSource Rate
	// TrustedSources are addresses, CIDR ranges or kiosk names with limits
	// of their own (an office behind one NAT address, a kiosk used by
	// many), so one busy source does not lock out the others.
	TrustedSources  []string
	TrustedSessions Rate
	TrustedIdentify Rate

	// IdentifyFloor is the least time the identify step takes, for a
	// known and an unknown login alike, plus up to IdentifyJitter.
	IdentifyFloor  time.Duration
	IdentifyJitter time.Duration
	// SendFloor is the least time a step that sends takes (a real account
	// talks to a provider there, a decoy does not), plus up to SendJitter.
	SendFloor  time.Duration
	SendJitter time.Duration
}

// consecutiveWindow is how long failures in a row are remembered: in
// effect until a success, as NIST asks.
const consecutiveWindow = 365 * 24 * time.Hour

// DefaultLimits returns the throttles sspr ships with.
func DefaultLimits() Limits {
	return Limits{
		Failures:            5,
		FailureWindow:       time.Hour,
		Suspension:          24 * time.Hour,
		ConsecutiveFailures: 100,
		SendGap:             60 * time.Second,
		SendsPerAccount:     []Rate{{3, 15 * time.Minute}, {10, 24 * time.Hour}},
		SendsPerDestination: []Rate{{3, 15 * time.Minute}, {10, 24 * time.Hour}},
		SendsGlobal:         Rate{500, time.Hour},
		SessionsPerSource:   Rate{10, 10 * time.Second},
		IdentifyPerSource:   Rate{20, time.Hour},
		TrustedSessions:     Rate{100, 10 * time.Second},
		TrustedIdentify:     Rate{1000, time.Hour},
		IdentifyFloor:       time.Second,
		IdentifyJitter:      250 * time.Millisecond,
		SendFloor:           400 * time.Millisecond,
		SendJitter:          250 * time.Millisecond,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	num := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	dur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	rate := func(v *Rate, def Rate) {
		if *v == (Rate{}) {
			*v = def
		}
	}
	num(&l.Failures, d.Failures)
	dur(&l.FailureWindow, d.FailureWindow)
	dur(&l.Suspension, d.Suspension)
	num(&l.ConsecutiveFailures, d.ConsecutiveFailures)
	dur(&l.SendGap, d.SendGap)
	if l.SendsPerAccount == nil {
		l.SendsPerAccount = d.SendsPerAccount
	}
	if l.SendsPerDestination == nil {
		l.SendsPerDestination = d.SendsPerDestination
	}
	rate(&l.SendsGlobal, d.SendsGlobal)
	rate(&l.SessionsPerSource, d.SessionsPerSource)
	rate(&l.IdentifyPerSource, d.IdentifyPerSource)
	rate(&l.TrustedSessions, d.TrustedSessions)
	rate(&l.TrustedIdentify, d.TrustedIdentify)
	dur(&l.IdentifyFloor, d.IdentifyFloor)
	dur(&l.IdentifyJitter, d.IdentifyJitter)
	dur(&l.SendFloor, d.SendFloor)
	dur(&l.SendJitter, d.SendJitter)
	return l
}

// validate names the first field out of bounds.
func (l Limits) validate() error {
	rate := func(name string, r Rate) error {
		if r.Count < 1 || r.Per <= 0 || r.Per > 30*24*time.Hour {
			return fmt.Errorf("limits.%s is %s: allowed is a count of at least 1 per up to 720h", name, r)
		}
		return nil
	}
	switch {
	case l.Failures < 1 || l.Failures > 100:
		return fmt.Errorf("limits.failures is %d: allowed are 1 to 100", l.Failures)
	case l.FailureWindow <= 0 || l.FailureWindow > 24*time.Hour:
		return fmt.Errorf("limits.failure_window is %s: allowed is up to 24h", l.FailureWindow)
	case l.Suspension <= 0 || l.Suspension > 30*24*time.Hour:
		return fmt.Errorf("limits.suspension is %s: allowed is up to 720h", l.Suspension)
	case l.ConsecutiveFailures < 1 || l.ConsecutiveFailures > 100:
		return fmt.Errorf("limits.consecutive_failures is %d: allowed are 1 to 100 (NIST SP 800-63B)", l.ConsecutiveFailures)
	case l.SendGap < 0 || l.SendGap > time.Hour:
		return fmt.Errorf("limits.send_gap is %s: allowed is 0s to 1h", l.SendGap)
	case len(l.SendsPerAccount) == 0:
		return fmt.Errorf("limits.sends_per_account is empty: at least one rate is needed")
	case len(l.SendsPerDestination) == 0:
		return fmt.Errorf("limits.sends_per_destination is empty: at least one rate is needed")
	}
	for i, r := range l.SendsPerAccount {
		if err := rate(fmt.Sprintf("sends_per_account[%d]", i), r); err != nil {
			return err
		}
	}
	for i, r := range l.SendsPerDestination {
		if err := rate(fmt.Sprintf("sends_per_destination[%d]", i), r); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		name string
		r    Rate
	}{
		{"sends_global", l.SendsGlobal}, {"sessions_per_source", l.SessionsPerSource},
		{"identify_per_source", l.IdentifyPerSource}, {"trusted_sessions_per_source", l.TrustedSessions},
		{"trusted_identify_per_source", l.TrustedIdentify},
	} {
		if err := rate(x.name, x.r); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		name string
		d    time.Duration
	}{
		{"identify_floor", l.IdentifyFloor}, {"identify_jitter", l.IdentifyJitter},
		{"send_floor", l.SendFloor}, {"send_jitter", l.SendJitter},
	} {
		if x.d < 0 || x.d > 10*time.Second {
			return fmt.Errorf("limits.%s is %s: allowed is 0s to 10s", x.name, x.d)
		}
	}
	_, err := newTrustList(l.TrustedSources)
	return err
}

// trustList is the parsed form of Limits.TrustedSources.
type trustList struct {
	nets  []*net.IPNet
	names map[string]bool // addresses in canonical form, kiosk names in lower case
}

func newTrustList(sources []string) (*trustList, error) {
	t := &trustList{names: map[string]bool{}}
	for i, src := range sources {
		switch {
		case src == "" || src != Sanitize(src, 128) || strings.ContainsAny(src, " \t"):
			return nil, fmt.Errorf("limits.trusted_sources[%d] is %q: allowed are an address, a CIDR range or a kiosk name", i, Sanitize(src, 128))
		case strings.Contains(src, "/"):
			_, n, err := net.ParseCIDR(src)
			if err != nil {
				return nil, fmt.Errorf("limits.trusted_sources[%d] is %q: not a CIDR range (e.g. 10.1.0.0/16)", i, src)
			}
			t.nets = append(t.nets, n)
		default:
			if ip := net.ParseIP(src); ip != nil {
				src = ip.String()
			}
			t.names[strings.ToLower(src)] = true
		}
	}
	return t, nil
}

// has reports whether source is on the list.
func (t *trustList) has(source string) bool {
	if ip := net.ParseIP(source); ip != nil {
		for _, n := range t.nets {
			if n.Contains(ip) {
				return true
			}
		}
		source = ip.String()
	}
	return t.names[strings.ToLower(source)]
}

// sourceOf is what the per-source limits count: the address without its
// port for SSH, the kiosk's name, or the local user.
func sourceOf(o Origin) string {
	if o.Channel == SSH {
		if host, _, err := net.SplitHostPort(o.Remote); err == nil {
			return host
		}
	}
	return o.Remote
}

// key names a counter in the Store. What it counts for (a login, a phone
// number, an address) is never in the name: only a short HMAC of it, so a
// dump of the Store reveals no login and no number.
func (e *Engine) key(kind string, parts ...string) string {
	m := hmac.New(sha256.New, e.cfg.SecretKey)
	m.Write([]byte("limit\x00" + kind))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:12])
}

// windowKind names a sliding window by what it counts and its length, so
// two windows of one thing never share a key.
func windowKind(kind string, per time.Duration) string { return kind + "/" + per.String() }
