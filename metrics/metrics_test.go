package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/memstore"
)

type oneUser struct{}

var ana = flow.User{ID: "uid=ana", Login: "ana", Mobile: "+1 212 555 0102"}

func (oneUser) LookupUser(_ context.Context, login string) (flow.User, error) {
	if login == "ana" {
		return ana, nil
	}
	return flow.User{}, flow.ErrUnknownUser
}

func (oneUser) SetPassword(context.Context, flow.User, string) error { return nil }

// phone keeps the texts; failNext makes the next delivery fail.
type phone struct {
	mu       sync.Mutex
	texts    []string
	failNext bool
}

func (p *phone) Deliver(_ context.Context, d flow.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failNext {
		p.failNext = false
		return errors.New("provider down")
	}
	p.texts = append(p.texts, d.Text)
	return nil
}

var codeRE = regexp.MustCompile(`(\d{8})`)

func (p *phone) code() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return codeRE.FindString(p.texts[len(p.texts)-1])
}

// value is the value of the series name{labels} (a counter, a gauge or a
// histogram's count), 0 when absent.
func value(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// A reset walked through the engine shows in the metrics with the right
// labels: the session, its steps, a refusal, a failed and a good delivery,
// the outcome; and a cancelled session next to it.
func TestWalkedReset(t *testing.T) {
	m := metrics.New(metrics.Options{})
	var audit bytes.Buffer
	ph := &phone{}
	eng, err := flow.NewEngine(flow.Config{
		CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{5}, 32),
		Limits: flow.Limits{
			SendGap:       time.Millisecond,
			IdentifyFloor: time.Millisecond, IdentifyJitter: time.Millisecond, SendFloor: time.Millisecond, SendJitter: time.Millisecond,
		},
	}, flow.Deps{
		Directory: oneUser{}, Store: memstore.New(),
		SMS:   m.Sender("twilio", "text", ph),
		Audit: wrapped(m, &audit),
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := m.Registry()
	ctx := context.Background()

	s, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "sspr_sessions_open", nil); got != 2 {
		t.Fatalf("sessions open %v, want 2", got)
	}
	other.Cancel()
	if err := s.Identify(ctx, "ana", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	ph.failNext = true
	if err := s.ConfirmNumber(ctx, "+12125550102"); flow.ReasonOf(err) != flow.ReasonUnavailable {
		t.Fatalf("the failed send: %v", err)
	}
	if err := s.ConfirmNumber(ctx, "+12125550102"); err != nil {
		t.Fatal(err)
	}
	if err := s.SubmitCode(ctx, "00000000"); flow.ReasonOf(err) != flow.ReasonCodeWrong {
		t.Fatalf("a wrong code: %v", err)
	}
	if err := s.SubmitCode(ctx, ph.code()); err != nil {
		t.Fatal(err)
	}
	const pw = "Quartz-Meadow-Lantern-8417x"
	if err := s.SetPassword(ctx, pw, pw); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sspr_sessions_started_total", nil, 2},
		{"sspr_sessions_open", nil, 0},
		{"sspr_steps_total", map[string]string{"step": "identify", "result": "ok"}, 1},
		{"sspr_steps_total", map[string]string{"step": "send", "result": "ok"}, 1},
		{"sspr_steps_total", map[string]string{"step": "verify", "result": "ok"}, 1},
		{"sspr_steps_total", map[string]string{"step": "set_password", "result": "ok"}, 1},
		{"sspr_refusals_total", map[string]string{"step": "verify", "reason": "code_wrong"}, 1},
		{"sspr_refusals_total", map[string]string{"step": "confirm_number", "reason": "unavailable"}, 1},
		{"sspr_outcomes_total", map[string]string{"outcome": "reset"}, 1},
		{"sspr_outcomes_total", map[string]string{"outcome": "cancelled"}, 1},
		{"sspr_deliveries_total", map[string]string{"provider": "twilio", "method": "text", "kind": "verification", "result": "ok"}, 1},
		{"sspr_deliveries_total", map[string]string{"provider": "twilio", "method": "text", "kind": "verification", "result": "error"}, 1},
		// The notice after the reset.
		{"sspr_deliveries_total", map[string]string{"provider": "twilio", "method": "text", "kind": "notice", "result": "ok"}, 1},
		{"sspr_delivery_duration_seconds", map[string]string{"provider": "twilio", "method": "text"}, 3},
	} {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// The exposition names no person, session or address.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, x := range []string{"ana", s.ID(), "192.0.2.9", pw} {
		if strings.Contains(body, x) {
			t.Errorf("the metrics hold %q", x)
		}
	}
	if !strings.Contains(body, `sspr_outcomes_total{outcome="reset"} 1`) {
		t.Errorf("exposition:\n%s", body)
	}
	// And every record still reached the audit log.
	if n := strings.Count(audit.String(), "\n"); n < 8 {
		t.Errorf("%d audit lines", n)
	}
}

// A session never seen to end stops counting as open after SessionMaxAge.
func TestOpenSessionsAge(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := metrics.New(metrics.Options{SessionMaxAge: time.Minute, Clock: clock})
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{5}, 32)},
		flow.Deps{Directory: oneUser{}, Store: memstore.New(), Audit: wrapped(m, io.Discard), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Begin(context.Background(), flow.Origin{Channel: flow.Local, Remote: "tty1"}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m.Registry(), "sspr_sessions_open", nil); got != 1 {
		t.Fatalf("open %v", got)
	}
	clock.add(2 * time.Minute)
	if got := value(t, m.Registry(), "sspr_sessions_open", nil); got != 0 {
		t.Fatalf("open %v after the max age", got)
	}
}

