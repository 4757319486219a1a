package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// writeConfig writes a config for the tests. Most tests use the demo
// phone, which a config file must allow with demo: true; a body that says
// nothing of demo gets it. writeConfigAs writes the body as it is.
// update rewrites generated files (docs/CONFIG.md) instead of comparing.
var update = flag.Bool("update", false, "rewrite docs/CONFIG.md from the config structs")

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	if !strings.HasPrefix(body, "demo:") && !strings.Contains(body, "\ndemo:") {
		body = "demo: true\n" + body
	}
	return writeConfigAs(t, body)
}

func writeConfigAs(t *testing.T, body string) string {
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
	if !c.demo || c.Policy.MethodsRequired != 1 || c.Policy.Password.MinLength != 14 || c.SSH.Listen != "127.0.0.1:2222" {
		t.Fatalf("demo defaults: %+v", c)
	}
	if c.Directory.Embedded.Path != filepath.Join("sspr-data", "users.yaml") || c.Methods.Text != providerDemo {
		t.Fatalf("embedded path %q, methods %+v", c.Directory.Embedded.Path, c.Methods)
	}
	if !c.Captcha.Enabled || !c.Policy.Email || !c.Policy.Unlock {
		t.Fatal("captcha, email and unlock must default to on")
	}
	if got := c.Limits; !reflect.DeepEqual(got, flow.DefaultLimits()) {
		t.Fatalf("limits %+v", got)
	}
	// With a file, the SSH default is every interface: the file said so.
	f, err := loadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if f.demo || f.SSH.Listen != ":2222" {
		t.Fatalf("a config file, even empty, is not the demo: %+v", f.SSH)
	}
}

func TestConfigReadsKeys(t *testing.T) {
	p := writeConfigAs(t, `
data_dir: /var/lib/sspr
signin_url: https://login.example.com
methods: {text: off, email: off, call: off, push: off}
ssh:
  listen: 127.0.0.1:2022
  max_per_source: 0
  fps: 60
captcha: {enabled: false}
policy:
  methods_required: 2
  email: false
  unlock: false
  password: {min_length: 16, max_length: 128, upper: false, min_score: 0}
  code: {length: 6, ttl: 3m, max_attempts: 3, resend_cooldown: 0s}
  phone: {default_region: DE}
  privileged: {logins: [administrator], mode: excluded}
limits:
  failure_window: 30m
  send_gap: 0s
  sends_per_account: [2/10m, 8/24h]
  trusted_sources: [10.1.0.0/16, kiosk-lobby]
notices: {helpdesk: "+1 212 555 0100", admins: [security@example.com]}
ui: {idle_timeout: 90s, lang: de_DE.UTF-8}
`)
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/sspr" || c.SSH.Listen != "127.0.0.1:2022" || c.SSH.MaxPerSource != 0 || c.SSH.FPS != 60 ||
		c.SSH.HostKey != "/var/lib/sspr/ssh_host_ed25519_key" || c.Captcha.Enabled || c.Policy.MethodsRequired != 2 ||
		c.Policy.Password.MinScore != 0 || c.Policy.Code.ResendCooldown != 0 || c.Policy.Phone.DefaultRegion != "DE" ||
		c.Limits.SendGap != 0 || c.Limits.FailureWindow != 30*time.Minute || c.UI.IdleTimeout != 90*time.Second ||
		!reflect.DeepEqual(c.Limits.SendsPerAccount, []flow.Rate{{Count: 2, Per: 10 * time.Minute}, {Count: 8, Per: 24 * time.Hour}}) {
		t.Fatalf("config %+v", c)
	}
	ec := c.Settings.Config(make([]byte, 32), nil, c.UI.Lang)
	if ec.ResendCooldown != 0 || ec.Limits.SendGap != 0 || ec.PhoneRegion != "DE" || ec.Privileged.Mode != flow.PrivilegedExcluded || ec.Notices.Lang == "" || !ec.UnlockDisabled || ec.EmailEnabled {
		t.Fatalf("engine config %+v", ec)
	}
}

