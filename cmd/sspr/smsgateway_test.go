package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/mailpit"
)

const gatewaySecret = "Bearer gw-Secret-0123456789"

// smsGateway is a fake HTTP SMS gateway: POST /send takes {"to","text"}
// with the bearer secret and answers {"status":"queued"}; GET /balance is
// the probe. It records every text.
type smsGateway struct {
	*httptest.Server
	mu     sync.Mutex
	texts  []map[string]string
	probes int
}

func newFakeGateway(t *testing.T) *smsGateway {
	t.Helper()
	g := &smsGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != gatewaySecret {
			http.Error(w, `{"status":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/balance":
			g.probes++
			_, _ = io.WriteString(w, `{"balance": 12}`)
		case r.Method == http.MethodPost && r.URL.Path == "/send":
			var m map[string]string
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				http.Error(w, `{"status":"bad json"}`, http.StatusBadRequest)
				return
			}
			g.texts = append(g.texts, m)
			_, _ = io.WriteString(w, `{"status":"queued"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *smsGateway) sent() []map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]string(nil), g.texts...)
}

func gatewayYAML(g *smsGateway, probe bool) string {
	s := fmt.Sprintf(`methods:
  text: http
delivery:
  http:
    url: %s/send
    headers:
      Accept: application/json
    secret_header: Authorization
    secret_env: SSPR_TEST_GATEWAY_SECRET
    body: '{"to": "{to}", "text": "{message}", "lang": "{lang}"}'
    success_json_path: status
    success_value: queued
    timeout: 5s
`, g.URL)
	if probe {
		s += "    probe_url: " + g.URL + "/balance\n"
	}
	return s
}

func TestSMSGatewayConfigErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"methods:\n  text: http\n", "delivery.http: is missing: methods name http"},
		{"methods:\n  text: email2sms\n", "delivery.email2sms: is missing: methods name email2sms"},
		{"methods:\n  text: email2sms\ndelivery:\n  email2sms:\n    address: '{number}@sms.example.net'\n", "delivery.smtp: is missing: methods name email2sms"},
		{"methods:\n  text: email2sms\ndelivery:\n  email2sms:\n    address: sms@example.net\n", "delivery.email2sms.address"},
		{"methods:\n  call: http\n", `methods.call: "http" is not allowed`},
		{"methods:\n  text: http\ndelivery:\n  http:\n    url: http://sms.example.net/send\n    body: '{message} {to}'\n", "delivery.http.url"},
		{"methods:\n  text: http\ndelivery:\n  http:\n    url: https://sms.example.net/send\n    body: '{message} {to}'\n    headers:\n      Authorization: Bearer x\n", "delivery.http.headers.Authorization: carries a secret"},
		{"methods:\n  text: http\ndelivery:\n  http:\n    url: https://sms.example.net/send\n    body: '{message} {to}'\n    timeout: 2m\n", "delivery.http.timeout: 2m is not allowed (1s to 1m)"},
	} {
		_, err := loadConfig(writeConfig(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n  %v\n  want it to say %q", tc.body, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Bearer x") {
			t.Errorf("the error quotes a secret: %v", err)
		}
	}
}

