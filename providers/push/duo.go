package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// DuoConfig is one Duo Auth API application: the delivery.duo block of
// sspr.yaml, decoded over DefaultDuo. Approve, NumberLabel, PollInterval,
// HTTPClient, Log and Observe are set in code.
type DuoConfig struct {
	// Host is the API hostname, e.g. api-1234abcd.duosecurity.com.
	Host string `yaml:"host" doc:"the API hostname, e.g. api-1234abcd.duosecurity.com"`
	// IKey and SKey are the application's integration and secret keys.
	IKey string        `yaml:"ikey" doc:"the integration key"`
	SKey config.Secret `yaml:"skey" doc:"the secret key, inline, in a file or in an environment variable (exactly one)"`
	// Type replaces "Login request" in Duo Mobile (default "Password reset").
	Type string `yaml:"type" default:"Password reset" doc:"replaces \"Login request\" in Duo Mobile"`
	// Timeout bounds preauth and auth together, and Check (default 5s):
	// flow shows the waiting screen only once Deliver returns.
	Timeout time.Duration `yaml:"timeout" default:"5s" range:"0|1s..30s" doc:"starting one push; 0s: 5s"`
	// Approve reports the outcome of a push (see Duo.SetApprover).
	Approve func(ctx context.Context, token, answer string) error `yaml:"-"`
	// NumberLabel names the number in the push details (default
	// "Number on your screen").
	NumberLabel string `yaml:"-"`
	// PollInterval is the least time between two auth_status requests
	// (default 1s); auth_status itself waits for the next change.
	PollInterval time.Duration `yaml:"-"`
	// HTTPClient's Transport carries the requests; nil means the Duo
	// client's own, which trusts only the CAs Duo pins.
	HTTPClient *http.Client `yaml:"-"`
	// Log receives poll failures and outcomes; nil discards them.
	Log *slog.Logger `yaml:"-"`
	// Observe, when set, is told each push's outcome: "allow", "deny",
	// "timeout" (Duo's), "fraud", or "unanswered" (past the approval's
	// expiry).
	Observe func(event string) `yaml:"-"`
}

// DefaultDuo is the delivery.duo block before the file's keys.
func DefaultDuo() DuoConfig {
	return DuoConfig{Type: defaultTitle, Timeout: defaultTimeout}
}

// SetDefaults gives a delivery.duo block its defaults.
func (c *DuoConfig) SetDefaults() { *c = DefaultDuo() }

var (
	duoHostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	duoIKeyRE = regexp.MustCompile(`^[A-Z0-9]{20}$`)
)

// Validate checks the keys of the block, every rule at once, with paths
// relative to it (host, ikey, skey...). The range of timeout is its tag's;
// config.Load checks it.
func (c DuoConfig) Validate() error {
	return c.problems().Err()
}

// problems are the rules NewDuo applies too.
func (c DuoConfig) problems() config.Errors {
	var es config.Errors
	if !duoHostRE.MatchString(c.Host) {
		es.Add("host", "%q is not allowed (the API hostname alone, e.g. api-1234abcd.duosecurity.com)", flow.Sanitize(c.Host, 200))
	}
	if !duoIKeyRE.MatchString(c.IKey) {
		es.Add("ikey", "%q is not allowed (the integration key: 20 capital letters and digits, e.g. DIWJ8X6AEYOR5OMC6TQ1)", flow.Sanitize(c.IKey, 40))
	}
	switch {
	case !c.SKey.IsSet():
		es.Add("skey", "is missing (one of skey, skey_file, skey_env)")
	case c.SKey.Value() != "" && len(c.SKey.Value()) != 40:
		es.Add("skey", "has %d characters (the 40-character secret key)", len(c.SKey.Value()))
	}
	if len(c.Type) > 64 || c.Type != flow.Sanitize(c.Type, 64) {
		es.Add("type", "%q is not allowed (up to 64 printable characters)", flow.Sanitize(c.Type, 64))
	}
	return es
}

// Duo starts Duo Pushes and reports their outcome.
//
// Duo Mobile offers Approve and Deny only, not three numbers, so number
// matching is weaker than with ntfy: the push details show the number on
// the person's screen, the person compares it, and Approve answers with
// that number (Deny with none). Duo's Verified Push, where the person types
// a code into Duo Mobile, needs the code Duo picks shown on sspr's screen,
// which flow's Delivery cannot carry; it is not used.
type Duo struct {
	cfg   DuoConfig
	proto duoapi.DuoApi
	base  http.RoundTripper
	log   *slog.Logger

	mu      sync.Mutex
	approve func(ctx context.Context, token, answer string) error
	closed  bool
	stop    context.CancelFunc
	stopCtx context.Context
	polls   sync.WaitGroup
}

