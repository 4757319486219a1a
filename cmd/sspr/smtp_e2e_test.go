package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/mailpit"
)

var emailCodeRE = regexp.MustCompile(`\b(\d{6,10})\b`)

// waitMail waits for a message to rcpt whose subject is subject and
// returns it.
func waitMail(t *testing.T, srv *mailpit.Server, rcpt, subject string) mailpit.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		list, err := srv.Messages()
		if err == nil {
			for _, s := range list {
				if s.Subject == subject && len(s.To) == 1 && s.To[0].Address == rcpt {
					m, err := srv.Message(s.ID)
					if err != nil {
						t.Fatal(err)
					}
					return m
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	list, _ := srv.Messages()
	t.Fatalf("no message %q to %s; mailpit holds %+v", subject, rcpt, list)
	return mailpit.Message{}
}

// TestEndToEndEmailResetOverSMTP is a whole reset with the code sent by
// email: the built binary serving over SSH, the real OpenSSH client in
// tmux, and a real SMTP relay (mailpit, STARTTLS and AUTH) from which the
// test reads the code, as the person would from their inbox.
func TestEndToEndEmailResetOverSMTP(t *testing.T) {
	relay := mailpit.Start(t, mailpit.Options{Users: map[string]string{relayUser: relayPassword}, TLS: mailpit.RequireStartTLS})
	bin := buildBinary(t)
	port := freePort(t)
	cfg, dataDir := smtpConfig(t, relay, relayPassword, fmt.Sprintf(`ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
methods:
  email: smtp
`, port))

	add := exec.Command(bin, "--config", cfg, "users", "add", "nora", "--name", "Nora Example", "--email", "nora@example.com")
	add.Stdin = strings.NewReader("Quiet-Harbor-5821\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "--config", cfg, "check").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "ok    delivery.smtp "+relay.SMTPAddr()) {
		t.Fatalf("check: %v\n%s", err, out)
	}

	srv := serveBinary(t, bin, cfg, port)

	tm := newTmux(t, fmt.Sprintf("LANG=C.UTF-8 ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text("nora")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if !strings.Contains(tm.screen(), "Email my alternate email") {
		t.Fatalf("nora's methods:\n%s", tm.screen())
	}
	sent := time.Now()
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")

	mail := waitMail(t, relay, "nora@example.com", "Your password reset code")
	t.Logf("from choosing email to the code in the relay: %v", time.Since(sent))
	m := emailCodeRE.FindStringSubmatch(mail.Text)
	if m == nil || !strings.Contains(mail.HTML, m[1]) {
		t.Fatalf("no code in the email:\n%s\n%s", mail.Text, mail.HTML)
	}
	code := m[1]
	if mail.Username != relayUser || mail.From.Address != "reset@example.com" || mail.From.Name != "Password reset" {
		t.Fatalf("the email was not sent as configured: %+v", mail)
	}
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Velvet-Compass-9360"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")

	notice := waitMail(t, relay, "nora@example.com", "Your password was reset")
	if strings.Contains(notice.Text, code) || strings.Contains(notice.Text, newPassword) || strings.Contains(notice.HTML, "<a ") {
		t.Fatalf("the notice carries a secret or a link:\n%s\n%s", notice.Text, notice.HTML)
	}

	verify := exec.Command(bin, "--config", cfg, "users", "verify", "nora")
	verify.Stdin = strings.NewReader(newPassword + "\n")
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("the new password does not verify: %v\n%s", err, out)
	}
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{code, newPassword, relayPassword} {
		if strings.Contains(string(audit), secret) || strings.Contains(srv.Log(), secret) {
			t.Fatalf("a secret is in the audit trail or the log:\n%s\n%s", audit, srv.Log())
		}
	}
	if !strings.Contains(string(audit), `"step":"set_password","result":"ok"`) {
		t.Fatalf("no successful set_password in the audit:\n%s", audit)
	}
}