// The wired text sender posts to the gateway as configured.
func TestWiredSMSGatewaySends(t *testing.T) {
	g := newFakeGateway(t)
	t.Setenv("SSPR_TEST_GATEWAY_SECRET", gatewaySecret)
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+withUsers(t, t.TempDir())+"\n"+gatewayYAML(g, false)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.delivery.sms == nil || a.delivery.voice != nil {
		t.Fatal("no text sender, or a call sender")
	}
	text := `Your code is 12345678. "Quoted"`
	if err := a.delivery.sms.Deliver(context.Background(), flow.Delivery{Method: flow.TextMobile, Kind: flow.KindVerification, To: "+12125550102", Text: text, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	got := g.sent()
	if len(got) != 1 || got[0]["to"] != "+12125550102" || got[0]["text"] != text || got[0]["lang"] != "en" {
		t.Fatalf("texts %v", got)
	}
}

// `sspr check` reaches the gateway without texting: the probe when one is
// set, a connect to the url's host otherwise.
func TestCheckSMSGateway(t *testing.T) {
	g := newFakeGateway(t)
	t.Setenv("SSPR_TEST_GATEWAY_SECRET", gatewaySecret)
	for _, probe := range []bool{true, false} {
		cfg := writeConfig(t, "data_dir: "+withUsers(t, t.TempDir())+"\n"+gatewayYAML(g, probe))
		out, _, err := sspr(t, cfg, "", "check")
		want := "ok    delivery.http (TCP connect to " + strings.TrimPrefix(g.URL, "http://") + ")"
		if probe {
			want = "ok    delivery.http (GET " + g.URL + "/balance)"
		}
		if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "ok    methods.text: http") {
			t.Fatalf("probe %v: %v, want %q in:\n%s", probe, err, want, out)
		}
	}
	if g.probes != 1 || len(g.sent()) != 0 {
		t.Fatalf("%d probes, %d texts", g.probes, len(g.sent()))
	}
	// A wrong secret fails the probe, and is not printed.
	t.Setenv("SSPR_TEST_GATEWAY_SECRET", "Bearer wrong-secret-value")
	out, _, err := sspr(t, writeConfig(t, "data_dir: "+withUsers(t, t.TempDir())+"\n"+gatewayYAML(g, true)), "", "check")
	if err == nil || !strings.Contains(out, "FAIL  delivery.http") || !strings.Contains(out, "401") || strings.Contains(out, "wrong-secret") {
		t.Fatalf("a wrong secret: %v\n%s", err, out)
	}
}

// The wired email2sms sender mails the text to the number's address
// through delivery.smtp, and check covers the relay.
func TestWiredEmail2SMSSends(t *testing.T) {
	relay := mailpit.Start(t, mailpit.Options{Users: map[string]string{relayUser: relayPassword}, TLS: mailpit.RequireStartTLS})
	path, _ := smtpConfig(t, relay, relayPassword, `methods:
  text: email2sms
`)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	path = writeConfig(t, strings.Replace(string(body), "delivery:\n", "delivery:\n  email2sms:\n    address: '{number}@sms.example.net'\n    subject: Reset\n", 1))
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	withUsers(t, cfg.DataDir)
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	text := "Your code is 12345678."
	if err := a.delivery.sms.Deliver(context.Background(), flow.Delivery{Method: flow.TextMobile, Kind: flow.KindVerification, To: "+12125550102", Text: text}); err != nil {
		t.Fatal(err)
	}
	m := waitMail(t, relay, "12125550102@sms.example.net", "Reset")
	if strings.TrimSpace(m.Text) != text || m.HTML != "" {
		t.Fatalf("text %q html %q", m.Text, m.HTML)
	}
	out, _, err := sspr(t, path, "", "check")
	if err != nil || !strings.Contains(out, "ok    methods.text: email2sms") || !strings.Contains(out, "ok    delivery.smtp "+relay.SMTPAddr()) || strings.Contains(out, "not used") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

// TestEndToEndTextThroughHTTPGateway is a whole reset with the code
// texted through an HTTP SMS gateway: the built binary serving over SSH,
// the real OpenSSH client in tmux, and the fake gateway from which the
// test reads the code, as the person would from their phone.
func TestEndToEndTextThroughHTTPGateway(t *testing.T) {
	g := newFakeGateway(t)
	bin := buildBinary(t)
	port := freePort(t)
	dataDir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
%s`, dataDir, port, gatewayYAML(g, true)))
	env := "SSPR_TEST_GATEWAY_SECRET=" + gatewaySecret
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
		c.Env = append(os.Environ(), env)
		return c
	}
	add := command("users", "add", "tom", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	if out, err := command("check").CombinedOutput(); err != nil || !strings.Contains(string(out), "ok    delivery.http (GET "+g.URL+"/balance)") {
		t.Fatalf("check: %v\n%s", err, out)
	}

	srv := serveBinary(t, bin, cfg, port, env)
	tm := newTmux(t, fmt.Sprintf("LANG=C.UTF-8 ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text("tom")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if s := tm.screen(); !strings.Contains(s, "Text my mobile phone") {
		t.Fatalf("tom's methods:\n%s", s)
	}
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	sent := g.sent()
	if len(sent) != 1 || sent[0]["to"] != "+12125550102" {
		t.Fatalf("texts at the gateway: %v", sent)
	}
	m := regexp.MustCompile(`(\d{6,10})`).FindStringSubmatch(sent[0]["text"])
	if m == nil {
		t.Fatalf("no code in %q", sent[0]["text"])
	}
	code := m[1]
	tm.text(code)
	tm.keys("Enter")
	const newPassword = "Velvet-Compass-9360"
	tm.waitFor("Enter new password")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")

	verify := command("users", "verify", "tom")
	verify.Stdin = strings.NewReader(newPassword + "\n")
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("the new password does not verify: %v\n%s", err, out)
	}
	waitUntil(t, 5*time.Second, "the notice text", func() bool { return len(g.sent()) == 2 }, func() string { return fmt.Sprint(g.sent()) })
	audit, err := os.ReadFile(dataDir + "/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{code, newPassword, "gw-Secret"} {
		if strings.Contains(string(audit), secret) || strings.Contains(srv.Log(), secret) {
			t.Fatalf("a secret is in the audit trail or the log:\n%s\n%s", audit, srv.Log())
		}
	}
}
