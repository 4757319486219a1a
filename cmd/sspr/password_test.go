package main

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/providers/embedded"
)

// pwnedFile writes a breached-password list holding passwords.
func pwnedFile(t *testing.T, passwords ...string) string {
	t.Helper()
	var lines []string
	for _, pw := range passwords {
		s := sha1.Sum([]byte(pw))
		lines = append(lines, strings.ToUpper(hex.EncodeToString(s[:]))+":7")
	}
	// One or two lines are in order once sorted by hand.
	if len(lines) == 2 && lines[0] > lines[1] {
		lines[0], lines[1] = lines[1], lines[0]
	}
	p := filepath.Join(t.TempDir(), "pwned.txt")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPasswordStrengthConfig(t *testing.T) {
	c, err := loadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.Password.MinScore != 3 || c.Policy.Password.BreachedFile != "" {
		t.Fatalf("defaults: min_score %d, breached_file %q", c.Policy.Password.MinScore, c.Policy.Password.BreachedFile)
	}
	c, err = loadConfig(writeConfig(t, "policy:\n  password:\n    min_score: 0\n"))
	if err != nil || c.Policy.Password.MinScore != 0 {
		t.Fatalf("min_score 0 (off): %v", err)
	}
	for body, want := range map[string]string{
		"policy:\n  password:\n    min_score: 5\n":  "policy.password.min_score: 5 is not allowed (0 to 4)",
		"policy:\n  password:\n    min_score: -1\n": "policy.password.min_score: -1",
	} {
		if _, err := loadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// The engine gets the score and the list; a wrong list stops the start.
func TestBreachedFileWiring(t *testing.T) {
	dir := t.TempDir()
	if _, err := embedded.Create(filepath.Join(dir, "users.yaml")); err != nil {
		t.Fatal(err)
	}
	list := pwnedFile(t, "Vrilk-Tosquen-Mabbrey-1999")
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\npolicy:\n  password:\n    min_score: 4\n    breached_file: "+list+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := a.engine.Config().Password
	if p.MinScore != 4 || p.Breached == nil {
		t.Fatalf("policy %+v", p)
	}
	if found, err := p.Breached.Contains("Vrilk-Tosquen-Mabbrey-1999"); !found || err != nil {
		t.Fatalf("lookup %v %v", found, err)
	}
	a.Close()
	if _, err := p.Breached.Contains("x"); err == nil {
		t.Fatal("the list is still open after Close")
	}

	bad := filepath.Join(dir, "ntlm.txt")
	os.WriteFile(bad, []byte("32ED87BDB5FDC5E9CBA88547376818D4:123\n"), 0o600)
	for path, want := range map[string]string{bad: "NTLM", filepath.Join(dir, "none.txt"): "no such file"} {
		cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\npolicy:\n  password:\n    breached_file: "+path+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = wire(cfg)
		if err == nil || !strings.Contains(err.Error(), "policy.password.breached_file") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", path, err)
		}
		out, _, err := sspr(t, writeConfig(t, "data_dir: "+dir+"\npolicy:\n  password:\n    breached_file: "+path+"\n"), "", "check")
		if err == nil || !strings.Contains(out, "FAIL  policy.password.breached_file") {
			t.Errorf("check %s: %v\n%s", path, err, out)
		}
	}
	out, _, err := sspr(t, writeConfig(t, "data_dir: "+dir+"\npolicy:\n  password:\n    breached_file: "+list+"\n"), "", "check")
	if err != nil || !strings.Contains(out, "ok    policy.password.breached_file "+list) {
		t.Errorf("check: %v\n%s", err, out)
	}
}

// `users add` applies the same policy as the wizard: strength, the list,
// the person's name.
func TestUsersAddStrength(t *testing.T) {
	list := pwnedFile(t, "Vrilk-Tosquen-Mabbrey-1999", "123456")
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\npolicy:\n  password:\n    breached_file: "+list+"\n")
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"Vrilk-Tosquen-Mabbrey-1999\n", []string{"users", "add", "hana"}, "Not found in known data breaches"},
		{"aaaaaaaaaaaaaaaa1A\n", []string{"users", "add", "hana"}, "Hard to guess (strength 3 of 4 or more): repeated characters"},
		{"Password12345678!\n", []string{"users", "add", "hana"}, "An uncommon password"},
		{"Yamada-Vrilk-2026\n", []string{"users", "add", "hana", "--name", "Hana Yamada"}, "Free of your name and username"},
	}
	for _, c := range cases {
		_, _, err := sspr(t, cfg, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.stdin, err, c.want)
		}
	}
	if _, _, err := sspr(t, cfg, "Vrilk-Tosquen-Mabbrey-2000\n", "users", "add", "hana", "--name", "Hana Yamada"); err != nil {
		t.Fatal(err)
	}
}