// NewDuo checks cfg and returns the sender. It contacts nothing. A wrong
// key is reported as Validate reports it (config.Errors, with paths
// relative to the block; a timeout under 1s is accepted, for tests); zero
// fields take their defaults. The secret key is read if it was not
// already.
func NewDuo(cfg DuoConfig) (*Duo, error) {
	if cfg.Type == "" {
		cfg.Type = defaultTitle
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	skey, err := secretValue(&cfg.SKey, "skey")
	if err != nil {
		return nil, config.Errors{{Path: "skey", Msg: err.Error()}}
	}
	if es := cfg.problems(); len(es) > 0 {
		return nil, es
	}
	if cfg.NumberLabel == "" {
		cfg.NumberLabel = "Number on your screen"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	d := &Duo{cfg: cfg, approve: cfg.Approve, log: cfg.Log}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	// The Duo client builds a transport that trusts only Duo's pinned CAs;
	// keep it to wrap it per request with a context.
	var pinned *http.Transport
	api := duoapi.NewDuoApi(cfg.IKey, skey, cfg.Host, "sspr", duoapi.SetTransport(func(t *http.Transport) { pinned = t }))
	d.proto = *api
	d.base = pinned
	if cfg.HTTPClient != nil {
		d.base = cfg.HTTPClient.Transport
		if d.base == nil {
			d.base = http.DefaultTransport
		}
	}
	d.stopCtx, d.stop = context.WithCancel(context.Background())
	return d, nil
}

// SetApprover names who takes the outcomes: the engine, which is built
// after its senders.
func (d *Duo) SetApprover(approve func(ctx context.Context, token, answer string) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.approve = approve
}

// Close stops every poll and waits for them to end.
func (d *Duo) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.stop()
	d.polls.Wait()
	return nil
}

// errRateLimited turns Duo's 429 into an error at once: the Duo client
// would otherwise sleep and retry for up to a minute, without a context.
var errRateLimited = errors.New("duo: rate limited (HTTP 429)")

// ctxTransport gives every request of one operation its context, which the
// Duo client cannot pass itself.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		resp.Body.Close()
		return nil, errRateLimited
	}
	return resp, err
}

// api is a Duo client whose requests end with ctx.
func (d *Duo) api(ctx context.Context) *authapi.AuthApi {
	a := authapi.NewAuthApi(d.proto)
	a.SetCustomHTTPClient(&http.Client{Transport: ctxTransport{ctx: ctx, base: d.base}})
	return a
}

// statError says what a FAIL answer says: its code and message.
func statError(op string, st duoapi.StatResult) error {
	st.SyncCode()
	code, msg := int32(0), ""
	if st.Code != nil {
		code = *st.Code
	}
	if st.Message != nil {
		msg = *st.Message
	}
	if st.Message_Detail != nil && *st.Message_Detail != "" {
		msg += " (" + *st.Message_Detail + ")"
	}
	return fmt.Errorf("duo: %s: %s %d: %s", op, st.Stat, code, msg)
}

// Check calls /auth/v2/check, which proves the keys and the clock.
func (d *Duo) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	res, err := d.api(ctx).Check()
	if err != nil {
		return fmt.Errorf("duo: check: %w", err)
	}
	if res.Stat != "OK" {
		return statError("check", res.StatResult)
	}
	return nil
}

