package sshserver

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// auditNote is one line of ssh-audit's batch output: "(kex) name -- [warn] text".
var auditNote = regexp.MustCompile(`^\((\w+)\) (\S+)(?: \([^)]*\))? -- \[(info|warn|fail)\] (.*)$`)

// newerThanSSHAudit are the algorithms sspr offers that ssh-audit 2.5
// (Debian 12) does not know yet, and reports as "unknown algorithm".
var newerThanSSHAudit = []string{"mlkem768x25519-sha256", "kex-strict-s-v00@openssh.com"}

// TestSSHAudit runs ssh-audit against the server with its production
// settings and fails on any failure it reports. ssh-audit is a Debian
// package that scripts/test.sh installs; without it this test fails.
func TestSSHAudit(t *testing.T) {
	bin, err := exec.LookPath("ssh-audit")
	if err != nil {
		t.Fatalf("ssh-audit is needed (apt-get install ssh-audit; scripts/test.sh installs it): %v", err)
	}
	ts := startServer(t, func(c *Config) { c.MaxPerSource, c.NewPerSource = Default().MaxPerSource, Default().NewPerSource }) // the defaults
	_, port, _ := net.SplitHostPort(ts.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// -b: one line per note, -n: no colours, -4: IPv4 (the server is on 127.0.0.1).
	out, err := exec.CommandContext(ctx, bin, "-b", "-n", "-4", "-t", "10", "-p", port, "127.0.0.1").CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ssh-audit: %v\n%s", err, out)
	}
	t.Logf("ssh-audit exit status %d; its report:\n%s", code, out)

	offered := map[string][]string{}
	var fails, warns []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "(cve)") {
			fails = append(fails, line)
			continue
		}
		m := auditNote.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		kind, name, level, text := m[1], m[2], m[3], m[4]
		if !slices.Contains(offered[kind], name) {
			offered[kind] = append(offered[kind], name)
		}
		switch {
		case level == "fail":
			fails = append(fails, line)
		case level == "warn" && text == "unknown algorithm" && slices.Contains(newerThanSSHAudit, name):
			t.Logf("ssh-audit does not know %s yet", name)
		case level == "warn":
			warns = append(warns, line)
		}
	}
	for _, f := range fails {
		t.Errorf("ssh-audit failure: %s", f)
	}
	for _, w := range warns {
		t.Logf("ssh-audit warning: %s", w)
	}
	switch code {
	case 0, 2: // good, warnings
	case 3:
		if len(fails) == 0 {
			t.Error("ssh-audit exited 3 (failure) but no failure line was found in its report")
		}
	default:
		t.Fatalf("ssh-audit could not audit the server (exit status %d)", code)
	}

	// Spelled out, not taken from algorithms.go: offering anything else
	// is a decision this test makes someone take twice.
	want := map[string][]string{
		"kex": {"mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "kex-strict-s-v00@openssh.com"},
		"key": {"ssh-ed25519"},
		"enc": {"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"},
		"mac": {"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"},
	}
	for kind, names := range want {
		got := append([]string(nil), offered[kind]...)
		slices.Sort(got)
		exp := append([]string(nil), names...)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("ssh-audit saw %s %v, want %v", kind, got, exp)
		}
	}
	if !slices.Contains(offered["kex"], "kex-strict-s-v00@openssh.com") {
		t.Error("strict key exchange (Terrapin, CVE-2023-48795) is not offered")
	}
}
