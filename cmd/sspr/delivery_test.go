package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	faketwilio "github.com/sspr-project/sspr/internal/fakes/twilio"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/embedded"
)

// withUsers writes the demo directory into dataDir, hashed cheaply.
func withUsers(t *testing.T, dataDir string) string {
	t.Helper()
	fast := embedded.WithParams(embedded.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	if _, err := embedded.WriteDemo(filepath.Join(dataDir, "users.yaml"), fast); err != nil {
		t.Fatal(err)
	}
	return dataDir
}

// twilioYAML is a config whose texts and calls go through the fake.
func twilioYAML(dataDir string, fake *faketwilio.Server, token, extra string) string {
	return fmt.Sprintf(`data_dir: %s
http:
  listen: 127.0.0.1:0
  public_url: http://127.0.0.1:1
methods:
  text: twilio
  call: twilio
delivery:
  twilio:
    account_sid: %s
    auth_token: %s
    from: "+12125550100"
    api_url: %s
    timeout: 2s
%s`, dataDir, fake.AccountSID, token, fake.URL, extra)
}

func TestMethodsDefaults(t *testing.T) {
	c, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Methods != (MethodsConfig{Text: "demo", Call: "demo", Email: "demo", Push: "demo"}) {
		t.Errorf("no methods key: %+v, want every method on the demo phone", c.Methods)
	}
	c, err = loadConfig(writeConfig(t, "methods:\n  text: demo\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Methods != (MethodsConfig{Text: "demo", Call: "off", Email: "off", Push: "off"}) {
		t.Errorf("one method named: %+v, want the others off", c.Methods)
	}
}

func TestDeliveryConfigErrors(t *testing.T) {
	const sid = "AC0123456789abcdef0123456789abcdef"
	tw := func(keys string) string {
		return "methods:\n  text: twilio\ndelivery:\n  twilio:\n    account_sid: " + sid + "\n" + keys
	}
	for _, tc := range []struct{ body, want string }{
		{"methods:\n  text: sms\n", `methods.text: "sms" is not allowed (demo, twilio, http, email2sms, off)`},
		{"methods:\n  email: twilio\n", `methods.email: "twilio"`},
		{"methods:\n  push: smtp\n", `methods.push: "smtp" is not allowed (demo, ntfy, duo, off)`},
		{"methods:\n  text: twilio\n", "delivery.twilio: is missing"},
		{"methods:\n  text: twilio\ndelivery:\n  twilio:\n    account_sid: AC1\n    auth_token: x\n    from: \"+12125550100\"\n", `delivery.twilio.account_sid: "AC1"`},
		{tw("    from: \"+12125550100\"\n"), "delivery.twilio.auth_token: is missing"},
		{tw("    auth_token: x\n    auth_token_env: X\n    from: \"+12125550100\"\n"), "delivery.twilio.auth_token: given more than once"},
		{tw("    auth_token: x\n"), "delivery.twilio.from"},
		{tw("    auth_token: x\n    from: 2125550100\n"), `delivery.twilio.from: "2125550100"`},
		{tw("    auth_token: x\n    messaging_service_sid: MG1\n"), "delivery.twilio.messaging_service_sid"},
		{tw("    auth_token: x\n    from: \"+12125550100\"\n    timeout: 5m\n"), "delivery.twilio.timeout: 5m is not allowed (1s to 1m)"},
		{tw("    auth_token: x\n    from: \"+12125550100\"\n    api_url: api.twilio.com\n"), "delivery.twilio.api_url"},
		{"methods:\n  call: twilio\ndelivery:\n  twilio:\n    account_sid: " + sid + "\n    auth_token: x\n    messaging_service_sid: MG0123456789abcdef0123456789abcdef\nhttp:\n  listen: :8080\n  public_url: https://r.example.com\n", "delivery.twilio.from"},
		{"methods:\n  call: twilio\n", "http.listen"},
		{"methods:\n  call: twilio\nhttp:\n  listen: :8080\n", "http.public_url"},
		{"http:\n  listen: nowhere\n", `http.listen: "nowhere"`},
		{"http:\n  public_url: reset.example.com\n", `http.public_url: "reset.example.com"`},
		{"http:\n  metrics_token: a\n  metrics_token_file: b\n", "http.metrics_token: given more than once"},
	} {
		_, err := loadConfig(writeConfig(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n  %v\n  want it to say %q", tc.body, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "auth_token: x") {
			t.Errorf("the error quotes a secret: %v", err)
		}
	}
}

// The builder gives each method the provider the config names, off ones
// none, and the demo phone is drawn only when a method uses it.
func TestBuildDelivery(t *testing.T) {
	fake := faketwilio.New(faketwilio.NewAccountSID(), faketwilio.NewAuthToken())
	defer fake.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fake.AuthToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(twilioYAML(withUsers(t, t.TempDir()), fake, "unused", ""), "auth_token: unused", "auth_token_file: "+tokenFile, 1)
	cfg, err := loadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w := a.delivery
	if w.sms == nil || w.voice == nil || w.email != nil || w.push != nil {
		t.Fatalf("senders: text %v call %v email %v push %v", w.sms != nil, w.voice != nil, w.email != nil, w.push != nil)
	}
	if a.demoPhone() != nil || w.usesDemo {
		t.Error("the demo phone is drawn though no method uses it")
	}
	if len(w.checks) != 1 || len(w.mounts) != 2 {
		t.Fatalf("%d checks, %d webhooks", len(w.checks), len(w.mounts))
	}
	if err := w.checks[0].check(context.Background()); err != nil {
		t.Fatalf("the token from the file does not sign in: %v", err)
	}

	demoCfg, err := loadConfig(writeConfig(t, "data_dir: "+withUsers(t, t.TempDir())+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := wire(demoCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.demoPhone() == nil || d.delivery.sms == nil || d.delivery.push == nil {
		t.Fatal("the demo has no phone")
	}

	t.Setenv("SSPR_TEST_TWILIO_TOKEN", "")
	// An empty variable is refused when the config is read, by its key.
	_, err = loadConfig(writeConfig(t, strings.Replace(twilioYAML(withUsers(t, t.TempDir()), fake, "unused", ""), "auth_token: unused", "auth_token_env: SSPR_TEST_TWILIO_TOKEN", 1)))
	if err == nil || !strings.Contains(err.Error(), "delivery.twilio.auth_token: is empty") {
		t.Fatalf("an empty variable: %v", err)
	}
}

// `sspr check` verifies the Twilio credentials by fetching the account,
// sends nothing, and names a wrong token without printing it.
func TestCheckTwilio(t *testing.T) {
	fake := faketwilio.New(faketwilio.NewAccountSID(), faketwilio.NewAuthToken())
	defer fake.Close()
	var out bytes.Buffer
	cfg := writeConfig(t, twilioYAML(withUsers(t, t.TempDir()), fake, fake.AuthToken, ""))
	if err := run([]string{"--config", cfg, "check"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok    methods.text: twilio", "ok    methods.email: off", "ok    delivery.twilio (account " + fake.AccountSID + ")", "ok    http.listen"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	if n := len(fake.Messages()) + len(fake.Calls()); n != 0 {
		t.Fatalf("check sent %d messages or calls", n)
	}

	out.Reset()
	const wrong = "ffffffffffffffffffffffffffffffff"
	cfg = writeConfig(t, twilioYAML(withUsers(t, t.TempDir()), fake, wrong, ""))
	err := run([]string{"--config", cfg, "check"}, strings.NewReader(""), &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "FAIL  delivery.twilio") || !strings.Contains(out.String(), "20003") {
		t.Fatalf("check with a wrong token: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), wrong) {
		t.Fatalf("check printed the token:\n%s", out.String())
	}
}

// `sspr serve` with http.listen runs the side listener as long as the SSH
// server: it answers while serving and is gone after SIGTERM.
func TestServeRunsTheSideListener(t *testing.T) {
	sshPort, httpPort := freePort(t), freePort(t)
	dataDir := withUsers(t, t.TempDir())
	cfg, err := loadConfig(writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
  shutdown_grace: 2s
http:
  listen: 127.0.0.1:%d
  public_url: https://reset.example.com
  metrics_token: metrics-s3cret
`, dataDir, sshPort, httpPort)))
	if err != nil {
		t.Fatal(err)
	}
	var log testserver.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(cfg, &log) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = http.Get(base + "/healthz")
		if err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("the side listener never answered: %v\n%s", err, log.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "sspr_sessions_open") {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, log.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM\n%s", log.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the side listener still answers after serve returned")
	}
	if strings.Contains(log.String(), "metrics-s3cret") {
		t.Fatal("the metrics token is in the log")
	}
	if !strings.Contains(log.String(), "http_serving") {
		t.Errorf("the log does not say the side listener started:\n%s", log.String())
	}
}
