package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/mailpit"
)

const (
	relayUser     = "relay-user"
	relayPassword = "Relay-Pa55word-Secret"
)

func TestSMTPConfigRefusals(t *testing.T) {
	base := "methods:\n  email: smtp\ndelivery:\n  smtp:\n"
	cases := []struct {
		body, want string
	}{
		{"methods:\n  email: smtp\n", "delivery.smtp: is missing"},
		{base + "    from: reset@example.com\n", "delivery.smtp.host"},
		{base + "    host: smtp.example.com\n", "delivery.smtp.from"},
		{base + "    host: smtp.example.com\n    from: not an address\n", "delivery.smtp.from"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    tls: ssl\n", "delivery.smtp.tls"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    tls: none\n", "delivery.smtp.tls"},
		{base + "    host: 127.0.0.1\n    from: reset@example.com\n    tls: none\n    ca_file: /x.pem\n", "delivery.smtp.ca_file"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    port: 70000\n", "delivery.smtp.port"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    username: u\n    password: " + relayPassword + "\n    password_env: X\n", "delivery.smtp.password"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    password: " + relayPassword + "\n", "delivery.smtp.username"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    timeout: 5m\n", "delivery.smtp.timeout"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    signin_url: javascript:alert(1)\n", "delivery.smtp"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    helo: bad name\n", "delivery.smtp"},
		{base + "    host: smtp.example.com\n    from: reset@example.com\n    hots: x\n", "hots"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
		} else if strings.Contains(err.Error(), relayPassword) {
			t.Errorf("the error carries the password: %v", err)
		}
	}
	body := base + "    host: smtp.example.com\n    from: Password reset <reset@example.com>\n    username: u\n    password_env: SSPR_TEST_SMTP_PW\n"
	if _, err := loadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), "delivery.smtp.password: the environment variable SSPR_TEST_SMTP_PW is not set") {
		t.Fatalf("unset password variable: %v", err)
	}
	t.Setenv("SSPR_TEST_SMTP_PW", relayPassword)
	cfg, err := loadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSMTP(cfg)
	if err != nil || s.Addr() != "smtp.example.com:587" {
		t.Fatalf("newSMTP: %v %v", s, err)
	}
}

// smtpConfig is a config whose delivery.smtp points at srv, with the
// password in a file; extra is appended.
func smtpConfig(t *testing.T, srv *mailpit.Server, password, extra string) (path, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`data_dir: %s
delivery:
  smtp:
    host: %s
    port: %d
    from: Password reset <reset@example.com>
    username: %s
    password_file: %s
    ca_file: %s
    timeout: 5s
%s`, dataDir, srv.SMTPHost, srv.SMTPPort, relayUser, pwFile, srv.CAFile, extra)
	return writeConfig(t, body), dataDir
}

func TestCheckSMTPRelay(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{relayUser: relayPassword}, TLS: mailpit.RequireStartTLS})
	// The demo methods stay; the relay is checked all the same.
	cfg, _ := smtpConfig(t, srv, relayPassword, "")
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "ivy"); err != nil {
		t.Fatal(err)
	}
	out, _, err := sspr(t, cfg, "", "check")
	want := fmt.Sprintf("ok    delivery.smtp %s (tls starttls, as %s) (not used: methods.email is demo)", srv.SMTPAddr(), relayUser)
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("check: %v\n%s", err, out)
	}
	time.Sleep(100 * time.Millisecond)
	if msgs, _ := srv.Messages(); len(msgs) != 0 {
		t.Fatalf("check sent %d messages", len(msgs))
	}

	wrong, _ := smtpConfig(t, srv, "Wrong-Pa55word-Guess", "")
	if _, _, err := sspr(t, wrong, "Long-Enough-Pass1\n", "users", "add", "ivy"); err != nil {
		t.Fatal(err)
	}
	out, _, err = sspr(t, wrong, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  delivery.smtp") || !strings.Contains(out, "authentication refused") {
		t.Fatalf("check with a wrong password: %v\n%s", err, out)
	}
	if strings.Contains(out, "Wrong-Pa55word-Guess") || strings.Contains(out, relayPassword) {
		t.Fatalf("check shows the password:\n%s", out)
	}

	srv.Stop()
	start := time.Now()
	out, _, err = sspr(t, cfg, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "connection refused") {
		t.Fatalf("check with the relay down: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("check took %v with the relay down", d)
	}
}

func TestNewSMTPDeliversThroughTheRelay(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{relayUser: relayPassword}, TLS: mailpit.RequireStartTLS})
	path, _ := smtpConfig(t, srv, relayPassword, "    signin_url: https://login.example.com/\n")
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), flow.Delivery{Method: flow.EmailAltern, To: "frank@example.com",
		Text: "Your password reset verification code is 31415926. It expires in 5 minutes."}); err != nil {
		t.Fatal(err)
	}
	list := srv.WaitMessages(t, 1, 5*time.Second)
	m, err := srv.Message(list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.From.Name != "Password reset" || m.Username != relayUser || !strings.Contains(m.Text, "31415926") || !strings.Contains(m.HTML, `href="https://login.example.com/"`) {
		t.Fatalf("got %+v", m)
	}
}
