package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sspr runs the command line in-process with a config in a fresh data dir.
func sspr(t *testing.T, cfgPath, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(append([]string{"--config", cfgPath}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return int(e)
	}
	if err != nil {
		return 2
	}
	return 0
}

func TestUsersAddVerifyList(t *testing.T) {
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	out, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "add", "frank", "--name", "Frank Example",
		"--email", "frank@example.com", "--mobile", "+1 (212) 555-0177", "--office", "+44 20 7946 0958")
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if !strings.Contains(out, "added frank") {
		t.Fatalf("add said %q", out)
	}
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "verify", "frank"); err != nil {
		t.Fatalf("verify with the right password: %v", err)
	}
	if _, stderr, err := sspr(t, cfg, "Wrong-Horse-42xx\n", "users", "verify", "frank"); exitCode(err) != 1 || !strings.Contains(stderr, "does not match") {
		t.Fatalf("verify with a wrong password: %v %q", err, stderr)
	}
	out, _, err = sspr(t, cfg, "", "users", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "frank") || !strings.Contains(out, "+12125550177") || !strings.Contains(out, "+442079460958") {
		t.Fatalf("list does not show the normalised numbers:\n%s", out)
	}
	if strings.Contains(out, "argon2") || strings.Contains(out, "Correct-Horse") {
		t.Fatalf("list shows a secret:\n%s", out)
	}
	// A second account with the same login is refused.
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "add", "frank"); err == nil {
		t.Fatal("duplicate login accepted")
	}
}

func TestUsersAddRefusals(t *testing.T) {
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short1A\n", []string{"users", "add", "gina"}, "At least 14 characters"},
		{"gina-Password-123\n", []string{"users", "add", "gina"}, "Does not contain your name or username"},
		{"Long-Enough-Pass1\n", []string{"users", "add", "gina", "--mobile", "5550100"}, "--mobile"},
		{"Long-Enough-Pass1\n", []string{"users", "add", "gina", "--email", "not-an-address"}, "--email"},
		{"", []string{"users", "add", "gina"}, "no password"},
		{"Long-Enough-Pass1\n", []string{"users", "add", "bad\x1blogin"}, "LOGIN"},
	}
	for _, c := range cases {
		_, _, err := sspr(t, cfg, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(c.stdin)) && c.stdin != "" {
			t.Errorf("%v: the error repeats the password: %v", c.args, err)
		}
	}
}

func TestUsersAddTOTPPrintsURIAndQR(t *testing.T) {
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	out, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "hank", "--totp")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "otpauth://totp/sspr:hank?") || !strings.Contains(out, "secret=") {
		t.Fatalf("no provisioning URI:\n%s", out)
	}
	if strings.Count(out, "█") < 50 {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	list, _, _ := sspr(t, cfg, "", "users", "list")
	if !strings.Contains(list, "yes") {
		t.Fatalf("hank has no authenticator in the list:\n%s", list)
	}
}

func TestQRTextIsSquareWithQuietZone(t *testing.T) {
	s, err := qrText("otpauth://totp/sspr:x?secret=JBSWY3DPEHPK3PXP&issuer=sspr")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	w := len([]rune(lines[0]))
	for i, l := range lines {
		if len([]rune(l)) != w {
			t.Fatalf("line %d has width %d, want %d", i, len([]rune(l)), w)
		}
	}
	if h := len(lines); h != (w+1)/2 {
		t.Fatalf("%d rows for %d columns: not square", h, w)
	}
	// The first row is the light quiet zone, all ink.
	if strings.Trim(lines[0], "█") != "" {
		t.Fatalf("first row is not quiet: %q", lines[0])
	}
}

func TestCheck(t *testing.T) {
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "ivy"); err != nil {
		t.Fatal(err)
	}
	out, _, err := sspr(t, cfg, "", "check")
	if err != nil || !strings.Contains(out, "(1 users)") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	bad := writeConfig(t, "policy:\n  methods_required: 5\n")
	if _, _, err := sspr(t, bad, "", "check"); err == nil || !strings.Contains(err.Error(), "policy.methods_required") {
		t.Fatalf("check of a bad config: %v", err)
	}
	missing := writeConfig(t, "data_dir: "+t.TempDir()+"\ndirectory:\n  embedded:\n    path: /nonexistent/users.yaml\n")
	out, _, err = sspr(t, missing, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  directory.embedded.path") {
		t.Fatalf("check of a missing directory: %v\n%s", err, out)
	}
}
