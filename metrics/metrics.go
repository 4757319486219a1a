package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sspr-project/sspr/flow"
)

// DefaultSessionMaxAge is how long a session that was never seen to end
// still counts as open after its last audit record.
const DefaultSessionMaxAge = 30 * time.Minute

// AuditRecent is how long after a failed write the audit trail counts as
// failing (AuditError), unless a write has gone through since. It ends by
// itself so that an instance taken out of service for it, which then
// writes nothing, is tried again.
const AuditRecent = 5 * time.Minute

// maxTracked bounds the sessions tracked as open at once.
const maxTracked = 1 << 17

// Options tune the collectors.
type Options struct {
	// SessionMaxAge: a session with no audit record for this long stops
	// counting as open (DefaultSessionMaxAge when zero). Sessions usually
	// end with a record of their own; this covers those that end in a
	// refusal the records do not mark as the last.
	SessionMaxAge time.Duration
	// Clock ages the sessions; nil is the system clock.
	Clock flow.Clock
}

// Metrics are sspr's collectors on a registry of their own. They are safe
// for concurrent use.
type Metrics struct {
	reg        *prometheus.Registry
	started    prometheus.Counter
	steps      *prometheus.CounterVec
	refusals   *prometheus.CounterVec
	outcomes   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	callbacks  *prometheus.CounterVec
	auditLost  prometheus.Counter
	buildInfo  *prometheus.GaugeVec
	storeUp    prometheus.Gauge
	dirUp      prometheus.Gauge

	clock  flow.Clock
	maxAge time.Duration
	mu     sync.Mutex
	open   map[string]time.Time // session id -> last record

	auditMu       sync.Mutex
	auditFailedAt time.Time // the last failed audit write; zero after a good one
	auditErr      error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns the collectors, registered on a new registry together with
// the Go runtime's and the process's.
func New(o Options) *Metrics {
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = DefaultSessionMaxAge
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		clock: o.Clock, maxAge: o.SessionMaxAge, open: map[string]time.Time{},
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sspr_sessions_started_total", Help: "Sessions begun.",
		}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_steps_total", Help: "Audit records by step and result (ok, refused, ...).",
		}, []string{"step", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_refusals_total", Help: "Refused steps by step and reason.",
		}, []string{"step", "reason"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_outcomes_total", Help: "How sessions ended: reset, changed (a known password), unlocked, cancelled, suspended, too_many_attempts, expired.",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_deliveries_total", Help: "Texts, calls, emails and pushes handed to a provider, by method (text, call, email, push, as methods.* names them) and result (ok, error, timeout, canceled).",
		}, []string{"provider", "method", "kind", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sspr_delivery_duration_seconds", Help: "How long a provider took to accept a delivery.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"provider", "method"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_provider_callbacks_total", Help: "Webhooks from providers, by what they brought or why they were refused.",
		}, []string{"provider", "event"}),
		auditLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sspr_audit_write_failures_total", Help: "Audit records that could not be written; a password change or unlock that needed one was refused.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sspr_build_info", Help: "Always 1; the labels name the release, the commit and the Go version of the binary.",
		}, []string{"version", "commit", "goversion"}),
		storeUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sspr_store_up", Help: "1 when the store (Redis, or the in-process store) answered its last check, 0 when not; checked on a timer, not per scrape.",
		}),
		dirUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sspr_directory_up", Help: "1 when the directory answered its last check (LDAP: a pooled, bound connection answers; embedded: the file is readable), 0 when not; checked on a timer, not per scrape.",
		}),
	}
	// Up until a check says otherwise: a scrape before the first check
	// must not raise a store-down alert.
	m.storeUp.Set(1)
	m.dirUp.Set(1)
	m.reg.MustRegister(m.started, m.steps, m.refusals, m.outcomes, m.deliveries, m.latency, m.callbacks, m.auditLost,
		m.buildInfo, m.storeUp, m.dirUp,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sspr_sessions_open", Help: "Sessions begun and not yet ended.",
		}, m.openSessions),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetBuildInfo sets sspr_build_info{version,commit,goversion} to 1, the
// one series of it.
func (m *Metrics) SetBuildInfo(version, commit, goVersion string) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, commit, goVersion).Set(1)
}

// SetStoreUp sets sspr_store_up.
func (m *Metrics) SetStoreUp(up bool) { m.storeUp.Set(b2f(up)) }

// SetDirectoryUp sets sspr_directory_up.
func (m *Metrics) SetDirectoryUp(up bool) { m.dirUp.Set(b2f(up)) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Callback counts one webhook of provider: what it brought ("answered",
// "keyed", "no-answer") or why it was refused ("bad_signature").
func (m *Metrics) Callback(provider, event string) {
	m.callbacks.WithLabelValues(label(provider), label(event)).Inc()
}

func (m *Metrics) openSessions() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(m.clock.Now())
	return float64(len(m.open))
}

// sweep drops sessions not seen for maxAge; the caller holds mu.
func (m *Metrics) sweep(now time.Time) {
	for id, seen := range m.open {
		if now.Sub(seen) > m.maxAge {
			delete(m.open, id)
		}
	}
}

// label keeps a label value short and plain: the values come from code,
// and this makes sure no odd value can blow up the series.
func label(v string) string {
	if v == "" {
		return "none"
	}
	if len(v) > 40 {
		return "other"
	}
	for _, r := range v {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return "other"
		}
	}
	return v
}

