// Package web is sspr's HTTP side listener: what the terminal cannot carry
// and what providers call back. It serves
//
//	GET  /healthz               liveness: 200 while the process serves
//	GET  /readyz                readiness: 200 while the store answers, the
//	                            audit trail can be written and the server is
//	                            not draining (and the directory answers, with
//	                            ready_requires_directory); 503 with the
//	                            reason when not
//	GET  /metrics               Prometheus metrics (see below)
//	GET  /captcha/{token}.wav   the spoken CAPTCHA, once per token
//	POST /hooks/...             provider webhooks, mounted by the caller
//
// and answers 404 or 405 to anything else. Links handed to people and
// providers are built only from the configured public URL, never from a
// request's Host header.
//
// The side listener is where people fetch the audio CAPTCHA (often
// through a reverse proxy that makes a loopback listener public), so the
// metrics are not for them: with metrics_listen set, /metrics, /healthz
// and /readyz have a listener of their own (ServeMetrics) and the side
// listener has no /metrics; without it, the side listener serves /metrics
// only behind the metrics token.
//
// Every listener caps its connections, in all and per source, and bounds
// the time of headers, writes and idle keep-alives, so that it cannot
// spend the descriptors the SSH listener needs.
package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// Bounds of the listener that are not settings. Providers post small
// forms; the biggest answer is a CAPTCHA of about 120 KB.
const (
	DefaultMaxBody = 64 << 10
	readTimeout    = 15 * time.Second
	healthTimeout  = 3 * time.Second
	// MetricsMaxConns caps the connections of the metrics listener, in all
	// and per source: scrapers are few.
	MetricsMaxConns = 16
)

// AudioCaptcha speaks a session's CAPTCHA once per token; *flow.Engine is
// one. Not ok with an error is a refusal (too many fetches), whose message
// a person may read.
type AudioCaptcha interface {
	CaptchaAudio(ctx context.Context, token, lang string, w io.Writer) (ok bool, err error)
}

// Pinger says whether the store answers; flow.Store is one.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Settings is the `http` block of sspr.yaml. The caller listens on Listen
// (and MetricsListen) and hands the listeners to Serve (and
// ServeMetrics); an empty Listen is no side listener. Start from Default:
// a zero limit given to New in Go takes its default.
type Settings struct {
	Listen        string        `yaml:"listen" default:"none: no side listener" doc:"host:port of the HTTP side listener: /healthz, /captcha/<token>.wav, /hooks/..., and /metrics unless http.metrics_listen is set; required for methods.call: twilio and methods.push: ntfy"`
	PublicURL     string        `yaml:"public_url" doc:"the base URL people and providers reach http.listen at; every link is built from it alone (a proxy with a path prefix must strip it)"`
	MetricsListen string        `yaml:"metrics_listen" default:"none: /metrics on http.listen, and only with http.metrics_token" doc:"host:port of a listener of its own for /metrics and /healthz, for the scraper alone (e.g. 127.0.0.1:9464); when set, http.listen serves no /metrics"`
	MetricsToken  config.Secret `yaml:"metrics_token" default:"none: /metrics open on http.metrics_listen, not served on http.listen" doc:"the bearer token GET /metrics requires; without one, http.listen serves no /metrics (people reach it for the audio CAPTCHA)"`
	// ReadyRequiresDirectory makes a directory that does not answer fail
	// /readyz. Off by default: every instance shares the directory, so
	// failing them all takes the service's own "temporarily unavailable"
	// screen away with them, and a person may still unlock or be told
	// why.
	ReadyRequiresDirectory bool `yaml:"ready_requires_directory" doc:"a directory that does not answer its last check fails GET /readyz (it is always reported there); off: every instance shares the directory, and failing them all would leave a balancer nothing to send people to, not even the service's own \"temporarily unavailable\" screen"`

	// MaxConns caps the side listener's open connections; more wait in
	// the kernel's queue, taking no descriptor of the process.
	// MaxConnsPerSource caps those of one source (an IPv4 address or an
	// IPv6 /64); more are closed at once.
	MaxConns          int `yaml:"max_conns" range:"1..100000" doc:"open connections of the side listener; more wait to be accepted (sspr serve lowers it to fit the open-file limit, keeping ssh.max_sessions descriptors for SSH)"`
	MaxConnsPerSource int `yaml:"max_conns_per_source" range:"0..10000" doc:"open connections of the side listener from one source (IPv4 address or IPv6 /64); more are closed at once; 0: no cap (behind a proxy every client is the proxy)"`
	// The times of a request: its headers, its answer, and a keep-alive
	// connection waiting for the next one.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" range:"1s..1m" doc:"time to read a request's headers (a new connection's from connect)"`
	WriteTimeout      time.Duration `yaml:"write_timeout" range:"1s..10m" doc:"time to read a request and write its answer"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" range:"1s..10m" doc:"how long a keep-alive connection may wait for its next request"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes" range:"1024..1048576" doc:"bytes of a request's header lines"`
}

