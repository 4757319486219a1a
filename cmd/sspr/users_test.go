package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/providers/totp"
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
		{"gina-Password-123\n", []string{"users", "add", "gina"}, "Free of your name and username"},
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

// ssprAnswering runs the command line in-process and answers its prompt:
// once the otpauth URI is on stdout, answer gets the secret and returns
// what to type (a line per code; stdin then ends).
func ssprAnswering(t *testing.T, cfgPath string, answer func(secret string) string, args ...string) (string, string, error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := run(append([]string{"--config", cfgPath}, args...), inR, outW, &errb)
		outW.Close()
		inR.Close()
		done <- err
	}()
	var out strings.Builder
	sc := bufio.NewScanner(outR)
	answered := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if u, err := url.Parse(line); !answered && err == nil && u.Scheme == "otpauth" {
			answered = true
			go func() {
				_, _ = io.WriteString(inW, answer(u.Query().Get("secret")))
				inW.Close()
			}()
		}
	}
	if !answered {
		inW.Close()
	}
	err := <-done
	return out.String(), errb.String(), err
}

// keyFile writes a TOTP key (base64) into a file of mode 0600.
func keyFile(t *testing.T) string {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "totp.key")
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// currentCode is the code an app shows now for secret.
func currentCode(t *testing.T, secret string) string {
	code, err := totp.Code(secret, time.Now())
	if err != nil {
		t.Error(err)
	}
	return code
}

// wrongCode is a six-digit code valid at no step near now.
func wrongCode(secret string) string {
	now := time.Now()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", (n*7919+123456)%1000000)
		if _, ok := totp.New().Validate(secret, c, now); !ok {
			if _, ok := totp.New().Validate(secret, c, now.Add(30*time.Second)); !ok {
				return c
			}
		}
	}
}

func TestUsersTOTPEnrolsOnlyAfterAMatchingCode(t *testing.T) {
	dataDir := t.TempDir()
	key := keyFile(t)
	cfg := writeConfig(t, "data_dir: "+dataDir+"\ndirectory:\n  embedded:\n    totp_key_file: "+key+"\n")
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "kim", "--email", "kim@example.com"); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dataDir, "users.yaml")

	// Wrong codes, three times: nothing is saved.
	before, _ := os.ReadFile(users)
	out, stderr, err := ssprAnswering(t, cfg, func(s string) string {
		w := wrongCode(s)
		return w + "\n" + w + "\n" + w + "\n"
	}, "users", "totp", "kim")
	if exitCode(err) != 1 || !strings.Contains(stderr, "nothing was saved") {
		t.Fatalf("wrong codes: %v\n%s\n%s", err, out, stderr)
	}
	if strings.Count(out, "█") < 50 || !strings.Contains(out, "otpauth://totp/sspr:kim?") {
		t.Fatalf("no QR code or URI:\n%s", out)
	}
	if after, _ := os.ReadFile(users); !bytes.Equal(before, after) {
		t.Fatal("a wrong code changed the users file")
	}
	// No code at all (stdin ends): nothing is saved.
	if _, stderr, err := ssprAnswering(t, cfg, func(string) string { return "" }, "users", "totp", "kim"); exitCode(err) != 1 || !strings.Contains(stderr, "nothing was saved") {
		t.Fatalf("no code: %v %s", err, stderr)
	}

	// A wrong code, then the right one: saved, encrypted.
	var secret string
	out, stderr, err = ssprAnswering(t, cfg, func(s string) string {
		secret = s
		return wrongCode(s) + "\n" + currentCode(t, s) + "\n"
	}, "users", "totp", "kim@example.com")
	if err != nil || !strings.Contains(out, "saved: kim's authenticator app, encrypted with key") || !strings.Contains(stderr, "does not match") {
		t.Fatalf("enrolment: %v\n%s\n%s", err, out, stderr)
	}
	data, _ := os.ReadFile(users)
	if strings.Contains(string(data), secret) || !strings.Contains(string(data), "totp_secret: enc:v1:") {
		t.Fatalf("the secret is not encrypted at rest:\n%s", data)
	}
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode %v %v", fi.Mode(), err)
	}
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := openEmbedded(c)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := d.LookupUser(context.Background(), "kim"); err != nil || u.TOTPSecret != secret {
		t.Fatalf("kim's secret after enrolment: %v", err)
	}
	if ok, err := d.VerifyPassword("kim", "Long-Enough-Pass1"); !ok || err != nil {
		t.Fatalf("kim's password changed: %v %v", ok, err)
	}

	// Replacing: a failed try keeps the working secret.
	out, _, err = ssprAnswering(t, cfg, func(s string) string { return "12345\n" }, "users", "totp", "kim")
	if exitCode(err) != 1 || !strings.Contains(out, "Replacing the authenticator app of kim") {
		t.Fatalf("replace with a bad code: %v\n%s", err, out)
	}
	if u, err := d.LookupUser(context.Background(), "kim"); err != nil || u.TOTPSecret != secret {
		t.Fatalf("a failed replacement changed the secret: %v", err)
	}

	// An unknown account.
	if _, _, err := ssprAnswering(t, cfg, func(string) string { return "" }, "users", "totp", "nobody"); err == nil || !strings.Contains(err.Error(), "unknown user") {
		t.Fatalf("unknown login: %v", err)
	}

	// check reports the key and no plain secret.
	out, _, err = sspr(t, cfg, "", "check")
	if err != nil || !strings.Contains(out, "ok    TOTP key ") || !strings.Contains(out, "(1 secrets encrypted)") || strings.Contains(out, "WARN") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