// Deliver asks Duo whether d.To (the Duo username) can get a push, starts
// the push asynchronously, and polls for its outcome in the background
// until d.Expires or Close. Allow answers flow with d.Shown; Deny with
// nothing, which is a failed try. A user Duo lets through without a second
// factor (preauth "allow": bypass) is refused: a reset needs a proof.
func (d *Duo) Deliver(ctx context.Context, dl flow.Delivery) error {
	if dl.Method != flow.PushApp {
		return fmt.Errorf("duo: cannot deliver %q, only pushes", dl.Method)
	}
	if dl.To == "" {
		return errors.New("duo: no username")
	}
	if !validToken(dl.Token) {
		return errors.New("duo: the approval token is malformed")
	}
	if !digits(dl.Shown) {
		return errors.New("duo: no number to show")
	}
	d.mu.Lock()
	closed, approve := d.closed, d.approve
	d.mu.Unlock()
	if closed {
		return errors.New("duo: closed")
	}
	if approve == nil {
		return errors.New("duo: no approver set")
	}
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	api := d.api(octx)

	pre, err := api.Preauth(authapi.PreauthUsername(dl.To))
	if err != nil {
		return fmt.Errorf("duo: preauth: %w", err)
	}
	if pre.Stat != "OK" {
		return statError("preauth", pre.StatResult)
	}
	switch pre.Response.Result {
	case "auth":
	case "allow":
		return errors.New("duo: preauth: the user may pass without a second factor (bypass); a reset needs one")
	case "enroll":
		return errors.New("duo: preauth: the user has not enrolled a device")
	default:
		return fmt.Errorf("duo: preauth: %s: %s", pre.Response.Result, pre.Response.Status_Msg)
	}
	pushable := false
	for _, dev := range pre.Response.Devices {
		for _, c := range dev.Capabilities {
			pushable = pushable || c == "push"
		}
	}
	if !pushable {
		return errors.New("duo: preauth: no device of the user takes pushes")
	}

	info := url.Values{d.cfg.NumberLabel: {dl.Shown}}
	res, err := api.Auth("push",
		authapi.AuthUsername(dl.To), authapi.AuthDevice("auto"), authapi.AuthAsync(),
		authapi.AuthType(d.cfg.Type), authapi.AuthDisplayUsername(dl.To), authapi.AuthPushinfo(info.Encode()))
	if err != nil {
		return fmt.Errorf("duo: auth: %w", err)
	}
	if res.Stat != "OK" {
		return statError("auth", res.StatResult)
	}
	if res.Response.Txid == "" {
		return errors.New("duo: auth: no transaction id in the answer")
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("duo: closed")
	}
	d.polls.Add(1)
	go d.poll(res.Response.Txid, dl.Token, dl.Shown, dl.Expires, approve)
	return nil
}

// poll waits for the outcome of txid until expires or Close, and reports
// it. Past expires it reports nothing: flow times the approval out itself.
func (d *Duo) poll(txid, token, shown string, expires time.Time, approve func(ctx context.Context, token, answer string) error) {
	defer d.polls.Done()
	ctx, cancel := context.WithDeadline(d.stopCtx, expires)
	defer cancel()
	ref := tokenRef(token)
	api := d.api(ctx)
	failures := 0
	for {
		start := time.Now()
		st, err := api.AuthStatus(txid)
		switch {
		case ctx.Err() != nil:
			d.unanswered(ref)
			return
		case err != nil:
			failures++
			d.log.Warn("duo auth_status failed", "token_ref", ref, "failures", failures, "error", err.Error())
		case st.Stat != "OK":
			failures++
			d.log.Warn("duo auth_status failed", "token_ref", ref, "failures", failures, "error", statError("auth_status", st.StatResult).Error())
		default:
			failures = 0
			var answer string
			switch {
			case st.Response.Result == "waiting":
				// Long-poll again below.
			case st.Response.Result == "deny" && st.Response.Status == "timeout":
				// Duo gave up on an unanswered push. Say nothing, and let
				// flow time the wait out as it does for a push nobody
				// answers anywhere, a decoy's included: an early "wrong"
				// here would tell a real account from a decoy.
				d.log.Info("duo push answered", "token_ref", ref, "result", st.Response.Result, "status", st.Response.Status)
				d.observe(outcome(st.Response.Result, st.Response.Status))
				return
			default: // "allow", or "deny" (including fraud reports)
				if st.Response.Result == "allow" {
					answer = shown
				}
				d.log.Info("duo push answered", "token_ref", ref, "result", st.Response.Result, "status", st.Response.Status)
				d.observe(outcome(st.Response.Result, st.Response.Status))
				actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := approve(actx, token, answer)
				acancel()
				if err != nil && !errors.Is(err, flow.ErrNoApproval) {
					d.log.Error("duo push outcome not recorded", "token_ref", ref, "error", err.Error())
				}
				return
			}
		}
		wait := d.cfg.PollInterval - time.Since(start)
		if failures > 0 {
			wait = min(d.cfg.PollInterval<<min(failures, 5), 30*time.Second)
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				d.unanswered(ref)
				return
			case <-t.C:
			}
		}
	}
}

func (d *Duo) unanswered(ref string) {
	d.log.Info("duo push unanswered", "token_ref", ref)
	d.observe("unanswered")
}

func (d *Duo) observe(event string) {
	if d.cfg.Observe != nil {
		d.cfg.Observe(event)
	}
}

// outcome names a finished push for metrics: allow, deny, or the reason
// Duo gives for a deny (timeout, fraud).
func outcome(result, status string) string {
	switch {
	case result == "allow":
		return "allow"
	case status == "timeout" || status == "fraud":
		return status
	}
	return "deny"
}
