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

// /healthz answers 503 with the reason while the audit trail cannot be
// written: no password can be changed on this instance meanwhile.
func TestHealthWhenAuditFails(t *testing.T) {
	a := &auditState{}
	l := start(t, web.Config{Audit: a}, memstore.New())
	if resp, body := do(t, "GET", l.base+"/healthz", nil); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	a.err = errors.New("write /var/log/sspr/audit.log: no space left on device")
	resp, body := do(t, "GET", l.base+"/healthz", nil)
	if resp.StatusCode != 503 || body != "audit trail cannot be written\n" {
		t.Fatalf("healthz with the audit trail failing: %d %q", resp.StatusCode, body)
	}
	if log := l.log.String(); !strings.Contains(log, "audit_unavailable") || !strings.Contains(log, "no space left on device") {
		t.Errorf("not logged:\n%s", log)
	}
}
