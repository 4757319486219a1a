package flow

import (
	"errors"
	"strconv"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/sspr-project/sspr/config"
	"net"
	"strings"
	"time"
)

// Rate is at most Count events in any window of length Per.
type Rate struct {
	Count int
	Per   time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Count, config.FormatDuration(r.Per)) }

// MarshalText writes a rate as sspr.yaml does: 3/15m.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "3/15m": at most 3 in any 15 minutes.
func (r *Rate) UnmarshalText(b []byte) error {
	count, per, ok := strings.Cut(string(b), "/")
	c, err := strconv.Atoi(strings.TrimSpace(count))
	d, derr := time.ParseDuration(strings.TrimSpace(per))
	if !ok || err != nil || derr != nil {
		return errors.New("is not a rate (use a count and a duration, e.g. 3/15m)")
	}
	*r = Rate{Count: c, Per: d}
	return nil
}

// Limits are the throttles of the reset. All of them are counted in the
// Store, so they hold across sessions and across every instance that
// shares it. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// Failures failed verifications of one method of one account (wrong
	// numbers, wrong codes, wrong or unanswered calls and pushes, replayed
	// authenticator codes) within FailureWindow pause self-service reset
	// for the account for Suspension. The directory account is untouched.
	Failures      int           `yaml:"failures" range:"1..100" doc:"failed verifications of one method of one account (wrong number, code, call or push answer, replayed authenticator code) within limits.failure_window that pause self-service reset for the account"`
	FailureWindow time.Duration `yaml:"failure_window" range:"1m..24h" doc:"the window of limits.failures"`
	Suspension    time.Duration `yaml:"suspension" range:"1m..720h" doc:"how long self-service reset stays paused for that account; a successful reset clears the failure counts"`
	// ConsecutiveFailures bounds the failures in a row of one
	// authenticator (a phone, the app, a mailbox) of one account, whatever
	// their pace; a success starts the count again. NIST SP 800-63B allows
	// at most 100.
	ConsecutiveFailures int `yaml:"consecutive_failures" range:"1..100" doc:"failures in a row of one authenticator of one account, whatever their pace, that pause it too; a success starts again (NIST SP 800-63B allows at most 100)"`

	// SendGap is the least time between two sends on one channel (text,
	// call, email, push) to one account, and between two sends to one
	// destination; 0 means none.
	SendGap time.Duration `yaml:"send_gap" range:"0s..1h" doc:"least time between two sends on one channel to one account, and between two sends to one number or address; 0s: none"`
	// SendsPerAccount bound the sends on one channel to one account.
	SendsPerAccount []Rate `yaml:"sends_per_account" range:"1..8" doc:"sends on one channel (text, call, email, push) to one account"`
	// SendsPerDestination bound the sends to one phone number or email
	// address, whichever accounts asked for them.
	SendsPerDestination []Rate `yaml:"sends_per_destination" range:"1..8" doc:"sends to one phone number or email address, whichever accounts ask"`
	// SendsGlobal bounds every send of every account; when it is spent,
	// sends are refused and an alert is logged.
	SendsGlobal Rate `yaml:"sends_global" doc:"all sends together; when spent, sends are refused and an alert (\"alert\":\"send_budget_spent\", level ERROR) is logged"`

	// SessionsPerSource and IdentifyPerSource bound new sessions and
	// identify attempts (each CAPTCHA answer) per source address, or per
	// kiosk name.
	SessionsPerSource Rate `yaml:"sessions_per_source" doc:"new sessions per source address (or kiosk name)"`
	IdentifyPerSource Rate `yaml:"identify_per_source" doc:"identify attempts per source, wrong CAPTCHA answers included"`
	// AudioPerSource bounds the spoken CAPTCHAs fetched for the sessions of
	// one source, trusted or not. Software reads dchest/captcha's audio
	// almost always, so the budget is tight, and each fetch is also an
	// identify attempt.
	AudioPerSource Rate `yaml:"audio_per_source" doc:"spoken CAPTCHAs fetched for the sessions of one source (trusted sources included); each fetch also counts as an identify attempt"`
	// TrustedSources are addresses, CIDR ranges or kiosk names with limits
	// of their own (an office behind one NAT address, a kiosk used by
	// many), so one busy source does not lock out the others.
	TrustedSources  []string `yaml:"trusted_sources" doc:"addresses, CIDR ranges or kiosk names (an office NAT, a kiosk) with limits of their own"`
	TrustedSessions Rate     `yaml:"trusted_sessions_per_source" doc:"new sessions per trusted source"`
	TrustedIdentify Rate     `yaml:"trusted_identify_per_source" doc:"identify attempts per trusted source"`

	// IdentifyFloor is the least time the identify step takes, for a
	// known and an unknown login alike, plus up to IdentifyJitter.
	IdentifyFloor  time.Duration `yaml:"identify_floor" range:"100ms..10s" doc:"least time the identify step takes, known login or not"`
	IdentifyJitter time.Duration `yaml:"identify_jitter" range:"1ms..2s" doc:"up to this much more, at random"`
	// SendFloor is the least time a step that sends takes (a real account
	// talks to a provider there, a decoy does not), plus up to SendJitter.
	SendFloor  time.Duration `yaml:"send_floor" range:"50ms..5s" doc:"least time a step that sends takes, real account or decoy"`
	SendJitter time.Duration `yaml:"send_jitter" range:"1ms..2s" doc:"up to this much more, at random"`
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
		AudioPerSource:      Rate{3, time.Hour},
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
	if l.SendsPerAccount == nil {
		l.SendsPerAccount = d.SendsPerAccount
	}
	if l.SendsPerDestination == nil {
		l.SendsPerDestination = d.SendsPerDestination
	}
	rate(&l.SendsGlobal, d.SendsGlobal)
	rate(&l.SessionsPerSource, d.SessionsPerSource)
	rate(&l.IdentifyPerSource, d.IdentifyPerSource)
	rate(&l.AudioPerSource, d.AudioPerSource)
	rate(&l.TrustedSessions, d.TrustedSessions)
	rate(&l.TrustedIdentify, d.TrustedIdentify)
	dur(&l.IdentifyFloor, d.IdentifyFloor)
	dur(&l.IdentifyJitter, d.IdentifyJitter)
	dur(&l.SendFloor, d.SendFloor)
	dur(&l.SendJitter, d.SendJitter)
	return l
}