// TestBadConfigs: each wrong config is refused, and the error names the
// dotted key path of what is wrong.
func TestBadConfigs(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.pw")
	os.WriteFile(open, []byte("secret\n"), 0o640)
	ldapBlock := func(extra string) string {
		return "directory:\n  ldap:\n    urls: [ldaps://dc1.example.com]\n    bind_dn: cn=sspr,dc=example,dc=com\n    bind_password: x\n    base_dn: dc=example,dc=com\n" + extra
	}
	cases := []struct{ name, body, want string }{
		{"typo key", "demo: true\nsigin_url: https://x\n", "line 2: sigin_url: unknown key (did you mean signin_url?)"},
		{"typo nested key", "demo: true\n" + ldapBlock("    conect_timeout: 5s\n"), "directory.ldap.conect_timeout: unknown key (did you mean connect_timeout?)"},
		{"bad duration", "demo: true\npolicy:\n  code:\n    ttl: soon\n", `line 4: policy.code.ttl: "soon" is not a duration`},
		{"out of range", "demo: true\nlimits:\n  identify_floor: 10ms\n", "limits.identify_floor: 10ms is not allowed (100ms to 10s)"},
		{"bad rate", "demo: true\nlimits:\n  sends_global: 500\n", `limits.sends_global: "500" is not a rate`},
		{"unreadable CA file", "demo: true\n" + ldapBlock("    ca_file: /nonexistent/ca.pem\n"), `directory.ldap.ca_file: "/nonexistent/ca.pem" is not a readable file`},
		{"redis CA file", "demo: true\nstore:\n  redis:\n    addrs: [127.0.0.1:6379]\n    tls: true\n    ca_file: /nonexistent/ca.pem\n", "store.redis.ca_file:"},
		{"group-readable secret file", "demo: true\n" + strings.Replace(ldapBlock(""), "bind_password: x", "bind_password_file: "+open, 1), "directory.ldap.bind_password: " + open + " is mode 0640: its group or others may read it"},
		{"secret given twice", "demo: true\nstore:\n  redis:\n    addrs: [127.0.0.1:6379]\n    password: a\n    password_env: HOME\n", "store.redis.password: given more than once"},
		{"empty secret variable", "demo: true\nhttp:\n  metrics_token_env: SSPR_TEST_EMPTY_TOKEN\n", "http.metrics_token: is empty"},
		{"missing methods with a real directory", ldapBlock(""), "methods: is missing"},
		{"missing methods with an embedded file", "data_dir: " + dir + "\n", "methods: is missing"},
		{"demo methods with a real directory", ldapBlock("methods: {text: demo, email: off}\n"), "methods.text: demo draws every code on the person's own screen"},
		{"unknown provider", "methods: {text: sms}\n", `methods.text: "sms" is not allowed (demo, twilio, http, email2sms, off)`},
		{"provider block missing", "methods: {email: smtp}\n", "delivery.smtp: is missing: methods name smtp"},
		{"bad region", "demo: true\npolicy:\n  phone:\n    default_region: Mars\n", "policy.phone.default_region:"},
		{"bad language", "demo: true\nui:\n  lang: pt\n", "ui.lang:"},
		{"wrong kind", "demo: true\ncaptcha: [1, 2]\n", "captcha: must be a block of keys"},
		{"explicit null", "demo: true\nssh:\n  listen:\n", "ssh.listen: has no value"},
		{"debug off loopback", "demo: true\ndebug:\n  listen: 0.0.0.0:6060\n", "debug.listen:"},
	}
	t.Setenv("SSPR_TEST_EMPTY_TOKEN", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(writeConfigAs(t, c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant it to say %q", err, c.want)
			}
		})
	}
}

// TestEveryErrorReported: a config with several mistakes names all of
// them, in the order of the file.
func TestEveryErrorReported(t *testing.T) {
	_, err := loadConfig(writeConfigAs(t, `demo: true
ssh:
  fps: 500
  listen: nowhere
policy:
  code: {length: 4, ttl: 1h}
limits:
  failurs: 3
ui:
  idle_timeout: 1s
`))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want every error, got %v", err)
	}
	want := []string{"ssh.fps", "ssh.listen", "policy.code.length", "policy.code.ttl", "limits.failurs", "ui.idle_timeout"}
	if len(es) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if es[i].Path != w {
			t.Errorf("error %d is at %s, want %s", i, es[i].Path, w)
		}
	}
	if !strings.Contains(err.Error(), "6 errors:") {
		t.Errorf("no count: %v", err)
	}
}

// TestConfigReference: docs/CONFIG.md's table is the one the structs
// write; run `go test ./cmd/sspr -run TestConfigReference -update` after
// changing a key.
func TestConfigReference(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "CONFIG.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- keys: begin -->\n", "<!-- keys: end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", path, begin, end)
	}
	table := config.Markdown(config.Reference(defaultConfig(true)))
	if string(doc[i+len(begin):j]) == table {
		return
	}
	if *update {
		out := string(doc[:i+len(begin)]) + table + string(doc[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is stale: run go test ./cmd/sspr -run TestConfigReference -update", path)
}

// TestExampleConfig: the commented example ships loadable.
func TestExampleConfig(t *testing.T) {
	t.Setenv("SSPR_LDAP_PASSWORD", "example")
	t.Setenv("SSPR_TWILIO_TOKEN", "example")
	t.Setenv("SSPR_SMTP_PASSWORD", "example")
	c, err := loadConfig(filepath.Join("..", "..", "examples", "sspr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo || c.Methods.uses(providerDemo) || c.Directory.LDAP == nil || !c.Captcha.Enabled {
		t.Fatalf("the example must be a production config: %+v", c)
	}
}

// FuzzLoadConfig: any file content gives a config or an error, never a
// panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add("policy:\n  methods_required: 2\n")
	f.Add("demo: true\nssh:\n  listen: 127.0.0.1:2222\nlimits:\n  sends_global: 10/1h\n")
	f.Add("store:\n  redis:\n    addrs: [\"127.0.0.1:6379\"]\n")
	f.Add("captcha: [1, 2]\n")
	f.Add("a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "sspr.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(p)
		if err != nil {
			return
		}
		if err := config.Check(c); err != nil {
			t.Fatalf("an accepted config fails its checks: %v", err)
		}
	})
}

// TestSecretKeyMustBePrivate: a secret.key its group or others may read is
// refused at start, naming the key, the path and the mode.
func TestSecretKeyMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig(writeConfig(t, "data_dir: "+dir+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.SecretKeyFile, make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = wire(cfg)
	if err == nil || !strings.Contains(err.Error(), "secret_key_file: "+cfg.SecretKeyFile+" is mode 0644") {
		t.Fatalf("a readable secret key: %v", err)
	}
}
