package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	faketwilio "github.com/sspr-project/sspr/internal/fakes/twilio"
)

// The built binary served over SSH with texts and calls going to Twilio
// (the fake, following Twilio's documented API): a reset by a texted code,
// read from what the fake received, then one by a call, answered by the
// fake keying in the number on the screen through a signed webhook to the
// side listener. Driven by the real OpenSSH client in tmux.
func TestEndToEndTwilioOverOpenSSH(t *testing.T) {
	bin := buildBinary(t)
	fake := faketwilio.New(faketwilio.NewAccountSID(), faketwilio.NewAuthToken())
	defer fake.Close()
	dataDir := t.TempDir()
	sshPort, httpPort, metricsPort := freePort(t), freePort(t), freePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
signin_url: https://login.example.com
http:
  listen: 127.0.0.1:%d
  public_url: %s
  metrics_listen: 127.0.0.1:%d
methods:
  text: twilio
  call: twilio
delivery:
  twilio:
    account_sid: %s
    auth_token_env: SSPR_E2E_TWILIO_TOKEN
    from: "+12125550100"
    api_url: %s
    timeout: 5s
`, dataDir, sshPort, httpPort, public, metricsPort, fake.AccountSID, fake.URL))

	// Every command reads the whole config, secrets included.
	t.Setenv("SSPR_E2E_TWILIO_TOKEN", fake.AuthToken)
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}

	srv := serveBinary(t, bin, cfg, sshPort, "SSPR_E2E_TWILIO_TOKEN="+fake.AuthToken)
	// The SSH port is bound first; the side listener a moment later.
	var herr error
	waitUntil(t, 5*time.Second, "the side listener to answer", func() bool {
		resp, err := http.Get(public + "/healthz")
		if herr = err; err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, func() string { return fmt.Sprint(herr) + "\n" + srv.Log() })
	sshCmd := fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", sshPort)

	var secrets []string
	setPassword := func(tm *tmuxTerm, pw string) {
		t.Helper()
		tm.waitFor("Enter new password")
		tm.text(pw)
		tm.keys("Enter")
		tm.text(pw)
		tm.keys("Enter")
		tm.waitFor("Your password has been reset")
		if h := tm.history(); strings.Contains(h, pw) {
			t.Fatalf("the password is left on the terminal:\n%s", h)
		}
	}

	// A reset by a texted code.
	tm := newTmux(t, sshCmd)
	tm.waitFor("Email or Username")
	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	s := tm.screen()
	if !strings.Contains(s, "Text my mobile phone") || !strings.Contains(s, "Call my mobile phone") {
		t.Fatalf("bob's methods:\n%s", s)
	}
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != "+12125550102" || msgs[0].From != "+12125550100" {
		t.Fatalf("texts at the fake: %+v", msgs)
	}
	m := regexp.MustCompile(`code is (\d{6,10})`).FindStringSubmatch(msgs[0].Body)
	if m == nil {
		t.Fatalf("no code in %q", msgs[0].Body)
	}
	code := m[1]
	secrets = append(secrets, code)
	tm.text(code)
	tm.keys("Enter")
	const textPassword = "Brand-New-Passw0rd-77"
	setPassword(tm, textPassword)
	if h := tm.history(); strings.Contains(h, code) {
		t.Fatalf("the code is left on the terminal:\n%s", h)
	}
	if code := verifyPassword(t, bin, cfg, textPassword); code != 0 {
		t.Fatal("the password set after the text does not verify")
	}

	// A reset by a call: the fake answers and keys in the number shown.
	tm2 := newTmux(t, sshCmd)
	tm2.waitFor("Email or Username")
	tm2.text("bob")
	tm2.keys("Enter")
	tm2.waitFor("Call my mobile phone")
	tm2.keys("Down")
	tm2.keys("Enter")
	tm2.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm2.text("+1 212 555 0102")
	tm2.keys("Enter")
	tm2.waitFor("key in this number")
	shown := regexp.MustCompile(`[│|┃]\s+(\d{2})\s+[│|┃]`).FindStringSubmatch(tm2.screen())
	if shown == nil {
		t.Fatalf("no number on the waiting screen:\n%s", tm2.screen())
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].To != "+12125550102" || calls[0].MachineDetection != "Enable" {
		t.Fatalf("calls at the fake: %+v", calls)
	}
	if !strings.HasPrefix(calls[0].URL, public+"/hooks/twilio/voice/") {
		t.Fatalf("the call's Url %q is not under the public URL", calls[0].URL)
	}
	secrets = append(secrets, strings.TrimPrefix(strings.SplitN(calls[0].URL, "?", 2)[0], public+"/hooks/twilio/voice/"))
	res, err := fake.Answer(context.Background(), calls[0].SID, shown[1])
	if err != nil {
		t.Fatalf("answering the call: %v\n%s", err, srv.Log())
	}
	if len(res.Turns) != 3 || res.Turns[0].Status != 200 || res.Turns[1].Status != 200 || res.Turns[2].Status != 204 {
		t.Fatalf("the call's webhooks: %+v", res.Turns)
	}
	const callPassword = "Quartz-Meadow-Lantern-8417x"
	setPassword(tm2, callPassword)
	if code := verifyPassword(t, bin, cfg, callPassword); code != 0 {
		t.Fatal("the password set after the call does not verify")
	}

	// The metrics counted both, with their providers.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sspr_outcomes_total{outcome="reset"} 2`,
		`sspr_deliveries_total{kind="verification",method="text",provider="twilio",result="ok"} 1`,
		`sspr_deliveries_total{kind="verification",method="call",provider="twilio",result="ok"} 1`,
		`sspr_provider_callbacks_total{event="keyed",provider="twilio"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}

	// SIGTERM ends both listeners.
	if err := srv.Stop(15 * time.Second); err != nil {
		t.Fatalf("sspr serve on SIGTERM: %v\n%s", err, srv.Log())
	}
	if _, err := http.Get(public + "/healthz"); err == nil {
		t.Error("the side listener outlived sspr serve")
	}

	// No secret in the server's log or the audit trail.
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	logs := srv.Log() + string(audit)
	for _, x := range append(secrets, fake.AuthToken, textPassword, callPassword) {
		if strings.Contains(logs, x) {
			t.Errorf("a secret of %d characters is in the logs", len(x))
		}
	}
	if !strings.Contains(srv.Log(), "twilio_call_keyed") {
		t.Errorf("the server log does not show the call's keys arriving:\n%s", srv.Log())
	}
}

// verifyPassword runs `sspr users verify bob` with pw: 0 when it matches.
func verifyPassword(t *testing.T, bin, cfg, pw string) int {
	t.Helper()
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