// Sender wraps next so each delivery is timed and counted under provider
// ("demo", "twilio", "smtp", "ntfy", "duo") and method, the methods.* key
// it serves ("text", "call", "email", "push"): the names an operator
// configured, not flow's method IDs.
func (m *Metrics) Sender(provider, method string, next flow.Sender) flow.Sender {
	return &timedSender{m: m, provider: label(provider), method: label(method), next: next}
}

type timedSender struct {
	m        *Metrics
	provider string
	method   string
	next     flow.Sender
}

func (t *timedSender) Deliver(ctx context.Context, d flow.Delivery) error {
	start := time.Now()
	err := t.next.Deliver(ctx, d)
	method := t.method
	kind := "verification"
	if d.Kind == flow.KindNotice {
		kind = "notice"
	}
	t.m.latency.WithLabelValues(t.provider, method).Observe(time.Since(start).Seconds())
	t.m.deliveries.WithLabelValues(t.provider, method, kind, result(err)).Inc()
	return err
}

// Unwrap returns the sender being timed.
func (t *timedSender) Unwrap() flow.Sender { return t.next }

func result(err error) string {
	var timeout interface{ Timeout() bool }
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

// Audit wraps an audit log's handler: every record still goes to next, and
// is counted on the way by its step, result and reason.
func (m *Metrics) Audit(next slog.Handler) slog.Handler {
	return &auditHandler{m: m, next: next}
}

type auditHandler struct {
	m    *Metrics
	next slog.Handler
	// pre are attributes given with WithAttrs, outside any group.
	pre   []slog.Attr
	group bool
}

func (h *auditHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *auditHandler) Handle(ctx context.Context, r slog.Record) error {
	var rec record
	for _, a := range h.pre {
		rec.set(a)
	}
	if !h.group {
		r.Attrs(func(a slog.Attr) bool {
			rec.set(a)
			return true
		})
	}
	h.m.count(rec)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	err := h.next.Handle(ctx, r)
	h.m.auditWritten(err)
	return err
}

// auditWritten notes how the last audit write went.
func (m *Metrics) auditWritten(err error) {
	if err != nil {
		m.auditLost.Inc()
	}
	m.auditMu.Lock()
	defer m.auditMu.Unlock()
	if err != nil {
		m.auditFailedAt, m.auditErr = m.clock.Now(), err
	} else if !m.auditFailedAt.IsZero() {
		m.auditFailedAt, m.auditErr = time.Time{}, nil
	}
}

// AuditError returns why the audit trail could not be written, when its
// last write failed less than AuditRecent ago; nil when the last write
// went through, or failed longer ago. The side listener's /healthz asks
// it.
func (m *Metrics) AuditError() error {
	m.auditMu.Lock()
	defer m.auditMu.Unlock()
	if m.auditErr == nil || m.clock.Now().Sub(m.auditFailedAt) >= AuditRecent {
		return nil
	}
	return m.auditErr
}

func (h *auditHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.next = h.next.WithAttrs(as)
	if !h.group {
		n.pre = append(append([]slog.Attr(nil), h.pre...), as...)
	}
	return &n
}

func (h *auditHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.next = h.next.WithGroup(name)
	n.group = n.group || name != ""
	return &n
}

// record is what the count needs of an audit record.
type record struct {
	sid, step, result, reason, task string
}

func (r *record) set(a slog.Attr) {
	switch a.Key {
	case "sid":
		r.sid = a.Value.String()
	case "step":
		r.step = a.Value.String()
	case "result":
		r.result = a.Value.String()
	case "reason":
		r.reason = a.Value.String()
	case "task":
		r.task = a.Value.String()
	}
}

// count turns one audit record into counts. flow's records say where a
// session ends: "session started", "session cancelled", a password set or
// an account unlocked, a suspension, too many wrong CAPTCHAs, a reset
// window that expired.
func (m *Metrics) count(r record) {
	if r.step == "" || r.result == "" {
		return
	}
	step, res := label(r.step), label(r.result)
	if res == "decoy" {
		// A decoy must not be told from a known login here either: the
		// audit log keeps the difference, the metrics count both as ok.
		res = "ok"
	}
	m.steps.WithLabelValues(step, res).Inc()
	if res == "refused" {
		m.refusals.WithLabelValues(step, label(r.reason)).Inc()
	}
	outcome := ""
	switch {
	case r.step == "session" && r.result == "started":
		m.started.Inc()
		m.touch(r.sid, true)
		return
	case r.step == "session" && r.result == "cancelled":
		outcome = "cancelled"
	case r.step == "set_password" && r.result == "ok" && r.task == string(flow.TaskChange):
		outcome = "changed"
	case r.step == "set_password" && r.result == "ok":
		outcome = "reset"
	case r.step == "unlock" && r.result == "ok":
		outcome = "unlocked"
	case r.step == "suspend":
		outcome = "suspended"
	case r.step == "identify" && r.result == "refused" && r.reason == string(flow.ReasonTooManyAttempts):
		outcome = "too_many_attempts"
	case r.result == "refused" && r.reason == string(flow.ReasonSessionExpired):
		outcome = "expired"
	}
	if outcome == "" {
		m.touch(r.sid, false)
		return
	}
	m.outcomes.WithLabelValues(outcome).Inc()
	if r.sid != "" {
		m.mu.Lock()
		delete(m.open, r.sid)
		m.mu.Unlock()
	}
}

// touch marks session sid as seen now; begin adds it.
func (m *Metrics) touch(sid string, begin bool) {
	if sid == "" {
		return
	}
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.open[sid]; ok || begin {
		if !ok && len(m.open) >= maxTracked {
			m.sweep(now)
			if len(m.open) >= maxTracked {
				return
			}
		}
		m.open[sid] = now
	}
}
