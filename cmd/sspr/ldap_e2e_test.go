package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// A full reset through the built binary over SSH (OpenSSH in tmux), with
// people in a real slapd over LDAPS: the directory refuses the current
// password with its own rule, the person picks another, and slapd then
// takes the new password and no longer the old one.
func TestEndToEndLDAPResetOverOpenSSH(t *testing.T) {
	srv := slapd.Start(t)
	bin := buildBinary(t)
	port := freePort(t)
	yaml := ldapYAML(t, srv, "", fmt.Sprintf("ssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\nsignin_url: https://login.example.com\n", port))
	cfg := writeConfig(t, yaml)
	dataDir := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(yaml, "\n", 2)[0], "data_dir:"))

	// sspr check with the binary as an operator runs it.
	if out, err := exec.Command(bin, "--config", cfg, "check").CombinedOutput(); err != nil {
		t.Fatalf("sspr check: %v\n%s", err, out)
	}

	served := serveBinary(t, bin, cfg, port)

	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text("bob@example.com")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if s := tm.screen(); !strings.Contains(s, "Text my mobile phone") || !strings.Contains(s, "Call my office phone") {
		t.Fatalf("bob's methods from slapd:\n%s", s)
	}
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	code := lastCode(t, filepath.Join(dataDir, "outbox.log"), "+12125550102")
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Enter new password")

	// The current password meets sspr's policy; slapd's ppolicy refuses it.
	tm.text(slapd.InitialPassword)
	tm.keys("Enter")
	tm.text(slapd.InitialPassword)
	tm.keys("Enter")
	// slapd: "Password is not being changed from existing value".
	tm.waitFor("This is your current password. Choose a new one.")
	if !srv.CanBind(slapd.UserDN("bob"), slapd.InitialPassword) {
		t.Fatal("the refused change touched the password")
	}

	// Empty both fields and choose another.
	clear := func() {
		for range len(slapd.InitialPassword) + 2 {
			tm.keys("BSpace")
		}
	}
	clear()
	tm.keys("Tab")
	clear()
	tm.keys("BTab")
	const newPassword = "Slapd-Brand-New-Passw0rd-88"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	start := time.Now()
	tm.keys("Enter")
	took := tm.waitFor("Your password has been reset")
	t.Logf("from the last Enter to \"Your password has been reset\" (slapd over LDAPS): %v (measured at %v)", took, time.Since(start))
	if h := tm.history(); strings.Contains(h, newPassword) || strings.Contains(h, code) {
		t.Fatalf("a secret is left on the terminal:\n%s", h)
	}

	if err := srv.Bind(slapd.UserDN("bob"), newPassword); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if srv.CanBind(slapd.UserDN("bob"), slapd.InitialPassword) {
		t.Fatal("the old password still binds")
	}

	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"step":"set_password","result":"ok"`, `Password is not being changed from existing value`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("no %s in the audit:\n%s", want, audit)
		}
	}
	for _, secret := range []string{newPassword, slapd.InitialPassword, code, slapd.ServicePassword} {
		if strings.Contains(string(audit), secret) || strings.Contains(served.Log(), secret) {
			t.Fatal("the audit trail or the server log holds a secret")
		}
	}
}
