package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sspr.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.demo || c.Policy.MethodsRequired != 1 || c.Policy.Password.MinLength != 14 || c.SSH.Listen != ":2222" {
		t.Fatalf("demo defaults: %+v", c)
	}
	if c.Directory.Embedded.Path != filepath.Join("sspr-data", "users.yaml") {
		t.Fatalf("embedded path %q", c.Directory.Embedded.Path)
	}
	if !boolOr(c.Captcha.Enabled, true) {
		t.Fatal("captcha must default to on")
	}
}

func TestConfigReadsEveryDocumentedKey(t *testing.T) {
	p := writeConfig(t, `
data_dir: /var/lib/sspr
signin_url: https://login.example.com
ssh:
  listen: 127.0.0.1:2022
  host_key: /etc/sspr/host_key
  max_sessions: 50
  max_session_time: 20m
captcha:
  enabled: false
  length: 5
directory:
  embedded:
    path: /etc/sspr/users.yaml
delivery:
  demo:
    outbox: /tmp/outbox
policy:
  methods_required: 2
  email: false
  password:
    min_length: 16
    max_length: 128
    upper: false
    lower: true
    digit: false
  code:
    length: 6
    ttl: 3m
    max_attempts: 3
    resend_cooldown: 90s
audit:
  path: "-"
ui:
  idle_timeout: 90s
`)
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.demo || c.DataDir != "/var/lib/sspr" || c.SSH.Listen != "127.0.0.1:2022" || c.SSH.HostKey != "/etc/sspr/host_key" ||
		c.SSH.MaxSessions != 50 || c.SSH.MaxSessionTime.Minutes() != 20 || boolOr(c.Captcha.Enabled, true) ||
		c.Captcha.Length != 5 || c.Directory.Embedded.Path != "/etc/sspr/users.yaml" || c.Delivery.Demo.Outbox != "/tmp/outbox" ||
		c.Policy.MethodsRequired != 2 || boolOr(c.Policy.Email, true) || c.Policy.Password.MinLength != 16 ||
		c.Policy.Password.MaxLength != 128 || boolOr(c.Policy.Password.Upper, true) || boolOr(c.Policy.Password.Digit, true) ||
		c.Policy.Code.Length != 6 || c.Policy.Code.TTL.Minutes() != 3 || c.Policy.Code.MaxAttempts != 3 ||
		c.Policy.Code.ResendCooldown.Seconds() != 90 || c.Audit.Path != "-" || c.UI.IdleTimeout.Seconds() != 90 ||
		c.SignInURL != "https://login.example.com" {
		t.Fatalf("config not read as written: %+v", c)
	}
	// Paths not given follow data_dir.
	if c2, _ := loadConfig(writeConfig(t, "data_dir: /srv/x\n")); c2.Delivery.Demo.Outbox != "/srv/x/outbox.log" {
		t.Fatalf("outbox %q", c2.Delivery.Demo.Outbox)
	}
}

func TestConfigNamesTheWrongField(t *testing.T) {
	cases := []struct{ body, want string }{
		{"policy:\n  methods_required: 3\n", "policy.methods_required: 3 is not allowed (1 or 2)"},
		{"policy:\n  password:\n    min_length: 12\n", "policy.password.min_length: 12 is not allowed (at least 14)"},
		{"policy:\n  password:\n    min_length: 20\n    max_length: 10\n", "policy.password.max_length: 10"},
		{"policy:\n  code:\n    length: 4\n", "policy.code.length: 4"},
		{"policy:\n  code:\n    ttl: 1h\n", "policy.code.ttl: 1h0m0s"},
		{"policy:\n  code:\n    ttl: soon\n", `"soon" is not a duration`},
		{"captcha:\n  length: 3\n", "captcha.length: 3"},
		{"captcha:\n  enabled: maybe\n", "line 2"},
		{"ssh:\n  listen: nowhere\n", `ssh.listen: "nowhere"`},
		{"signin_url: javascript:alert(1)\n", "signin_url"},
		{"sigin_url: https://x\n", "field sigin_url not found"},
		{"ui:\n  idle_timeout: 1s\n", "ui.idle_timeout: 1s"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want it to say %q", c.body, err, c.want)
		}
	}
}

func TestEmptyConfigFileIsNotTheDemo(t *testing.T) {
	c, err := loadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.demo {
		t.Fatal("a config file, even empty, is not the demo")
	}
}
