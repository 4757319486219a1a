package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var helpdeskCodeRE = regexp.MustCompile(`^[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}$`)

// issueHelpdesk runs sspr helpdesk code and returns the code: the last
// line of its output.
func issueHelpdesk(t *testing.T, bin, cfg string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"--config", cfg, "helpdesk", "code"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("helpdesk code: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	code := lines[len(lines)-1]
	if !helpdeskCodeRE.MatchString(code) {
		t.Fatalf("the last line is not a code:\n%s", out)
	}
	return code
}

// sshHelpdesk connects to port with the OpenSSH client in tmux, names
// login and chooses the helpdesk code, the last entry of the list.
func sshHelpdesk(t *testing.T, port int, login string) *tmuxTerm {
	t.Helper()
	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text(login)
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	tm.waitFor("Enter a code from the helpdesk")
	tm.keys("Up") // the list wraps: the last entry
	tm.keys("Enter")
	tm.waitFor("Enter the code the helpdesk gave you.")
	return tm
}

// A person with nothing registered resets over a real SSH client with a
// code issued by sspr helpdesk code; the code works once; a second
// instance sharing the redis-server honours it and then refuses it; wrong
// codes count toward the suspension.
func TestEndToEndHelpdeskCodeOverOpenSSH(t *testing.T) {
	bin := buildBinary(t)
	redisAddr := startRedis(t)
	shared := t.TempDir()
	var cfgs []string
	var ports []int
	for range 2 {
		dataDir, port := t.TempDir(), freePort(t)
		cfgs = append(cfgs, writeConfig(t, fmt.Sprintf(`data_dir: %s
secret_key_file: %s/secret.key
directory:
  embedded:
    path: %s/users.yaml
ssh:
  listen: 127.0.0.1:%d
  host_key: %s/ssh_host_ed25519_key
captcha:
  enabled: false
limits:
  failures: 3
audit:
  path: %s/audit.log
store:
  redis:
    addrs: [%q]
`, dataDir, shared, shared, port, shared, shared, redisAddr)))
		ports = append(ports, port)
	}
	add := exec.Command(bin, "--config", cfgs[0], "users", "add", "frank")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	addBob(t, bin, cfgs[0])
	a := serveBinary(t, bin, cfgs[0], ports[0])
	b := serveBinary(t, bin, cfgs[1], ports[1])

	code := issueHelpdesk(t, bin, cfgs[0], "frank", "--agent", "jane", "--ttl", "30m")
	out, err := exec.Command(bin, "--config", cfgs[1], "helpdesk", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "frank") || !strings.Contains(string(out), "jane (") || strings.Contains(string(out), code) {
		t.Fatalf("helpdesk list: %v\n%s", err, out)
	}

	// On the other instance: a wrong code, then the right one.
	tm := sshHelpdesk(t, ports[1], "frank")
	tm.text("AAAAA-AAAAA")
	tm.keys("Enter")
	tm.waitFor("That code isn't right.")
	tm.text(strings.ToLower(code))
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Brand-New-Passw0rd-77"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")
	if h := tm.history(); strings.Contains(h, code) || strings.Contains(h, strings.ToLower(code)) {
		t.Fatalf("the code is left on the terminal:\n%s", h)
	}
	verify := exec.Command(bin, "--config", cfgs[0], "users", "verify", "frank")
	verify.Stdin = strings.NewReader(newPassword + "\n")
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("the new password does not verify: %v\n%s", err, out)
	}

	// Spent: the choice is offered to nobody while no code is live; with
	// another account's code live, the first instance refuses frank's,
	// and every wrong code counts until the account is suspended.
	tm = newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", ports[0]))
	tm.waitFor("Email or Username")
	tm.text("frank")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if strings.Contains(tm.screen(), "helpdesk") {
		t.Fatalf("the choice outlives the only code:\n%s", tm.screen())
	}
	issueHelpdesk(t, bin, cfgs[1], "bob")
	tm = sshHelpdesk(t, ports[0], "frank")
	tm.wrongCode(code, "That code isn't right.")
	tm.wrongCode("BBBBB-BBBBB", "That code isn't right.")
	tm.wrongCode("CCCCC-CCCCC", "Self-service reset is paused for this account")
	out, err = exec.Command(bin, "--config", cfgs[1], "suspensions", "show", "frank").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "frank is suspended") {
		t.Fatalf("suspensions show: %v\n%s", err, out)
	}

	audit, err := os.ReadFile(filepath.Join(shared, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"login":"frank","step":"helpdesk_code","agent":"jane (`,
		`"step":"helpdesk_list","agent":"`,
		`"method":"helpdesk","step":"verify","result":"ok"`,
		`"step":"set_password","result":"ok"`,
		`"method":"helpdesk","step":"suspend","result":"held"`,
	} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("no %s in the audit trail:\n%s", want, audit)
		}
	}
	if strings.Contains(string(audit), code) || strings.Contains(string(audit), strings.ReplaceAll(code, "-", "")) {
		t.Fatal("the code is in the audit trail")
	}
	_, _ = a, b
}
