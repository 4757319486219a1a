package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/sspr-project/sspr/config"

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

// MethodsConfig is methods.*: the provider of each kind of delivery. A
// config file names them (the others are then off); without a config
// file every method is the demo phone's.
type MethodsConfig struct {
	Text  string `yaml:"text" default:"none (demo without a config file)" doc:"demo, twilio, http (any HTTP SMS gateway, delivery.http), email2sms (a mail-to-SMS address through delivery.smtp) or off"`
	Call  string `yaml:"call" default:"none (demo without a config file)" doc:"demo, twilio or off"`
	Email string `yaml:"email" default:"none (demo without a config file)" doc:"demo, smtp or off"`
	Push  string `yaml:"push" default:"none (demo without a config file)" doc:"demo, ntfy, duo or off. A config file must name the methods; once one is named, the others are off; demo needs demo: true"`
}

// The providers a method may name.
const (
	providerDemo   = "demo"
	providerTwilio = "twilio"
	providerSMTP   = "smtp"
	providerNtfy   = "ntfy"
	providerDuo    = "duo"
	providerHTTP   = "http"
	providerE2SMS  = "email2sms"
	providerOff    = "off"
)

// methodProviders lists, per methods.* key, the providers it may name.
var methodProviders = map[string][]string{
	"text":  {providerDemo, providerTwilio, providerHTTP, providerE2SMS, providerOff},
	"call":  {providerDemo, providerTwilio, providerOff},
	"email": {providerDemo, providerSMTP, providerOff},
	"push":  {providerDemo, providerNtfy, providerDuo, providerOff},
}

var (
	twilioAccountRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twilioServiceRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164RE          = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

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

// validateDelivery checks that what methods.* names is there: the side
// listener for webhooks, and each provider's block (whose own keys its
// Validate checked). Paths are full key paths.
func (c *Config) validateDelivery() config.Errors {
	var es config.Errors
	h := c.HTTP
	// Calls and ntfy pushes are answered through webhooks.
	for _, kv := range [][2]string{{"call", c.Methods.Call}, {"push", c.Methods.Push}} {
		if kv[1] != providerTwilio && kv[1] != providerNtfy {
			continue
		}
		if h.Listen == "" {
			es.Add("http.listen", "is empty: methods.%s: %s needs the side listener for its webhooks (host:port)", kv[0], kv[1])
		}
		if h.PublicURL == "" {
			es.Add("http.public_url", "is empty: methods.%s: %s needs the URL it reaches http.listen at", kv[0], kv[1])
		}
	}
	for _, need := range []struct {
		provider, block string
		missing         bool
	}{
		{providerTwilio, "delivery.twilio", c.Delivery.Twilio == nil},
		{providerSMTP, "delivery.smtp", c.Delivery.SMTP == nil},
		{providerNtfy, "delivery.ntfy", c.Delivery.Ntfy == nil},
		{providerDuo, "delivery.duo", c.Delivery.Duo == nil},
		{providerHTTP, "delivery.http", c.Delivery.HTTP == nil},
		{providerE2SMS, "delivery.email2sms", c.Delivery.Email2SMS == nil},
		// The mail-to-SMS gateway is reached through the SMTP relay.
		{providerE2SMS, "delivery.smtp", c.Delivery.SMTP == nil},
	} {
		if need.missing && c.Methods.uses(need.provider) {
			es.Add(need.block, "is missing: methods name %s", need.provider)
		}
	}
	if t := c.Delivery.Twilio; t != nil && c.Methods.Call == providerTwilio && t.From == "" {
		es.Add("delivery.twilio.from", "is empty: methods.call: twilio places calls from it (an E.164 number such as +12125550100)")
	}
	return es
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
		metrics:  metrics.New(metrics.Options{SessionMaxAge: cfg.SSH.MaxSessionTime + time.Minute}),
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
		return w.metrics.Sender(provider, key, s), nil
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
	case providerHTTP:
		return newSMSGateway(cfg, w)
	case providerE2SMS:
		// Its relay check is checkSMTP's, in `sspr check`.
		return newEmail2SMS(cfg)
	}
	return nil, fmt.Errorf("methods.%s: %s: delivery.%s is not available in this build", key, provider, provider)
}