// Validate checks what the ranges of the fields cannot: that every rate
// is well formed and every trusted source parses. Paths are relative to
// the limits block. The ranges themselves are the fields' range tags,
// checked when sspr.yaml is loaded; the engine itself only refuses values
// it cannot work with (negative or zero where a count or window is needed).
func (l Limits) Validate() error {
	var es config.Errors
	rate := func(name string, r Rate) {
		if r.Count < 1 || r.Count > 1000000 || r.Per <= 0 || r.Per > 30*24*time.Hour {
			es.Add(name, "%s is not allowed (a count of 1 to 1000000 per up to 720h, e.g. 3/15m)", r)
		}
	}
	for i, r := range l.SendsPerAccount {
		rate(fmt.Sprintf("sends_per_account[%d]", i), r)
	}
	for i, r := range l.SendsPerDestination {
		rate(fmt.Sprintf("sends_per_destination[%d]", i), r)
	}
	rate("sends_global", l.SendsGlobal)
	rate("sessions_per_source", l.SessionsPerSource)
	rate("identify_per_source", l.IdentifyPerSource)
	rate("audio_per_source", l.AudioPerSource)
	rate("trusted_sessions_per_source", l.TrustedSessions)
	rate("trusted_identify_per_source", l.TrustedIdentify)
	for _, x := range []struct {
		name string
		n    int
	}{{"failures", l.Failures}, {"consecutive_failures", l.ConsecutiveFailures}, {"sends_per_account", len(l.SendsPerAccount)}, {"sends_per_destination", len(l.SendsPerDestination)}} {
		if x.n < 1 {
			es.Add(x.name, "%d is not allowed (at least 1)", x.n)
		}
	}
	for _, x := range []struct {
		name string
		d    time.Duration
		zero bool
	}{
		{"failure_window", l.FailureWindow, false}, {"suspension", l.Suspension, false}, {"send_gap", l.SendGap, true},
		{"identify_floor", l.IdentifyFloor, true}, {"identify_jitter", l.IdentifyJitter, true},
		{"send_floor", l.SendFloor, true}, {"send_jitter", l.SendJitter, true},
	} {
		if x.d < 0 || (x.d == 0 && !x.zero) {
			es.Add(x.name, "%s is not allowed (a positive duration)", config.FormatDuration(x.d))
		}
	}
	if _, err := newTrustList(l.TrustedSources); err != nil {
		es = append(es, config.Under("", err)...)
	}
	return es.Err()
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
			return nil, &config.Error{Path: fmt.Sprintf("trusted_sources[%d]", i), Msg: fmt.Sprintf("%q is not allowed (an address, a CIDR range or a kiosk name)", Sanitize(src, 128))}
		case strings.Contains(src, "/"):
			_, n, err := net.ParseCIDR(src)
			if err != nil {
				return nil, &config.Error{Path: fmt.Sprintf("trusted_sources[%d]", i), Msg: fmt.Sprintf("%q is not a CIDR range (e.g. 10.1.0.0/16)", src)}
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
