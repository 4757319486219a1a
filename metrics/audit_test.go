package metrics_test

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sspr-project/sspr/metrics"
)

// switchWriter fails every write with ENOSPC while full.
type switchWriter struct{ full atomic.Bool }

func (w *switchWriter) Write(p []byte) (int, error) {
	if w.full.Load() {
		return 0, syscall.ENOSPC
	}
	return len(p), nil
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// Every audit record that cannot be written is counted, and AuditError
// says so until a write goes through or AuditRecent passes.
func TestAuditWriteFailures(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := metrics.New(metrics.Options{Clock: clock})
	w := &switchWriter{}
	audit := slog.New(m.Audit(slog.NewJSONHandler(w, nil)))
	write := func() error {
		return audit.Handler().Handle(t.Context(), slog.NewRecord(clock.Now(), slog.LevelInfo, "set_password", 0))
	}
	if err := write(); err != nil || m.AuditError() != nil {
		t.Fatalf("a good write: %v, %v", err, m.AuditError())
	}
	w.full.Store(true)
	audit.Info("set_password", "sid", "s1", "step", "set_password", "result", "started")
	if err := write(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("the handler hid the error: %v", err)
	}
	if err := m.AuditError(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("AuditError = %v", err)
	}
	if out := scrape(t, m); !strings.Contains(out, "sspr_audit_write_failures_total 2") {
		t.Fatalf("not counted:\n%s", grep(out, "sspr_audit"))
	}
	clock.add(metrics.AuditRecent - time.Second)
	if m.AuditError() == nil {
		t.Fatal("forgotten too soon")
	}
	clock.add(time.Second)
	if err := m.AuditError(); err != nil {
		t.Fatalf("still failing after AuditRecent: %v", err)
	}
	write()
	w.full.Store(false)
	if m.AuditError() == nil {
		t.Fatal("a new failure is not reported")
	}
	if err := write(); err != nil || m.AuditError() != nil {
		t.Fatalf("a good write after a failure: %v, %v", err, m.AuditError())
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