func TestUsersTOTPWithoutKeyStaysPlainAndCheckWarns(t *testing.T) {
	dataDir := t.TempDir()
	cfg := writeConfig(t, "data_dir: "+dataDir+"\n")
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "lee"); err != nil {
		t.Fatal(err)
	}
	var secret string
	out, stderr, err := ssprAnswering(t, cfg, func(s string) string { secret = s; return currentCode(t, s) + "\n" }, "users", "totp", "lee")
	if err != nil || !strings.Contains(out, "saved: lee's authenticator app in") || !strings.Contains(stderr, "stored in plain text") {
		t.Fatalf("enrolment without a key: %v\n%s\n%s", err, out, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	if !strings.Contains(string(data), "totp_secret: "+secret) {
		t.Fatalf("want the legacy plain form without a key:\n%s", data)
	}
	out, _, err = sspr(t, cfg, "", "check")
	if err != nil || !strings.Contains(out, "WARN  1 authenticator secrets are stored in plain text") {
		t.Fatalf("check: %v\n%s", err, out)
	}

	// With a key from the environment, encrypt-totp seals it in place.
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	t.Setenv("SSPR_TOTP_KEY", hex.EncodeToString(raw))
	out, _, err = sspr(t, cfg, "", "check")
	if err != nil || !strings.Contains(out, "from SSPR_TOTP_KEY (0 secrets encrypted)") || !strings.Contains(out, "run `sspr users encrypt-totp`") {
		t.Fatalf("check with a key and a plain secret: %v\n%s", err, out)
	}
	out, _, err = sspr(t, cfg, "", "users", "encrypt-totp")
	if err != nil || !strings.Contains(out, "encrypted 1 authenticator secrets") {
		t.Fatalf("encrypt-totp: %v\n%s", err, out)
	}
	data, _ = os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	if strings.Contains(string(data), secret) {
		t.Fatalf("still plain after encrypt-totp:\n%s", data)
	}
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "verify", "lee"); err != nil {
		t.Fatalf("verify after encrypt-totp: %v", err)
	}

	// Without the key now, the directory refuses to load, and says why.
	os.Unsetenv("SSPR_TOTP_KEY")
	out, _, err = sspr(t, cfg, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "is encrypted, but no TOTP key is configured") {
		t.Fatalf("check without the key: %v\n%s", err, out)
	}
	// A wrong key is named as such.
	_, _ = rand.Read(raw)
	t.Setenv("SSPR_TOTP_KEY", base64.StdEncoding.EncodeToString(raw))
	out, _, err = sspr(t, cfg, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "encrypted with another key") || strings.Contains(out, secret) {
		t.Fatalf("check with a wrong key: %v\n%s", err, out)
	}
}

func TestTOTPKeyRefusals(t *testing.T) {
	key := keyFile(t)
	t.Setenv("SSPR_TOTP_KEY", "")
	t.Setenv("SSPR_TOTP_KEY", "not a key")
	cfg := writeConfig(t, "data_dir: "+t.TempDir()+"\n")
	if _, _, err := sspr(t, cfg, "", "users", "list"); err == nil || !strings.Contains(err.Error(), "SSPR_TOTP_KEY: TOTP key: want 64 hex digits") || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("a bad key in the environment: %v", err)
	}
	both := writeConfig(t, "data_dir: "+t.TempDir()+"\ndirectory:\n  embedded:\n    totp_key_file: "+key+"\n")
	if _, _, err := sspr(t, both, "", "users", "list"); err == nil || !strings.Contains(err.Error(), "directory.embedded.totp_key_file") {
		t.Fatalf("a key given both ways: %v", err)
	}
	os.Unsetenv("SSPR_TOTP_KEY")
	if _, _, err := sspr(t, both, "Long-Enough-Pass1\n", "users", "add", "ivy"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := sspr(t, both, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "is mode 0644: its group or others may read it") {
		t.Fatalf("a readable key file: %v\n%s", err, out)
	}
	if _, _, err := sspr(t, both, "", "users", "totp"); err == nil || !strings.Contains(err.Error(), "give one LOGIN") {
		t.Fatalf("users totp without a login: %v", err)
	}
}