func TestSenderResults(t *testing.T) {
	m := metrics.New(metrics.Options{})
	for _, err := range []error{nil, context.DeadlineExceeded, context.Canceled, errors.New("x")} {
		s := m.Sender("demo", "call", senderFunc(func(context.Context, flow.Delivery) error { return err }))
		if got := s.Deliver(context.Background(), flow.Delivery{Method: flow.CallOffice, Kind: flow.KindNotice}); got != err {
			t.Fatalf("Deliver returned %v, want %v", got, err)
		}
	}
	for _, r := range []string{"ok", "timeout", "canceled", "error"} {
		if got := value(t, m.Registry(), "sspr_deliveries_total", map[string]string{"provider": "demo", "method": "call", "kind": "notice", "result": r}); got != 1 {
			t.Errorf("%s: %v", r, got)
		}
	}
	m.Callback("twilio", "bad_signature")
	m.Callback("twilio", "Weird Value!")
	if got := value(t, m.Registry(), "sspr_provider_callbacks_total", map[string]string{"provider": "twilio", "event": "other"}); got != 1 {
		t.Errorf("an odd label value was not folded: %v", got)
	}
}

// wrapped is the audit logger as sspr wires it: flow's JSON lines, counted
// on their way.
func wrapped(m *metrics.Metrics, w io.Writer) *slog.Logger {
	return slog.New(m.Audit(flow.NewAuditLogger(w).Handler()))
}

type senderFunc func(context.Context, flow.Delivery) error

