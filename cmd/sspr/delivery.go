package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/twilio"
	"github.com/sspr-project/sspr/tui"
	"github.com/sspr-project/sspr/web"
)

// Delivery block: the side listener (http.*), the choice of a provider per
// method (methods.*) and the Twilio account (delivery.twilio.*). This file
// is the one place that picks a sender per method.

// HTTPConfig is http.*, the side listener: health, metrics, the spoken
// CAPTCHA and the providers' webhooks.
type HTTPConfig struct {
	// Listen is host:port; empty: no side listener.
	Listen string `yaml:"listen"`
	// PublicURL is the base URL people and providers reach the listener
	// at; every link sspr hands out is built from it alone.
	PublicURL string `yaml:"public_url"`
	// The bearer token GET /metrics requires; none: /metrics is open.
	MetricsToken     string `yaml:"metrics_token"`
	MetricsTokenFile string `yaml:"metrics_token_file"`
	MetricsTokenEnv  string `yaml:"metrics_token_env"`
}

// MethodsConfig is methods.*: the provider of each kind of delivery. With
// no methods key at all, every method goes to the demo phone; once any is
// set, the others are off unless named too.
type MethodsConfig struct {
	Text  string `yaml:"text"`
	Call  string `yaml:"call"`
	Email string `yaml:"email"`
	Push  string `yaml:"push"`
}

// TwilioConfig is delivery.twilio.*: texts and calls through Twilio.
type TwilioConfig struct {
	AccountSID string `yaml:"account_sid"`
	// The auth token: one of auth_token, auth_token_file (its first line)
	// and auth_token_env (the name of an environment variable).
	AuthToken     string `yaml:"auth_token"`
	AuthTokenFile string `yaml:"auth_token_file"`
	AuthTokenEnv  string `yaml:"auth_token_env"`
	// From is the Twilio number (E.164); messaging_service_sid may send
	// texts instead. Calls need from.
	From                string   `yaml:"from"`
	MessagingServiceSID string   `yaml:"messaging_service_sid"`
	APIURL              string   `yaml:"api_url"`
	Timeout             Duration `yaml:"timeout"`
}

// The providers a method may name.
const (
	providerDemo   = "demo"
	providerTwilio = "twilio"
	providerSMTP   = "smtp"
	providerNtfy   = "ntfy"
	providerDuo    = "duo"
	providerOff    = "off"
)

// methodProviders lists, per methods.* key, the providers it may name.
var methodProviders = map[string][]string{
	"text":  {providerDemo, providerTwilio, providerOff},
	"call":  {providerDemo, providerTwilio, providerOff},
	"email": {providerDemo, providerSMTP, providerOff},
	"push":  {providerDemo, providerNtfy, providerDuo, providerOff},
}

