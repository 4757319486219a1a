package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/mailpit"
)

// TestEndToEndSecurityInfo: the built binary's "sspr info" in a real
// terminal (tmux): bob signs in with his password, proves his mobile by
// the texted code (the demo outbox), adds an alternate email after typing
// the code mailed to it (a real relay, mailpit), removes his mobile, and
// may not remove the email, his last method; the next reset offers
// "Email my alternate email".
func TestEndToEndSecurityInfo(t *testing.T) {
	relay := mailpit.Start(t, mailpit.Options{Users: map[string]string{relayUser: relayPassword}, TLS: mailpit.RequireStartTLS})
	bin := buildBinary(t)
	cfg, dataDir := smtpConfig(t, relay, relayPassword, "captcha:\n  enabled: false\nmethods:\n  text: demo\n  email: smtp\n")
	const password = "Copper-Violin-3907"
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}

	tm := newTmux(t, fmt.Sprintf("LANG=C.UTF-8 %s --config %s info; sleep 60", bin, cfg))
	tm.waitFor("Current password")
	tm.text("bob")
	tm.keys("Enter")
	tm.text(password)
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	tm.keys("Enter")
	tm.waitFor("Enter your phone number")
	tm.text("+1 212 555 0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	textCode := lastCode(t, filepath.Join(dataDir, "outbox.log"), "+12125550102")
	tm.text(textCode)
	tm.keys("Enter")
	tm.waitFor("Your security info")

	// Change mobile, Remove mobile, Add app, Add email.
	focus(t, tm, "Alternate email", "[Add]")
	tm.keys("Enter")
	tm.waitFor("New email address")
	tm.text("bob@example.org")
	tm.keys("Enter")
	tm.waitFor("b***@example.org")
	mail := waitMail(t, relay, "bob@example.org", "Your security info code")
	m := emailCodeRE.FindStringSubmatch(mail.Text)
	if m == nil {
		t.Fatalf("no code in the email:\n%s", mail.Text)
	}
	mailCode := m[1]
	tm.text(mailCode)
	tm.keys("Enter")
	tm.waitFor("Saved. A notice went to your addresses.")
	notice := waitMail(t, relay, "bob@example.org", "Your security info was changed")
	if !strings.Contains(notice.Text, "alternate email added") || strings.Contains(notice.Text, mailCode) {
		t.Fatalf("the notice:\n%s", notice.Text)
	}
	if !strings.Contains(tm.screen(), "[Remove]") {
		t.Fatalf("no Remove:\n%s", tm.screen())
	}

	// Remove the mobile: the list starts again at its first action.
	focus(t, tm, "Mobile phone", "[Remove]")
	tm.keys("Enter")
	waitGone(t, tm, "*****02")
	tm.waitFor("Your security info")
	focus(t, tm, "Alternate email", "[Remove]")
	tm.keys("Enter")
	tm.waitFor("You can't remove your last method")

	users, err := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(users), "email: bob@example.org") || strings.Contains(string(users), "mobile:") {
		t.Fatalf("the users file:\n%s", users)
	}
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, textCode, mailCode} {
		if strings.Contains(string(audit), secret) {
			t.Fatalf("a secret is in the audit trail:\n%s", audit)
		}
	}
	if n := strings.Count(string(audit), `"msg":"set_methods","sid"`); n < 2 {
		t.Fatalf("%d set_methods records in the audit:\n%s", n, audit)
	}

	reset := newTmux(t, fmt.Sprintf("LANG=C.UTF-8 %s --config %s run; sleep 60", bin, cfg))
	reset.waitFor("Email or Username")
	reset.text("bob")
	reset.keys("Enter")
	reset.waitFor("Please choose the contact method we should use for verification:")
	if s := reset.screen(); !strings.Contains(s, "Email my alternate email") || strings.Contains(s, "Text my mobile phone") {
		t.Fatalf("the next reset offers:\n%s", s)
	}
}

// waitGone waits until the screen no longer shows s.
func waitGone(t *testing.T, tm *tmuxTerm, s string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if !strings.Contains(tm.screen(), s) {
			return
		}
		tmuxPause()
	}
	t.Fatalf("the screen still shows %q:\n%s", s, tm.screen())
}

func tmuxPause() { time.Sleep(20 * time.Millisecond) }

// focus presses Down, one key at a time, until the terminal cursor (which
// the wizard puts on the focused action) is on action in the row of label.
func focus(t *testing.T, tm *tmuxTerm, label, action string) {
	t.Helper()
	for presses := 0; presses < 12; presses++ {
		before := tm.run("display", "-p", "#{cursor_x},#{cursor_y}")
		lines := strings.Split(tm.screen(), "\n")
		var x, y int
		if _, err := fmt.Sscanf(before, "%d,%d", &x, &y); err == nil && y < len(lines) {
			row := lines[y]
			if strings.Contains(row, label) && strings.HasPrefix(string([]rune(row)[min(x, len([]rune(row))):]), action) {
				return
			}
		}
		tm.keys("Down")
		for i := 0; i < 500 && tm.run("display", "-p", "#{cursor_x},#{cursor_y}") == before; i++ {
			tmuxPause()
		}
	}
	t.Fatalf("the focus never reached %s of %s:\n%s", action, label, tm.screen())
}
