package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndToEndChangeOverOpenSSH: ssh change@ host changes a password the
// person knows on the embedded directory, through the real OpenSSH client
// in tmux: a wrong current password is refused and typed again, the new
// password must differ, the notice says "changed", and the old password
// no longer verifies. Then info@ signs in with the new password, proves
// the mobile by its texted code and reaches the list of methods; locally,
// sspr change and sspr info open the same first screens.
func TestEndToEndChangeOverOpenSSH(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\nsignin_url: https://login.example.com\n", dataDir, port))
	const oldPassword, newPassword = "Copper-Violin-3907", "Brand-New-Passw0rd-77"
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader(oldPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	srv := serveBinary(t, bin, cfg, port)
	ssh := "ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t %s@127.0.0.1; sleep 60"

	tm := newTmux(t, fmt.Sprintf(ssh, port, "change"))
	tm.waitFor("Current password")
	if s := tm.screen(); !strings.Contains(s, "Change your password") || !strings.Contains(s, "[Forgot my password]") {
		t.Fatalf("the first screen of a change:\n%s", s)
	}
	tm.text("bob")
	tm.keys("Tab")
	tm.text("Wrong-Guess-1234")
	tm.keys("Enter")
	tm.waitFor("The username or password is incorrect.")
	tm.text(oldPassword)
	tm.keys("Enter")
	tm.waitFor("Differs from your current password")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been changed")
	if s := tm.screen(); !strings.Contains(s, "https://login.example.com") {
		t.Fatalf("no sign-in URL on the last screen:\n%s", s)
	}
	if h := tm.history(); strings.Contains(h, newPassword) || strings.Contains(h, oldPassword) {
		t.Fatalf("a password is left on the terminal:\n%s", h)
	}

	verify := func(pw string) int {
		cmd := exec.Command(bin, "--config", cfg, "users", "verify", "bob")
		cmd.Stdin = strings.NewReader(pw + "\n")
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if verify(newPassword) != 0 {
		t.Fatal("the new password does not verify")
	}
	if verify(oldPassword) != 1 {
		t.Fatal("the old password still verifies")
	}
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"step":"sign_in","result":"refused","reason":"password_wrong"`, `"step":"sign_in","result":"ok"`,
		`"step":"set_password","result":"ok"`} {
		if !strings.Contains(string(audit), want) {
			t.Fatalf("no %s in the audit:\n%s", want, audit)
		}
	}
	if strings.Contains(string(audit), newPassword) || strings.Contains(string(audit), oldPassword) || strings.Contains(string(audit), "Wrong-Guess") {
		t.Fatal("the audit trail holds a password")
	}
	outbox, err := os.ReadFile(filepath.Join(dataDir, "outbox.log"))
	if err != nil || !strings.Contains(string(outbox), "Your password was changed") {
		t.Fatalf("no notice of the change in the outbox (%v):\n%s", err, outbox)
	}

	// info@ signs in with the new password, proves the mobile by the
	// texted code, and reaches the list of methods.
	info := newTmux(t, fmt.Sprintf(ssh, port, "info"))
	info.waitFor("Current password")
	if s := info.screen(); !strings.Contains(s, "Update your security info") || !strings.Contains(s, "[Forgot my password]") ||
		!strings.Contains(s, "[Change my password]") {
		t.Fatalf("info@:\n%s", s)
	}
	info.text("bob")
	info.keys("Tab")
	info.text(oldPassword)
	info.keys("Enter")
	info.waitFor("The username or password is incorrect.")
	info.text(newPassword)
	info.keys("Enter")
	info.waitFor("Please choose the contact method we should use for verification:")
	info.keys("Enter")
	info.waitFor("Enter your phone number")
	info.text("+1 212 555 0102")
	info.keys("Enter")
	info.waitFor("Enter your verification code")
	info.text(lastCode(t, filepath.Join(dataDir, "outbox.log"), "+12125550102"))
	info.keys("Enter")
	info.waitFor("[Remove]") // the demo phone says "security info" too
	if s := info.screen(); !strings.Contains(s, "Mobile phone") || !strings.Contains(s, "*****02") || !strings.Contains(s, "[Remove]") {
		t.Fatalf("the list of methods over SSH:\n%s", s)
	}
	if h := info.history(); strings.Contains(h, newPassword) || strings.Contains(h, oldPassword) {
		t.Fatalf("a password is left on the terminal:\n%s", h)
	}
	audit, err = os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(audit), `"task":"info"`) {
		t.Fatalf("no info session in the audit:\n%s", audit)
	}

	if err := srv.Stop(15e9); err != nil {
		t.Fatalf("sspr serve on SIGTERM: %v\n%s", err, srv.Log())
	}

	// Locally, sspr change and sspr info open the same first screens.
	local := newTmux(t, fmt.Sprintf("%s --config %s change; sleep 60", bin, cfg))
	local.waitFor("Current password")
	if s := local.screen(); !strings.Contains(s, "Change your password") {
		t.Fatalf("sspr change:\n%s", s)
	}
	local = newTmux(t, fmt.Sprintf("%s --config %s info; sleep 60", bin, cfg))
	local.waitFor("Current password")
	if s := local.screen(); !strings.Contains(s, "Update your security info") {
		t.Fatalf("sspr info:\n%s", s)
	}
}