var (
	twilioAccountRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twilioServiceRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164RE          = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// fillDelivery sets the defaults of the delivery block: with no methods
// key set at all, every method is the demo phone's.
func (c *Config) fillDelivery() {
	m := &c.Methods
	if *m == (MethodsConfig{}) {
		*m = MethodsConfig{Text: providerDemo, Call: providerDemo, Email: providerDemo, Push: providerDemo}
	}
	for _, p := range []*string{&m.Text, &m.Call, &m.Email, &m.Push} {
		if *p == "" {
			*p = providerOff
		}
	}
	if t := c.Delivery.Twilio; t != nil {
		if t.APIURL == "" {
			t.APIURL = twilio.DefaultAPIURL
		}
		if t.Timeout.Duration == 0 {
			t.Timeout.Duration = twilio.DefaultTimeout
		}
	}
}

// methodList is methods.* as key and provider, in a fixed order.
func (m MethodsConfig) list() [][2]string {
	return [][2]string{{"text", m.Text}, {"call", m.Call}, {"email", m.Email}, {"push", m.Push}}
}

// uses reports whether any method names provider.
func (m MethodsConfig) uses(provider string) bool {
	for _, kv := range m.list() {
		if kv[1] == provider {
			return true
		}
	}
	return false
}

// validateDelivery checks http.*, methods.* and delivery.twilio.*.
func (c *Config) validateDelivery(bad func(field string, v any, allowed string) error) error {
	h := c.HTTP
	if h.Listen != "" {
		if _, _, err := splitHostPort(h.Listen); err != nil {
			return bad("http.listen", fmt.Sprintf("%q", h.Listen), "host:port, e.g. :8080 or 127.0.0.1:8080")
		}
	}
	if _, err := web.CheckPublicURL(h.PublicURL); err != nil {
		return bad("http.public_url", fmt.Sprintf("%q", h.PublicURL), "an http:// or https:// URL with no query, e.g. https://reset.example.com")
	}
	if n := countSet(h.MetricsToken, h.MetricsTokenFile, h.MetricsTokenEnv); n > 1 {
		return bad("http.metrics_token", "given more than once", "one of metrics_token, metrics_token_file, metrics_token_env")
	}
	for _, kv := range c.Methods.list() {
		if !contains(methodProviders[kv[0]], kv[1]) {
			return bad("methods."+kv[0], fmt.Sprintf("%q", kv[1]), strings.Join(methodProviders[kv[0]], ", "))
		}
	}
	// Calls and ntfy pushes are answered through webhooks.
	for _, kv := range [][2]string{{"call", c.Methods.Call}, {"push", c.Methods.Push}} {
		if kv[1] != providerTwilio && kv[1] != providerNtfy {
			continue
		}
		if h.Listen == "" {
			return bad("http.listen", `""`, fmt.Sprintf("host:port: methods.%s: %s needs the side listener for its webhooks", kv[0], kv[1]))
		}
		if h.PublicURL == "" {
			return bad("http.public_url", `""`, fmt.Sprintf("the URL %s reaches http.listen at: methods.%s: %s needs it", kv[1], kv[0], kv[1]))
		}
	}
	t := c.Delivery.Twilio
	if !c.Methods.uses(providerTwilio) {
		return nil
	}
	if t == nil {
		return bad("delivery.twilio", "missing", "account_sid, auth_token and from: methods name twilio")
	}
	switch {
	case !twilioAccountRE.MatchString(t.AccountSID):
		return bad("delivery.twilio.account_sid", fmt.Sprintf("%q", flow.Sanitize(t.AccountSID, 40)), "AC followed by 32 hex digits")
	case countSet(t.AuthToken, t.AuthTokenFile, t.AuthTokenEnv) != 1:
		return bad("delivery.twilio.auth_token", fmt.Sprintf("given %d times", countSet(t.AuthToken, t.AuthTokenFile, t.AuthTokenEnv)), "exactly one of auth_token, auth_token_file, auth_token_env")
	case t.From == "" && t.MessagingServiceSID == "":
		return bad("delivery.twilio.from", `""`, "an E.164 number such as +12125550100, or messaging_service_sid for texts")
	case t.From != "" && !e164RE.MatchString(t.From):
		return bad("delivery.twilio.from", fmt.Sprintf("%q", flow.Sanitize(t.From, 32)), "an E.164 number such as +12125550100")
	case t.MessagingServiceSID != "" && !twilioServiceRE.MatchString(t.MessagingServiceSID):
		return bad("delivery.twilio.messaging_service_sid", fmt.Sprintf("%q", flow.Sanitize(t.MessagingServiceSID, 40)), "MG followed by 32 hex digits")
	case c.Methods.Call == providerTwilio && t.From == "":
		return bad("delivery.twilio.from", `""`, "an E.164 number: methods.call: twilio places calls from it")
	case t.Timeout.Duration < time.Second || t.Timeout.Duration > time.Minute:
		return bad("delivery.twilio.timeout", t.Timeout.Duration, "1s to 1m")
	}
	if _, err := web.CheckPublicURL(t.APIURL); err != nil {
		return bad("delivery.twilio.api_url", fmt.Sprintf("%q", t.APIURL), "an http:// or https:// URL, e.g. https://api.twilio.com")
	}
	return nil
}

func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// secretFrom reads a secret given inline, in a file (its first line) or in
// an environment variable; field names the config key for errors.
func secretFrom(field, inline, file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", field, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		v := strings.TrimRight(line, "\r")
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", field, file)
		}
		return v, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: %s is not set", field, env)
		}
		return v, nil
	}
	return inline, nil
}

// lateApprover hands answers to the engine, which is built after its
// senders.
type lateApprover struct{ eng atomic.Pointer[flow.Engine] }

func (l *lateApprover) set(e *flow.Engine) { l.eng.Store(e) }

// Approve implements twilio.Approver and the push providers' approve func.
func (l *lateApprover) Approve(ctx context.Context, token, answer string) error {
	e := l.eng.Load()
	if e == nil {
		return flow.ErrNoApproval
	}
	return e.Approve(ctx, token, answer)
}

// lateLog is a slog.Handler whose destination is set once the command
// knows where its operational log goes (standard error for serve, nowhere
// while a wizard owns the terminal).
type lateLog struct {
	h *atomic.Pointer[slog.Handler]
	// with replays WithAttrs and WithGroup on the destination.
	with func(slog.Handler) slog.Handler
}