func newTwilio(cfg *Config, w *deliveryWiring) (*twilio.Client, error) {
	t := cfg.Delivery.Twilio
	tc := *t
	tc.PublicURL = cfg.HTTP.PublicURL
	tc.Log = slog.New(w.log).With("provider", providerTwilio)
	tc.Observe = func(event string) { w.metrics.Callback(providerTwilio, event) }
	c, err := twilio.New(tc)
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

// sideListener is the running HTTP side listener, with the metrics
// listener when http.metrics_listen is set.
type sideListener struct {
	srv   *web.Server
	addr  string
	maddr string
	done  []chan error
}

// startSide starts the side listener when http.listen is set, and the
// metrics listener when http.metrics_listen is (nil when neither): health,
// readiness (from watch; nil: the store pinged per probe), metrics, the
// spoken CAPTCHA and the providers' webhooks. failed is called if one
// stops serving by itself.
func startSide(cfg *Config, a *app, watch *backendWatch, log *slog.Logger, failed func(error)) (*sideListener, error) {
	h := cfg.HTTP
	if h.Listen == "" && h.MetricsListen == "" {
		return nil, nil
	}
	if watch == nil {
		// No timer (sspr run): /readyz pings the store itself.
		watch = newBackendWatch(log, a.delivery.metrics, a.delivery.store, nil)
	}
	// The side listener's connections must never take the descriptors
	// SSH needs.
	if n, lowered := fitSideConns(h.MaxConns, cfg.SSH.MaxSessions, openFileLimit()); lowered {
		log.Warn("http_max_conns_lowered", "max_conns", n, "configured", h.MaxConns, "open_file_limit", openFileLimit(),
			"note", "the open-file limit keeps ssh.max_sessions descriptors for SSH; raise the limit (LimitNOFILE=) for more")
		h.MaxConns = n
	}
	srv, err := web.New(web.Config{
		Settings: h,
		Captcha:  a.engine, Store: watch, Directory: watch, Draining: a.engine.Draining,
		Metrics: a.delivery.metrics.Handler(), Audit: a.delivery.metrics,
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
	s := &sideListener{srv: srv}
	var ls []net.Listener
	listen := func(key, addr string) (net.Listener, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range ls {
				_ = l.Close()
			}
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		ls = append(ls, l)
		return l, nil
	}
	serve := func(l net.Listener, fn func(net.Listener) error) {
		done := make(chan error, 1)
		s.done = append(s.done, done)
		go func() {
			err := fn(l)
			if err != nil && failed != nil {
				failed(err)
			}
			done <- err
		}()
	}
	var side, ml net.Listener
	if h.Listen != "" {
		if side, err = listen("http.listen", h.Listen); err != nil {
			return nil, err
		}
		s.addr = side.Addr().String()
	}
	if h.MetricsListen != "" {
		if ml, err = listen("http.metrics_listen", h.MetricsListen); err != nil {
			return nil, err
		}
		s.maddr = ml.Addr().String()
	}
	if side != nil {
		serve(side, srv.Serve)
		log.Info("http_serving", "listen", s.addr, "public_url", h.PublicURL, "metrics_token", h.MetricsToken.Value() != "",
			"max_conns", h.MaxConns, "max_conns_per_source", h.MaxConnsPerSource)
	}
	if ml != nil {
		serve(ml, srv.ServeMetrics)
		log.Info("metrics_serving", "listen", s.maddr, "metrics_token", h.MetricsToken.Value() != "")
	}
	return s, nil
}

// stop ends the side listeners: requests under way may finish until ctx
// ends.
func (s *sideListener) stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	for _, d := range s.done {
		<-d
	}
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
	// http.listen is bound by check itself (checkListen).
	return nil
}
