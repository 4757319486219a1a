package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	fakentfy "github.com/sspr-project/sspr/internal/fakes/ntfy"
	"github.com/sspr-project/sspr/providers/push"
)

// boxedNumber is the number on the waiting screen, drawn in a box.
var boxedNumber = regexp.MustCompile(`│\s+(\d{2,8})\s+│`)

// A full reset over SSH with methods.push: ntfy: the built binary serves
// the wizard and its side listener; the fake ntfy server gets the push and
// taps the number the screen shows, as the ntfy app would; the second
// proof is an emailed code (the demo outbox).
func TestEndToEndNtfyPushResetOverOpenSSH(t *testing.T) {
	fake := fakentfy.New(map[string]string{testNtfyToken: "sspr"})
	defer fake.Close()

	bin := buildBinary(t)
	dataDir := t.TempDir()
	sshPort, httpPort := freePort(t), freePort(t)
	tokenFile := filepath.Join(dataDir, "ntfy.token")
	if err := os.WriteFile(tokenFile, []byte(testNtfyToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	public := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
http:
  listen: 127.0.0.1:%d
  public_url: %s
methods:
  push: ntfy
  email: demo
delivery:
  ntfy:
    server: %s
    token_file: %s
`, dataDir, sshPort, httpPort, public, fake.URL, tokenFile))

	add := exec.Command(bin, "--config", cfg, "users", "add", "carol", "--email", "carol@example.com", "--totp")
	add.Stdin = strings.NewReader("Harbor-Quartz-5163\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--config", cfg, "check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok    delivery.ntfy (server "+fake.URL+")") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if len(fake.Messages()) != 0 {
		t.Fatal("check published a message")
	}

	srv := serveBinary(t, bin, cfg, sshPort)

	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", sshPort))
	tm.waitFor("Email or Username")
	tm.text("carol")
	tm.keys("Enter")
	tm.waitFor("Approve a notification on my authenticator app")
	tm.keys("Enter") // the first method: the push
	tm.waitFor("Waiting for your answer")

	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	msg, err := fake.Next(wctx, 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Topic != push.NtfyTopic(key, "", "carol") || len(msg.Actions) != 3 {
		t.Fatalf("published %+v", msg)
	}
	m := boxedNumber.FindStringSubmatch(tm.screen())
	if m == nil {
		t.Fatalf("no number on the waiting screen:\n%s", tm.screen())
	}
	shown := m[1]
	status, body, err := fake.Tap(context.Background(), msg, shown)
	if err != nil || status != http.StatusOK {
		t.Fatalf("tap %s: %d %q %v\n%s", shown, status, body, err, srv.Log())
	}
	// The app is proved; the second proof is the email.
	tm.waitFor("Email my alternate email")
	if strings.Contains(tm.screen(), "Approve a notification") {
		t.Fatalf("the app is offered again:\n%s", tm.screen())
	}
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	code := lastCode(t, filepath.Join(dataDir, "outbox.log"), "carol@example.com")
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Fresh-Lantern-Push-2931"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")

	verify := exec.Command(bin, "--config", cfg, "users", "verify", "carol")
	verify.Stdin = strings.NewReader(newPassword + "\n")
	if err := verify.Run(); err != nil {
		t.Fatalf("the new password does not verify: %v", err)
	}

	// A replayed tap is refused; the serve log says so.
	if status, _, _ := fake.Tap(context.Background(), msg, shown); status != http.StatusConflict {
		t.Errorf("replayed tap: %d, want 409", status)
	}

	// No secret in the audit trail or the server's log.
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(audit), `"method":"push","step":"verify","result":"ok"`) {
		t.Errorf("no verified push in the audit:\n%s", audit)
	}
	secrets := map[string]string{"access token": testNtfyToken, "key": string(key), "key (hex)": hex.EncodeToString(key),
		"topic": msg.Topic, "password": newPassword, "code": code}
	for _, a := range msg.Actions {
		var cb struct{ MAC string }
		_ = json.Unmarshal([]byte(a.Body), &cb)
		secrets["mac "+a.Label] = cb.MAC
		secrets["approval token"] = a.URL[strings.LastIndex(a.URL, "/")+1:]
	}
	for name, s := range secrets {
		for lname, text := range map[string]string{"audit": string(audit), "serve": srv.Log(), "screen": tm.history()} {
			if strings.Contains(text, s) {
				t.Errorf("the %s log holds the %s", lname, name)
			}
		}
	}
	if !strings.Contains(srv.Log(), "answered_or_expired") {
		t.Errorf("the replay is not in the serve log:\n%s", srv.Log())
	}
}
