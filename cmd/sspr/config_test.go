package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
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
		{"ssh:\n  fps: 5\n", "ssh.fps: 5"},
		{"ssh:\n  fps: 500\n", "ssh.fps: 500"},
		{"ui:\n  lang: pt\n", "ui.lang"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want it to say %q", c.body, err, c.want)
		}
	}
}

func TestFPSAndLangAccepted(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "ssh:\n  fps: 60\nui:\n  lang: de_DE.UTF-8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SSH.FPS != 60 || c.UI.Lang == "" {
		t.Fatalf("fps %d, lang %q", c.SSH.FPS, c.UI.Lang)
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

func TestLimitsDefaults(t *testing.T) {
	c, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.flowLimits(), flow.DefaultLimits()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("limits\n got %+v\nwant %+v", got, want)
	}
	if c.Policy.Privileged.Mode != "two_methods" || len(c.Policy.Privileged.Logins) != 0 || c.Notices.Helpdesk != "" {
		t.Fatalf("privileged %+v, notices %+v", c.Policy.Privileged, c.Notices)
	}
}

func TestLimitsKeys(t *testing.T) {
	p := writeConfig(t, `
limits:
  failures: 3
  failure_window: 30m
  suspension: 12h
  consecutive_failures: 50
  send_gap: 90s
  sends_per_account: [2/10m, 8/24h]
  sends_per_destination: ["4/15m"]
  sends_global: 200/1h
  sessions_per_source: 5/10s
  identify_per_source: 10/1h
  trusted_sources: [10.1.0.0/16, 192.0.2.10, kiosk-lobby]
  trusted_sessions_per_source: 50/10s
  trusted_identify_per_source: 500/1h
  identify_floor: 1500ms
  identify_jitter: 300ms
  send_floor: 500ms
  send_jitter: 100ms
policy:
  privileged:
    logins: [administrator]
    groups: ["CN=Domain Admins,CN=Users,DC=example,DC=com"]
    mode: excluded
notices:
  helpdesk: "+1 212 555 0100"
  admins: [security@example.com]
`)
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := flow.Limits{
		Failures: 3, FailureWindow: 30 * time.Minute, Suspension: 12 * time.Hour, ConsecutiveFailures: 50,
		SendGap:             90 * time.Second,
		SendsPerAccount:     []flow.Rate{{Count: 2, Per: 10 * time.Minute}, {Count: 8, Per: 24 * time.Hour}},
		SendsPerDestination: []flow.Rate{{Count: 4, Per: 15 * time.Minute}},
		SendsGlobal:         flow.Rate{Count: 200, Per: time.Hour},
		SessionsPerSource:   flow.Rate{Count: 5, Per: 10 * time.Second},
		IdentifyPerSource:   flow.Rate{Count: 10, Per: time.Hour},
		TrustedSources:      []string{"10.1.0.0/16", "192.0.2.10", "kiosk-lobby"},
		TrustedSessions:     flow.Rate{Count: 50, Per: 10 * time.Second},
		TrustedIdentify:     flow.Rate{Count: 500, Per: time.Hour},
		IdentifyFloor:       1500 * time.Millisecond, IdentifyJitter: 300 * time.Millisecond,
		SendFloor: 500 * time.Millisecond, SendJitter: 100 * time.Millisecond,
	}
	if got := c.flowLimits(); !reflect.DeepEqual(got, want) {
		t.Fatalf("limits\n got %+v\nwant %+v", got, want)
	}
	pr := c.Policy.Privileged
	if pr.Mode != "excluded" || !reflect.DeepEqual(pr.Logins, []string{"administrator"}) || len(pr.Groups) != 1 {
		t.Fatalf("privileged %+v", pr)
	}
	if c.Notices.Helpdesk != "+1 212 555 0100" || !reflect.DeepEqual(c.Notices.Admins, []string{"security@example.com"}) {
		t.Fatalf("notices %+v", c.Notices)
	}
	// The engine takes them as they are.
	c.DataDir = t.TempDir()
	c.Directory.Embedded.Path = filepath.Join(c.DataDir, "users.yaml")
	c.Delivery.Demo.Outbox = filepath.Join(c.DataDir, "outbox.log")
	c.Audit.Path = filepath.Join(c.DataDir, "audit.log")
	c.SecretKeyFile = filepath.Join(c.DataDir, "secret.key")
	if err := os.WriteFile(c.Directory.Embedded.Path, []byte("users: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := wire(c)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ec := a.engine.Config()
	if !reflect.DeepEqual(ec.Limits, want) || ec.Privileged.Mode != flow.PrivilegedExcluded || ec.Notices.Admins[0] != "security@example.com" {
		t.Fatalf("engine config %+v", ec)
	}
}

// TestPolicyUnlock: policy.unlock reaches the engine; by default a locked
// account may be unlocked without a new password.
func TestPolicyUnlock(t *testing.T) {
	for _, c := range []struct {
		body     string
		disabled bool
	}{{"", false}, {"policy:\n  unlock: true\n", false}, {"policy:\n  unlock: false\n", true}} {
		dir := t.TempDir()
		cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\n"+c.body))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg.Directory.Embedded.Path, []byte("users: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := wire(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := a.engine.Config().UnlockDisabled
		a.Close()
		if got != c.disabled {
			t.Errorf("%q: UnlockDisabled %v, want %v", c.body, got, c.disabled)
		}
	}
}

func TestLimitsNameTheWrongField(t *testing.T) {
	cases := []struct{ body, want string }{
		{"limits:\n  failures: 101\n", "limits.failures: 101 is not allowed (1 to 100)"},
		{"limits:\n  consecutive_failures: 500\n", "limits.consecutive_failures: 500 is not allowed (1 to 100"},
		{"limits:\n  failure_window: 48h\n", "limits.failure_window: 48h0m0s"},
		{"limits:\n  suspension: 10s\n", "limits.suspension: 10s"},
		{"limits:\n  send_gap: 2h\n", "limits.send_gap: 2h0m0s"},
		{"limits:\n  sends_per_account: [3/15m, 0/1h]\n", "limits.sends_per_account[1]: 0/1h0m0s"},
		{"limits:\n  sends_per_account: []\n", "limits.sends_per_account: [] is not allowed"},
		{"limits:\n  sends_per_destination: [three per hour]\n", `"three per hour" is not a rate`},
		{"limits:\n  sends_global: 500\n", `"500" is not a rate (use a count and a duration, e.g. 3/15m)`},
		{"limits:\n  sessions_per_source: 10/0s\n", "limits.sessions_per_source: 10/0s"},
		{"limits:\n  trusted_sources: [10.0.0.0/33]\n", `limits.trusted_sources[0]: "10.0.0.0/33"`},
		{"limits:\n  trusted_sources: [\"kiosk one\"]\n", `limits.trusted_sources[0]: "kiosk one"`},
		{"limits:\n  identify_floor: 10ms\n", "limits.identify_floor: 10ms is not allowed (100ms to 10s)"},
		{"limits:\n  send_jitter: 5s\n", "limits.send_jitter: 5s"},
		{"limits:\n  failurs: 3\n", "field failurs not found"},
		{"policy:\n  privileged:\n    mode: never\n", `policy.privileged.mode: "never" is not allowed (two_methods or excluded)`},
		{"policy:\n  privileged:\n    logins: [\" \"]\n", "policy.privileged.logins[0]"},
		{"policy:\n  privileged:\n    groups: [\"\"]\n", "policy.privileged.groups[0]"},
		{"notices:\n  admins: [security]\n", `notices.admins[0]: "security" is not allowed (an email address)`},
		{"notices:\n  helpdesk: \"call\\u001b[31m\"\n", "notices.helpdesk"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want it to say %q", c.body, err, c.want)
		}
	}
}

// FuzzLoadConfig: any file content gives a config or an error, never a
// panic, and an accepted config passes its own validation.
func FuzzLoadConfig(f *testing.F) {
	f.Add("policy:\n  methods_required: 2\n")
	f.Add("ssh:\n  listen: 127.0.0.1:2222\nlimits:\n  sends_global: 10/1h\n")
	f.Add("store:\n  redis:\n    addrs: [\"127.0.0.1:6379\"]\n")
	f.Add("captcha: [1, 2]\n")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "sspr.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(p)
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("an accepted config fails validation: %v", err)
		}
	})
}
