package web_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/web"
)

type auditState struct{ err error }

func (a *auditState) AuditError() error { return a.err }

// /readyz answers 503 with the reason while the audit trail cannot be
// written: no password can be changed on this instance meanwhile. /healthz
// (liveness) still answers 200: a restart would not free the disk.
func TestReadyWhenAuditFails(t *testing.T) {
	a := &auditState{}
	l := start(t, web.Config{Audit: a}, memstore.New())
	if resp, body := do(t, "GET", l.base+"/readyz", nil); resp.StatusCode != 200 || body != "store: ok\naudit: ok\n" {
		t.Fatalf("readyz: %d %q", resp.StatusCode, body)
	}
	a.err = errors.New("write /var/log/sspr/audit.log: no space left on device")
	resp, body := do(t, "GET", l.base+"/readyz", nil)
	if resp.StatusCode != 503 || body != "store: ok\naudit: cannot be written\n" {
		t.Fatalf("readyz with the audit trail failing: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", l.base+"/healthz", nil); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz with the audit trail failing: %d %q", resp.StatusCode, body)
	}
	// The probe logs nothing: the audit failure has its own log lines
	// (audit_write_failed), once per record lost, not per probe.
	if log := l.log.String(); strings.Contains(log, "readyz") || strings.Contains(log, "no space left") {
		t.Errorf("the probe logged:\n%s", log)
	}
}