func newLateLog() *lateLog {
	p := &atomic.Pointer[slog.Handler]{}
	var d slog.Handler = slog.DiscardHandler
	p.Store(&d)
	return &lateLog{h: p, with: func(h slog.Handler) slog.Handler { return h }}
}

func (l *lateLog) set(h slog.Handler) { l.h.Store(&h) }

func (l *lateLog) target() slog.Handler { return l.with(*l.h.Load()) }

func (l *lateLog) Enabled(ctx context.Context, lv slog.Level) bool {
	return l.target().Enabled(ctx, lv)
}

func (l *lateLog) Handle(ctx context.Context, r slog.Record) error { return l.target().Handle(ctx, r) }

func (l *lateLog) WithAttrs(as []slog.Attr) slog.Handler {
	prev := l.with
	return &lateLog{h: l.h, with: func(h slog.Handler) slog.Handler { return prev(h).WithAttrs(as) }}
}

func (l *lateLog) WithGroup(name string) slog.Handler {
	prev := l.with
	return &lateLog{h: l.h, with: func(h slog.Handler) slog.Handler { return prev(h).WithGroup(name) }}
}

// providerCheck is one provider's credential check for `sspr check`.
type providerCheck struct {
	name  string
	check func(ctx context.Context) error
}

// hookMount is a provider's webhook on the side listener.
type hookMount struct {
	pattern string
	handler func(a *lateApprover) http.Handler
}

// deliveryWiring is what the delivery block built: the senders per method
// (timed for the metrics), the metrics, the providers' checks and
// webhooks, and where their log goes.
type deliveryWiring struct {
	sms, voice, email, push flow.Sender
	usesDemo                bool
	metrics                 *metrics.Metrics
	approver                *lateApprover
	log                     *lateLog
	store                   flow.Store
	checks                  []providerCheck
	mounts                  []hookMount
	closers                 []io.Closer
}

