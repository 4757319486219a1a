package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/sspr-project/sspr/flow"
)

// With the audit trail on a full disk (/dev/full), the wired instance
// refuses the password write calmly, keeps the old password in the users
// file, logs an ERROR, counts the failure and reports it on /readyz
// (/healthz, liveness, stays 200: a restart frees no disk).
func TestAuditOnFullDiskRefusesTheReset(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	dir := withUsers(t, t.TempDir())
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\ncaptcha: {enabled: false}\naudit:\n  path: /dev/full\nhttp:\n  listen: 127.0.0.1:0\n  metrics_token: test-metrics-token\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var oplog bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&oplog, nil))
	a.delivery.log.set(log.Handler())
	side, err := startSide(cfg, a, nil, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer side.stop(context.Background())

	ctx := context.Background()
	s, err := a.engine.Begin(ctx, flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "carol", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Choose(ctx, flow.TOTPApp); err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode("ONZXA4RAMRSW23ZAMNQXE33MEBVWK6JB", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SubmitCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	// The demo asks an account with the app for a second proof: the
	// mailbox, whose code lands on the demo phone.
	if err := s.Choose(ctx, flow.EmailAltern); err != nil {
		t.Fatal(err)
	}
	inbox := a.phone.Inbox(s.ID())
	if len(inbox) == 0 {
		t.Fatal("no email on the demo phone")
	}
	if err := s.SubmitCode(ctx, regexp.MustCompile(`\d{6,}`).FindString(inbox[len(inbox)-1].Text)); err != nil {
		t.Fatal(err)
	}
	const newPass = "Tundra-Obelisk-Wren-8152"
	err = s.SetPassword(ctx, newPass, newPass)
	if flow.ReasonOf(err) != flow.ReasonUnavailable || flow.IsFinal(err) || !strings.Contains(err.Error(), "temporarily unavailable") {
		t.Fatalf("SetPassword with the audit trail on a full disk: %v", err)
	}
	if s.State().Step != flow.StepSetPassword {
		t.Fatalf("step %v", s.State().Step)
	}
	if ok, err := a.dir.VerifyPassword("carol", "Harbor-Quartz-5163"); !ok || err != nil {
		t.Fatalf("the old password no longer works: %v, %v", ok, err)
	}
	if l := oplog.String(); !strings.Contains(l, `"level":"ERROR","msg":"audit_write_failed"`) || !strings.Contains(l, "no space left on device") {
		t.Fatalf("operational log:\n%s", l)
	}
	get := func(path string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+side.addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The side listener serves /metrics behind the token only.
		req.Header.Set("Authorization", "Bearer test-metrics-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "audit: cannot be written") {
		t.Fatalf("readyz: %d %q", code, body)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "sspr_audit_write_failures_total ") || strings.Contains(body, "sspr_audit_write_failures_total 0") {
		t.Fatalf("metrics: no failures counted")
	}
}