// Default is the http block sspr ships with: no side listener.
func Default() Settings {
	return Settings{
		MaxConns:          256,
		MaxConnsPerSource: 16,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// withDefaults fills the limits left zero (a Config built in Go) from
// Default. MaxConnsPerSource keeps its zero: no cap.
func (s Settings) withDefaults() Settings {
	d := Default()
	if s.MaxConns <= 0 {
		s.MaxConns = d.MaxConns
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = d.WriteTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = d.IdleTimeout
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return s
}

// Validate checks the listen addresses and the public URL, with paths
// relative to the block. What other blocks need of it (webhooks need a
// listener and a public URL) is their caller's rule.
func (s *Settings) Validate() error {
	var es config.Errors
	if s.Listen != "" && !validHostPort(s.Listen) {
		es.Add("listen", "%q is not allowed (host:port, e.g. :8080 or 127.0.0.1:8080)", s.Listen)
	}
	if s.MetricsListen != "" && !validHostPort(s.MetricsListen) {
		es.Add("metrics_listen", "%q is not allowed (host:port, e.g. 127.0.0.1:9464)", s.MetricsListen)
	}
	if _, err := CheckPublicURL(s.PublicURL); err != nil {
		es.Add("public_url", "%q is not allowed (an http:// or https:// URL with no query, e.g. https://reset.example.com)", s.PublicURL)
	}
	return es.Err()
}

// validHostPort accepts host:port with a port of 0 to 65535 (the host may
// be empty: every interface).
func validHostPort(s string) bool {
	_, p, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// AuditSink says whether the audit trail could be written lately;
// *metrics.Metrics is one.
type AuditSink interface {
	// AuditError is why the audit trail failed recently, nil when it did
	// not.
	AuditError() error
}

// DirectoryState is the directory's state as last checked: a check per
// probe would put the balancer's probe rate on the directory.
type DirectoryState interface {
	// DirectoryError is why the directory's last check failed, nil when
	// it passed.
	DirectoryError() error
}

// Config is the side listener: the Settings of the file and what the
// caller adds at run time.
type Config struct {
	// Settings gives PublicURL, the base URL people and providers reach
	// the listener at (e.g. https://reset.example.com); MetricsToken,
	// which, when set, must come as "Authorization: Bearer <token>" with
	// every GET /metrics; MetricsListen, which moves /metrics off the side
	// listener; and the limits of the connections. Listen and
	// MetricsListen are the caller's to listen on.
	Settings `yaml:",inline"`
	// MaxBody bounds a request body (DefaultMaxBody when zero).
	MaxBody int64 `yaml:"-"`
	// Captcha serves the audio CAPTCHA; nil: 404.
	Captcha AudioCaptcha `yaml:"-"`
	// Store is pinged by /readyz; nil: not asked. /readyz does not log
	// what it finds: a probe every few seconds would flood the log, so the
	// caller's Pinger logs the changes.
	Store Pinger `yaml:"-"`
	// Audit is asked by /readyz: while the audit trail fails, no password
	// can be changed here. nil: not asked.
	Audit AuditSink `yaml:"-"`
	// Directory is the directory's state as last checked, asked by
	// /readyz (it fails readiness only with ReadyRequiresDirectory); nil:
	// not asked.
	Directory DirectoryState `yaml:"-"`
	// Draining reports that the server is shutting down: /readyz fails
	// so that a balancer sends new people elsewhere. nil: never.
	Draining func() bool `yaml:"-"`
	// Metrics serves /metrics; nil: 404.
	Metrics http.Handler `yaml:"-"`
	// Log receives errors, never a token or a secret; nil discards them.
	Log *slog.Logger `yaml:"-"`
}

// Server is the side listener, and the metrics listener when there is
// one.
type Server struct {
	cfg    Config
	public string
	token  string // the metrics token, "" for none
	log    *slog.Logger
	mux    *http.ServeMux
	srv    *http.Server
	msrv   *http.Server // the metrics listener's
	// sideMetrics: the side listener serves /metrics (no metrics_listen,
	// and a token).
	sideMetrics bool

	mu      sync.Mutex
	mounted map[string]bool
}

// New checks cfg and builds the routes; Mount adds provider webhooks.
func New(cfg Config) (*Server, error) {
	public, err := CheckPublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	// A token given but not read yet (package config reads it at load)
	// is read here: a token that cannot be read never leaves /metrics
	// open.
	tok := cfg.MetricsToken
	if tok.IsSet() && tok.Value() == "" {
		if err := tok.Resolve("metrics_token"); err != nil {
			return nil, fmt.Errorf("web: metrics_token: %w", err)
		}
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	cfg.Settings = cfg.Settings.withDefaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, public: public, token: tok.Value(), log: log, mux: http.NewServeMux(), mounted: map[string]bool{}}
	s.mux.HandleFunc("GET /healthz", s.live)
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.sideMetrics = cfg.MetricsListen == "" && cfg.Metrics != nil && s.token != ""
	s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !s.sideMetrics {
			http.NotFound(w, r)
			return
		}
		s.metrics(w, r)
	})
	s.mux.HandleFunc("GET /captcha/{file}", s.captcha)
	s.srv = s.httpServer(s.Handler())
	mm := http.NewServeMux()
	mm.HandleFunc("GET /healthz", s.live)
	mm.HandleFunc("GET /readyz", s.ready)
	mm.HandleFunc("GET /metrics", s.metrics)
	s.msrv = s.httpServer(s.headers(mm))
	return s, nil
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	c := s.cfg.Settings
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       max(readTimeout, c.ReadHeaderTimeout),
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// CheckPublicURL accepts an absolute http(s) URL with no query, fragment or
// credentials and returns it without a trailing slash. Empty is allowed
// (no links are made).
func CheckPublicURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("public URL %q: want an http:// or https:// URL with no query, e.g. https://reset.example.com", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// AudioCaptchaURL is the link to the spoken CAPTCHA behind token:
// publicURL + "/captcha/" + token + ".wav". It is empty when either is.
func AudioCaptchaURL(publicURL, token string) string {
	if publicURL == "" || token == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/captcha/" + url.PathEscape(token) + ".wav"
}

// PublicURL returns the configured base URL, without a trailing slash.
func (s *Server) PublicURL() string { return s.public }

// Mount serves h at pattern, POST and a path under /hooks/ in the syntax of
// http.ServeMux (e.g. "POST /hooks/ntfy/" or "POST /hooks/x/{token}"), for
// a provider's webhooks. The body is bounded like every other request's.
func (s *Server) Mount(pattern string, h http.Handler) (err error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method != http.MethodPost || !strings.HasPrefix(path, "/hooks/") || strings.ContainsAny(path, " \t") {
		return fmt.Errorf("web: mount %q: want \"POST /hooks/<provider>/...\"", pattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted[pattern] {
		return fmt.Errorf("web: %q is mounted already", pattern)
	}
	// ServeMux panics on a pattern it cannot take or that conflicts.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("web: mount %q: %v", pattern, p)
		}
	}()
	s.mux.Handle(pattern, h)
	s.mounted[pattern] = true
	return nil
}

// Handler returns the routes with the limits and headers every answer
// gets; Serve uses it.
func (s *Server) Handler() http.Handler { return s.headers(s.mux) }

func (s *Server) headers(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'")
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		if r.ContentLength > s.cfg.MaxBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Serve answers on l until Shutdown; it returns nil after a shutdown.
// /metrics is served there only when MetricsListen is empty and a token
// is set.
func (s *Server) Serve(l net.Listener) error {
	c := s.cfg.Settings
	if s.cfg.Metrics != nil && c.MetricsListen == "" && s.token == "" {
		s.log.Warn("metrics_not_served", "listen", l.Addr().String(),
			"note", "http.listen serves /metrics only with http.metrics_token; or set http.metrics_listen (e.g. 127.0.0.1:9464) for the scraper")
	}
	return s.serve(s.srv, newLimitListener(l, c.MaxConns, c.MaxConnsPerSource))
}

// ServeMetrics answers /metrics, /healthz and /readyz on l until Shutdown, with
// at most MetricsMaxConns connections; it returns nil after a shutdown.
func (s *Server) ServeMetrics(l net.Listener) error {
	return s.serve(s.msrv, newLimitListener(l, MetricsMaxConns, MetricsMaxConns))
}

func (s *Server) serve(srv *http.Server, l net.Listener) error {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

// Shutdown stops accepting, lets the requests under way finish until ctx
// ends, then closes what is left; on both listeners.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range []*http.Server{s.srv, s.msrv} {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
			errs = append(errs, fmt.Errorf("web: shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}

// live is the liveness probe: it answers while the process serves. It
// checks nothing beyond that on purpose: an orchestrator restarts what
// fails it, and a restart mends no Redis outage and no full disk; it only
// drops the sessions under way.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// ready is the readiness probe: 200 when a new person can reset here, 503
// when not, one line per part either way ("store: ok", "store:
// unavailable", ...). It logs nothing; see Config.Store.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var lines []string
	ok := true
	part := func(name string, err error, required bool) {
		switch {
		case err == nil:
			lines = append(lines, name+": ok")
		case required:
			ok = false
			lines = append(lines, name+": "+err.Error())
		default:
			lines = append(lines, name+": "+err.Error()+" (not required: http.ready_requires_directory is off)")
		}
	}
	if s.cfg.Draining != nil && s.cfg.Draining() {
		part("server", errors.New("draining"), true)
	}
	if s.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		var err error
		if s.cfg.Store.Ping(ctx) != nil {
			err = errors.New("unavailable")
		}
		part("store", err, true)
	}
	if s.cfg.Audit != nil {
		var err error
		if s.cfg.Audit.AuditError() != nil {
			err = errors.New("cannot be written")
		}
		part("audit", err, true)
	}
	if s.cfg.Directory != nil {
		var err error
		if s.cfg.Directory.DirectoryError() != nil {
			err = errors.New("unavailable")
		}
		part("directory", err, s.cfg.ReadyRequiresDirectory)
	}
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = io.WriteString(w, strings.Join(append(lines, ""), "\n"))
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	if want := s.token; want != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sspr metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

// captcha serves /captcha/<token>.wav once. The token is spent by the
// first request, whatever happens to the answer: 404 when it is unknown,
// spent or its picture gone, 429 when the fetch is over a limit, 503 when
// the limits cannot be counted.
func (s *Server) captcha(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".wav")
	if !ok || s.cfg.Captcha == nil || !plainToken(token) {
		http.NotFound(w, r)
		return
	}
	var buf bytes.Buffer
	found, err := s.cfg.Captcha.CaptchaAudio(r.Context(), token, acceptLanguage(r.Header.Get("Accept-Language")), &buf)
	if !found {
		var fe *flow.Error
		switch {
		case errors.As(err, &fe) && fe.Reason == flow.ReasonRateLimited:
			w.Header().Set("Retry-After", fmt.Sprint(int(fe.RetryAfter.Round(time.Second)/time.Second)))
			http.Error(w, fe.Message, http.StatusTooManyRequests)
		case err != nil:
			http.Error(w, "the audio could not be made", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
		return
	}
	if err != nil {
		s.log.Error("captcha_audio", "error", err.Error())
		http.Error(w, "the audio could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `inline; filename="captcha.wav"`)
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	_, _ = buf.WriteTo(w)
}

// plainToken accepts what flow hands out: lower-case hex, 16 to 64 digits.
func plainToken(t string) bool {
	if len(t) < 16 || len(t) > 64 {
		return false
	}
	for _, r := range t {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// acceptLanguage returns the first language of an Accept-Language header
// ("pt-BR,pt;q=0.9" is "pt"), for the CAPTCHA's voice.
func acceptLanguage(h string) string {
	first, _, _ := strings.Cut(h, ",")
	first, _, _ = strings.Cut(first, ";")
	first, _, _ = strings.Cut(strings.TrimSpace(first), "-")
	first = strings.ToLower(first)
	if len(first) < 2 || len(first) > 3 {
		return "en"
	}
	for _, r := range first {
		if r < 'a' || r > 'z' {
			return "en"
		}
	}
	return first
}