// buildDelivery picks the sender of each method as methods.* says. phone
// is the demo phone. Nothing is contacted here.
func buildDelivery(cfg *Config, phone *demo.Phone, store flow.Store) (*deliveryWiring, error) {
	w := &deliveryWiring{
		metrics:  metrics.New(metrics.Options{SessionMaxAge: cfg.SSH.MaxSessionTime.Duration + time.Minute}),
		approver: &lateApprover{},
		log:      newLateLog(),
		store:    store,
	}
	var tw *twilio.Client
	if cfg.Methods.uses(providerTwilio) {
		c, err := newTwilio(cfg, w)
		if err != nil {
			return nil, err
		}
		tw = c
	}
	pick := func(key, provider string) (flow.Sender, error) {
		var s flow.Sender
		switch provider {
		case providerOff:
			return nil, nil
		case providerDemo:
			w.usesDemo = true
			s = phone
		case providerTwilio:
			s = tw
		default:
			s2, err := w.other(cfg, key, provider)
			if err != nil {
				return nil, err
			}
			s = s2
		}
		return w.metrics.Sender(provider, s), nil
	}
	var err error
	for _, x := range []struct {
		key string
		dst *flow.Sender
		p   string
	}{
		{"text", &w.sms, cfg.Methods.Text}, {"call", &w.voice, cfg.Methods.Call},
		{"email", &w.email, cfg.Methods.Email}, {"push", &w.push, cfg.Methods.Push},
	} {
		if *x.dst, err = pick(x.key, x.p); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// other builds the senders whose config lives beside it: email over SMTP
// (smtp.go), pushes through ntfy or Duo (push.go).
func (w *deliveryWiring) other(cfg *Config, key, provider string) (flow.Sender, error) {
	switch provider {
	case providerSMTP:
		// Its relay check is checkSMTP's, in `sspr check`.
		s, err := newSMTP(cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	case providerNtfy:
		return newNtfyPush(cfg, w)
	case providerDuo:
		return newDuoPush(cfg, w)
	}
	return nil, fmt.Errorf("methods.%s: %s: delivery.%s is not available in this build", key, provider, provider)
}

func newTwilio(cfg *Config, w *deliveryWiring) (*twilio.Client, error) {
	t := cfg.Delivery.Twilio
	token, err := secretFrom("delivery.twilio.auth_token", t.AuthToken, t.AuthTokenFile, t.AuthTokenEnv)
	if err != nil {
		return nil, err
	}
	c, err := twilio.New(twilio.Config{
		AccountSID: t.AccountSID, AuthToken: token, From: t.From, MessagingServiceSID: t.MessagingServiceSID,
		APIURL: t.APIURL, PublicURL: cfg.HTTP.PublicURL, Timeout: t.Timeout.Duration,
		Log:     slog.New(w.log).With("provider", providerTwilio),
		Observe: func(event string) { w.metrics.Callback(providerTwilio, event) },
	})
	if err != nil {
		return nil, fmt.Errorf("delivery.twilio: %w", err)
	}
	w.checks = append(w.checks, providerCheck{"delivery.twilio (account " + t.AccountSID + ")", c.Check})
	w.mounts = append(w.mounts,
		hookMount{"POST " + twilio.VoicePath + "{token}", func(a *lateApprover) http.Handler { return c.VoiceHandler(a) }},
		hookMount{"POST " + twilio.StatusPath, func(a *lateApprover) http.Handler { return c.StatusHandler(a) }},
	)
	return c, nil
}

// Close releases what the providers hold (a Duo poller, say).
func (w *deliveryWiring) Close() {
	for _, c := range w.closers {
		_ = c.Close()
	}
}

// demoPhone is the phone the wizard draws, nil (no panel) when no method
// delivers to it.
func (a *app) demoPhone() tui.DemoPhone {
	if a.delivery == nil || !a.delivery.usesDemo {
		return nil
	}
	return a.phone
}

// audioLink makes the links to the spoken CAPTCHA, from http.public_url
// alone; nil when no side listener serves them.
func audioLink(cfg *Config) func(token string) string {
	if cfg.HTTP.Listen == "" || cfg.HTTP.PublicURL == "" {
		return nil
	}
	public := cfg.HTTP.PublicURL
	return func(token string) string { return web.AudioCaptchaURL(public, token) }
}

// sideListener is the running HTTP side listener.
type sideListener struct {
	srv  *web.Server
	addr string
	done chan error
}

// startSide starts the side listener when http.listen is set (nil
// otherwise): health, metrics, the spoken CAPTCHA and the providers'
// webhooks. failed is called if it stops serving by itself.
func startSide(cfg *Config, a *app, log *slog.Logger, failed func(error)) (*sideListener, error) {
	if cfg.HTTP.Listen == "" {
		return nil, nil
	}
	token, err := secretFrom("http.metrics_token", cfg.HTTP.MetricsToken, cfg.HTTP.MetricsTokenFile, cfg.HTTP.MetricsTokenEnv)
	if err != nil {
		return nil, err
	}
	srv, err := web.New(web.Config{
		PublicURL: cfg.HTTP.PublicURL, MetricsToken: token,
		Captcha: a.engine, Store: a.delivery.store, Metrics: a.delivery.metrics.Handler(),
		Log: log.With("listener", "http"),
	})
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	for _, m := range a.delivery.mounts {
		if err := srv.Mount(m.pattern, m.handler(a.delivery.approver)); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	s := &sideListener{srv: srv, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() {
		err := srv.Serve(l)
		if err != nil && failed != nil {
			failed(err)
		}
		s.done <- err
	}()
	log.Info("http_serving", "listen", s.addr, "public_url", cfg.HTTP.PublicURL, "metrics_token", token != "")
	return s, nil
}

// stop ends the side listener: requests under way may finish until ctx
// ends.
func (s *sideListener) stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// sideGrace bounds the side listener's shutdown, after the SSH server's.
const sideGrace = 5 * time.Second

// checkDelivery is the delivery part of `sspr check`: which provider each
// method uses, and each provider's credentials, verified without sending
// anything.
func checkDelivery(cfg *Config, step func(what string, err error) error) error {
	for _, kv := range cfg.Methods.list() {
		what := fmt.Sprintf("methods.%s: %s", kv[0], kv[1])
		if kv[1] == providerDemo && !cfg.demo {
			what += " (the on-screen demo phone: not for real use)"
		}
		if err := step(what, nil); err != nil {
			return err
		}
	}
	w, err := buildDelivery(cfg, demo.New("", nil), nil)
	if err != nil {
		return step("delivery", err)
	}
	defer w.Close()
	for _, c := range w.checks {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.check(ctx)
		cancel()
		if err := step(c.name, err); err != nil {
			return err
		}
	}
	if cfg.HTTP.Listen != "" {
		what := "http.listen " + cfg.HTTP.Listen
		if cfg.HTTP.PublicURL != "" {
			what += " (public URL " + cfg.HTTP.PublicURL + ")"
		}
		if _, err := secretFrom("http.metrics_token", cfg.HTTP.MetricsToken, cfg.HTTP.MetricsTokenFile, cfg.HTTP.MetricsTokenEnv); err != nil {
			return step(what, err)
		}
		return step(what, nil)
	}
	return nil
}