func (f senderFunc) Deliver(ctx context.Context, d flow.Delivery) error { return f(ctx, d) }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestDecoyCountedAsOK: an unknown login (the decoy path) and a known one
// are the same series, so a reader of /metrics cannot count decoys.
func TestDecoyCountedAsOK(t *testing.T) {
	m := metrics.New(metrics.Options{})
	var audit bytes.Buffer
	eng, err := flow.NewEngine(flow.Config{
		CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{5}, 32),
		Limits: flow.Limits{IdentifyFloor: time.Millisecond, IdentifyJitter: time.Millisecond},
	}, flow.Deps{Directory: oneUser{}, Store: memstore.New(), SMS: m.Sender("demo", "text", &phone{}), Audit: wrapped(m, &audit)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, login := range []string{"ana", "nobody", "ghost"} {
		s, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.9:1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Identify(ctx, login, ""); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(audit.String(), `"result":"decoy"`) != 2 {
		t.Fatalf("the audit log lost the decoys:\n%s", audit.String())
	}
	if got := value(t, m.Registry(), "sspr_steps_total", map[string]string{"step": "identify", "result": "ok"}); got != 3 {
		t.Errorf("identify ok = %v, want 3 (one known login, two decoys)", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); strings.Contains(body, "decoy") {
		t.Errorf("the exposition names decoys:\n%s", grepLines(body, "decoy"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// build_info is one series at 1; the up gauges start at 1 (no alert
// before the first check) and follow what they are told.
func TestBuildInfoAndUpGauges(t *testing.T) {
	m := metrics.New(metrics.Options{})
	reg := m.Registry()
	m.SetBuildInfo("v1.2.3", "abc123", "go1.25.0")
	m.SetBuildInfo("v1.2.4", "def456", "go1.25.0")
	if got := value(t, reg, "sspr_build_info", map[string]string{"version": "v1.2.4", "commit": "def456", "goversion": "go1.25.0"}); got != 1 {
		t.Errorf("build_info %v", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if n := strings.Count(rec.Body.String(), "sspr_build_info{"); n != 1 {
		t.Errorf("%d build_info series:\n%s", n, rec.Body.String())
	}
	for _, name := range []string{"sspr_store_up", "sspr_directory_up"} {
		if got := value(t, reg, name, nil); got != 1 {
			t.Errorf("%s before any check = %v, want 1", name, got)
		}
	}
	m.SetStoreUp(false)
	m.SetDirectoryUp(false)
	if value(t, reg, "sspr_store_up", nil) != 0 || value(t, reg, "sspr_directory_up", nil) != 0 {
		t.Error("down not shown")
	}
	m.SetStoreUp(true)
	if value(t, reg, "sspr_store_up", nil) != 1 {
		t.Error("up again not shown")
	}
}

// A change of a known password ends as "changed", not as a reset.
func TestChangeCountedAsChanged(t *testing.T) {
	m := metrics.New(metrics.Options{})
	var audit bytes.Buffer
	eng, err := flow.NewEngine(flow.Config{
		CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{5}, 32),
		Limits: flow.Limits{IdentifyFloor: time.Millisecond, IdentifyJitter: time.Millisecond},
	}, flow.Deps{Directory: knownPassword{}, Store: memstore.New(), Audit: wrapped(m, &audit)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := eng.BeginTask(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.9:1"}, flow.TaskChange)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SignIn(ctx, "ana", "Old-Passw0rd-Of-Ana", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "Brand-New-Horse-Battery-42", "Brand-New-Horse-Battery-42"); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m.Registry(), "sspr_outcomes_total", map[string]string{"outcome": "changed"}); got != 1 {
		t.Errorf("changed = %v, want 1\n%s", got, audit.String())
	}
	if got := value(t, m.Registry(), "sspr_outcomes_total", map[string]string{"outcome": "reset"}); got != 0 {
		t.Errorf("reset = %v, want 0", got)
	}
	if !strings.Contains(audit.String(), `"step":"session","result":"started","reason":"","task":"change"`) {
		t.Errorf("the session's start does not name the task:\n%s", audit.String())
	}
}

// knownPassword is oneUser whose password can be changed.
type knownPassword struct{ oneUser }

func (knownPassword) CheckPassword(_ context.Context, _ flow.User, pw string) error {
	if pw != "Old-Passw0rd-Of-Ana" {
		return flow.ErrWrongPassword
	}
	return nil
}

func (knownPassword) ChangePassword(context.Context, flow.User, string, string) error { return nil }
