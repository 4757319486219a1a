package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Config is the whole of sspr.yaml. Every key is documented in README.md.
type Config struct {
	DataDir string `yaml:"data_dir"`
	// SecretKeyFile keys the HMACs of codes, decoys and limit keys; every
	// instance sharing a store needs the same one.
	SecretKeyFile string          `yaml:"secret_key_file"`
	SignInURL     string          `yaml:"signin_url"`
	SSH           SSHConfig       `yaml:"ssh"`
	Captcha       CaptchaConfig   `yaml:"captcha"`
	Directory     DirectoryConfig `yaml:"directory"`
	Delivery      DeliveryConfig  `yaml:"delivery"`
	Policy        PolicyConfig    `yaml:"policy"`
	Audit         AuditConfig     `yaml:"audit"`
	UI            UIConfig        `yaml:"ui"`
	Limits        LimitsConfig    `yaml:"limits"`
	Notices       NoticesConfig   `yaml:"notices"`
	Store         StoreConfig     `yaml:"store"`
	Kiosk         KioskConfig     `yaml:"kiosk"`
	HTTP          HTTPConfig      `yaml:"http"`
	Methods       MethodsConfig   `yaml:"methods"`
	Debug         DebugConfig     `yaml:"debug"`
	Log           LogConfig       `yaml:"log"`

	// demo is true when no config file was given.
	demo bool
}

// SSHConfig is the `sspr serve` listener.
type SSHConfig struct {
	Listen         string   `yaml:"listen"`
	HostKey        string   `yaml:"host_key"`
	MaxSessions    int      `yaml:"max_sessions"`
	MaxSessionTime Duration `yaml:"max_session_time"`

	// SSH front block: limits per source, grace periods and the PROXY
	// protocol; defaults in fillSSHFront, checks in validateSSHFront.
	MaxPerSource       *int     `yaml:"max_per_source"` // 0: no cap
	NewPerSource       *int     `yaml:"new_per_source"` // 0: no cap
	NewPerSourceWindow Duration `yaml:"new_per_source_window"`
	LoginGrace         Duration `yaml:"login_grace"`
	ShutdownGrace      Duration `yaml:"shutdown_grace"`
	// FPS caps the frames per second of each session (default 30): an
	// echo waits for the next frame, and every frame tick wakes the
	// session.
	FPS           int                 `yaml:"fps"`
	ProxyProtocol ProxyProtocolConfig `yaml:"proxy_protocol"`
	// End of the SSH front block.
}

// CaptchaConfig switches the identify step's CAPTCHA.
type CaptchaConfig struct {
	Enabled *bool `yaml:"enabled"`
	Length  int   `yaml:"length"`
}

// DirectoryConfig says where users live.
type DirectoryConfig struct {
	Embedded EmbeddedConfig `yaml:"embedded"`
	// LDAP, when set, replaces the embedded directory (ldap.go).
	LDAP *LDAPConfig `yaml:"ldap"`
}

// EmbeddedConfig is the YAML user file.
type EmbeddedConfig struct {
	Path string `yaml:"path"`
	// TOTPKeyFile holds the key that encrypts authenticator secrets at
	// rest (or set SSPR_TOTP_KEY); without one they stay plain.
	TOTPKeyFile string `yaml:"totp_key_file"`
}

// DeliveryConfig says how texts, calls, pushes and emails go out.
type DeliveryConfig struct {
	Demo   DemoConfig    `yaml:"demo"`
	Twilio *TwilioConfig `yaml:"twilio"`
	SMTP   *SMTPConfig   `yaml:"smtp"`
	Ntfy   *NtfyConfig   `yaml:"ntfy"`
	Duo    *DuoConfig    `yaml:"duo"`
}

// DemoConfig is the in-terminal phone and its outbox file.
type DemoConfig struct {
	Outbox string `yaml:"outbox"`
}

// PolicyConfig holds the reset rules.
type PolicyConfig struct {
	MethodsRequired int            `yaml:"methods_required"`
	Password        PasswordConfig `yaml:"password"`
	Code            CodeConfig     `yaml:"code"`
	Email           *bool          `yaml:"email"`
	// Unlock offers a verified person whose account the directory has
	// locked to unlock it and keep the password (default true).
	Unlock     *bool            `yaml:"unlock"`
	Privileged PrivilegedConfig `yaml:"privileged"`
}

// PasswordConfig is the password policy.
type PasswordConfig struct {
	MinLength int   `yaml:"min_length"`
	MaxLength int   `yaml:"max_length"`
	Upper     *bool `yaml:"upper"`
	Lower     *bool `yaml:"lower"`
	Digit     *bool `yaml:"digit"`
	// MinScore is nil when unset (3); 0 turns the strength rule off.
	MinScore     *int   `yaml:"min_score"`
	BreachedFile string `yaml:"breached_file"`
}

// CodeConfig governs texted and emailed codes.
type CodeConfig struct {
	Length         int      `yaml:"length"`
	TTL            Duration `yaml:"ttl"`
	MaxAttempts    int      `yaml:"max_attempts"`
	ResendCooldown Duration `yaml:"resend_cooldown"`
}

// StoreConfig chooses where limits, suspensions and pending approvals
// live: in this process (the default) or in Redis, shared by instances.
type StoreConfig struct {
	Redis RedisConfig `yaml:"redis"`
}

// RedisConfig is a Redis server, Sentinel set or Cluster.
type RedisConfig struct {
	Addrs        []string `yaml:"addrs"`
	MasterName   string   `yaml:"master_name"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
	PasswordEnv  string   `yaml:"password_env"`
	DB           int      `yaml:"db"`
	Prefix       string   `yaml:"prefix"`
	TLS          bool     `yaml:"tls"`
	CAFile       string   `yaml:"ca_file"`
	Timeout      Duration `yaml:"timeout"`
}

// AuditConfig is where the audit trail goes.
type AuditConfig struct {
	Path string `yaml:"path"`
}

// UIConfig tunes the screens.
type UIConfig struct {
	IdleTimeout Duration `yaml:"idle_timeout"`
	// Plain draws every screen as plain lines for screen readers (also --plain).
	Plain bool `yaml:"plain"`
	// Lang is the language of the screens and messages (en, de, fr, or a
	// locale such as de_DE.UTF-8): the default over SSH, where a client's
	// LANG or LC_* naming a language offered wins, and the language of
	// run and kiosk; empty: their environment, else English.
	Lang string `yaml:"lang"`
}

// KioskConfig is `sspr kiosk`, the wizard on a shared local terminal.
type KioskConfig struct {
	// Name is the kiosk's source in audit lines and throttles.
	Name string `yaml:"name"`
	// Idle returns to the first screen after this long without input.
	Idle Duration `yaml:"idle"`
	// ExitKeys is the admin exit sequence; empty: the kiosk cannot be left.
	ExitKeys []string `yaml:"exit_keys"`
	// Log receives crash reports and anything written to standard error.
	Log string `yaml:"log"`
}

// Duration reads "90s", "5m" and the like.
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use e.g. 90s, 5m, 1h)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// loadConfig reads path, or returns the demo defaults when path is empty.
func loadConfig(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		c.demo = true
	} else {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is an empty config
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	c.fillDefaults()
	if err := c.validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	return c, nil
}

func (c *Config) fillDefaults() {
	if c.DataDir == "" {
		c.DataDir = "sspr-data"
	}
	join := func(p *string, name string) {
		if *p == "" {
			*p = filepath.Join(c.DataDir, name)
		}
	}
	if c.SSH.Listen == "" {
		c.SSH.Listen = ":2222"
	}
	join(&c.SSH.HostKey, "ssh_host_ed25519_key")
	if c.SSH.MaxSessions == 0 {
		c.SSH.MaxSessions = 500
	}
	if c.SSH.MaxSessionTime.Duration == 0 {
		c.SSH.MaxSessionTime.Duration = 15 * time.Minute
	}
	c.SSH.fillSSHFront()
	join(&c.Directory.Embedded.Path, "users.yaml")
	join(&c.Delivery.Demo.Outbox, "outbox.log")
	join(&c.Audit.Path, "audit.log")
	join(&c.SecretKeyFile, "secret.key")
	if c.Captcha.Length == 0 {
		c.Captcha.Length = 5
	}
	if c.Policy.MethodsRequired == 0 {
		c.Policy.MethodsRequired = 1
	}
	p := &c.Policy.Password
	if p.MinLength == 0 {
		p.MinLength = 14
	}
	if p.MaxLength == 0 {
		p.MaxLength = 256
	}
	if p.MinScore == nil {
		p.MinScore = new(3)
	}
	k := &c.Policy.Code
	if k.Length == 0 {
		k.Length = 8
	}
	if k.TTL.Duration == 0 {
		k.TTL.Duration = 5 * time.Minute
	}
	if k.MaxAttempts == 0 {
		k.MaxAttempts = 5
	}
	if k.ResendCooldown.Duration == 0 {
		k.ResendCooldown.Duration = 60 * time.Second
	}
	if c.UI.IdleTimeout.Duration == 0 {
		c.UI.IdleTimeout.Duration = 5 * time.Minute
	}
	c.Kiosk.fillDefaults()
	join(&c.Kiosk.Log, "kiosk.log")
	c.fillLimits()
	c.fillDelivery()
}

// validate names the first wrong field, its value and what is allowed.
func (c *Config) validate() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%s: %v is not allowed (%s)", field, v, allowed)
	}
	if err := c.Debug.validate(); err != nil {
		return err
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if c.SSH.FPS != 0 && (c.SSH.FPS < 10 || c.SSH.FPS > 120) {
		return bad("ssh.fps", c.SSH.FPS, "10 to 120 frames per second")
	}
	switch {
	case c.Policy.MethodsRequired != 1 && c.Policy.MethodsRequired != 2:
		return bad("policy.methods_required", c.Policy.MethodsRequired, "1 or 2")
	case c.Policy.Password.MinLength < 14:
		return bad("policy.password.min_length", c.Policy.Password.MinLength, "at least 14")
	case c.Policy.Password.MaxLength < c.Policy.Password.MinLength || c.Policy.Password.MaxLength > 1024:
		return bad("policy.password.max_length", c.Policy.Password.MaxLength, fmt.Sprintf("from min_length (%d) to 1024", c.Policy.Password.MinLength))
	case *c.Policy.Password.MinScore < 0 || *c.Policy.Password.MinScore > 4:
		return bad("policy.password.min_score", *c.Policy.Password.MinScore, "0 (off) to 4")
	case c.Policy.Code.Length < 6 || c.Policy.Code.Length > 10:
		return bad("policy.code.length", c.Policy.Code.Length, "6 to 10 digits")
	case c.Policy.Code.TTL.Duration < 30*time.Second || c.Policy.Code.TTL.Duration > 10*time.Minute:
		return bad("policy.code.ttl", c.Policy.Code.TTL.Duration, "30s to 10m")
	case c.Policy.Code.MaxAttempts < 1 || c.Policy.Code.MaxAttempts > 10:
		return bad("policy.code.max_attempts", c.Policy.Code.MaxAttempts, "1 to 10")
	case c.Policy.Code.ResendCooldown.Duration < 0 || c.Policy.Code.ResendCooldown.Duration > 10*time.Minute:
		return bad("policy.code.resend_cooldown", c.Policy.Code.ResendCooldown.Duration, "0s to 10m")
	case c.Captcha.Length < 5 || c.Captcha.Length > 8:
		return bad("captcha.length", c.Captcha.Length, "5 to 8 digits")
	case c.SSH.MaxSessions < 1:
		return bad("ssh.max_sessions", c.SSH.MaxSessions, "at least 1")
	case c.SSH.MaxSessionTime.Duration < time.Minute:
		return bad("ssh.max_session_time", c.SSH.MaxSessionTime.Duration, "at least 1m")
	case c.UI.IdleTimeout.Duration < 10*time.Second || c.UI.IdleTimeout.Duration > time.Hour:
		return bad("ui.idle_timeout", c.UI.IdleTimeout.Duration, "10s to 1h")
	case c.UI.Lang != "" && !langOffered(c.UI.Lang):
		return bad("ui.lang", fmt.Sprintf("%q", c.UI.Lang), "one of "+strings.Join(i18n.Languages(), ", ")+", or a locale of one of them")
	case c.SignInURL != "" && !strings.HasPrefix(c.SignInURL, "https://") && !strings.HasPrefix(c.SignInURL, "http://"):
		return bad("signin_url", fmt.Sprintf("%q", c.SignInURL), "an http:// or https:// URL")
	}
	if _, _, err := splitHostPort(c.SSH.Listen); err != nil {
		return bad("ssh.listen", fmt.Sprintf("%q", c.SSH.Listen), "host:port, e.g. :2222 or 127.0.0.1:2222")
	}
	if err := c.SSH.validateSSHFront(bad); err != nil {
		return err
	}
	if err := c.Directory.LDAP.validate(bad); err != nil {
		return err
	}
	if err := c.Store.Redis.validate(bad); err != nil {
		return err
	}
	if err := c.Kiosk.validate(bad); err != nil {
		return err
	}
	if err := c.validateDelivery(bad); err != nil {
		return err
	}
	if err := c.validateSMTP(bad); err != nil {
		return err
	}
	if err := c.validatePush(bad); err != nil {
		return err
	}
	if err := c.Directory.Embedded.validateTOTPKey(bad); err != nil {
		return err
	}
	return c.validateLimits(bad)
}

// validate checks the Redis keys when Redis is chosen (addrs not empty).
func (r *RedisConfig) validate(bad func(field string, v any, allowed string) error) error {
	if len(r.Addrs) == 0 {
		if r.MasterName != "" || r.Password != "" || r.PasswordFile != "" || r.PasswordEnv != "" || r.TLS || r.CAFile != "" {
			return bad("store.redis.addrs", "[]", "at least one host:port when other store.redis keys are set")
		}
		return nil
	}
	for i, a := range r.Addrs {
		if _, _, err := splitHostPort(a); err != nil {
			return bad(fmt.Sprintf("store.redis.addrs[%d]", i), fmt.Sprintf("%q", a), "host:port")
		}
	}
	n := 0
	for _, set := range []bool{r.Password != "", r.PasswordFile != "", r.PasswordEnv != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return bad("store.redis.password", "given more than once", "one of password, password_file, password_env")
	case r.DB < 0 || r.DB > 15:
		return bad("store.redis.db", r.DB, "0 to 15")
	case r.Timeout.Duration < 0 || r.Timeout.Duration > time.Minute:
		return bad("store.redis.timeout", r.Timeout.Duration, "0s (the client's default) to 1m")
	case r.CAFile != "" && !r.TLS:
		return bad("store.redis.ca_file", fmt.Sprintf("%q", r.CAFile), "only with store.redis.tls: true")
	}
	return nil
}

// password reads the Redis password from where the config says.
func (r *RedisConfig) password() (string, error) {
	switch {
	case r.PasswordFile != "":
		b, err := os.ReadFile(r.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("store.redis.password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case r.PasswordEnv != "":
		v, ok := os.LookupEnv(r.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("store.redis.password_env: %s is not set", r.PasswordEnv)
		}
		return v, nil
	}
	return r.Password, nil
}

// SSH front block: the hardening keys of `sspr serve`.

// ProxyProtocolConfig lists the load balancers whose PROXY protocol
// headers are trusted; empty turns the PROXY protocol off.
type ProxyProtocolConfig struct {
	Trusted []string `yaml:"trusted"`
}

func (s *SSHConfig) fillSSHFront() {
	intOr := func(p **int, def int) {
		if *p == nil {
			*p = &def
		}
	}
	intOr(&s.MaxPerSource, 3)
	intOr(&s.NewPerSource, 10)
	if s.NewPerSourceWindow.Duration == 0 {
		s.NewPerSourceWindow.Duration = 10 * time.Second
	}
	if s.LoginGrace.Duration == 0 {
		s.LoginGrace.Duration = 30 * time.Second
	}
	if s.ShutdownGrace.Duration == 0 {
		s.ShutdownGrace.Duration = 10 * time.Second
	}
}

func (s *SSHConfig) validateSSHFront(bad func(field string, v any, allowed string) error) error {
	switch {
	case *s.MaxPerSource < 0 || *s.MaxPerSource > 1000:
		return bad("ssh.max_per_source", *s.MaxPerSource, "0 (no cap) to 1000")
	case *s.NewPerSource < 0 || *s.NewPerSource > 10000:
		return bad("ssh.new_per_source", *s.NewPerSource, "0 (no cap) to 10000")
	case s.NewPerSourceWindow.Duration < time.Second || s.NewPerSourceWindow.Duration > time.Hour:
		return bad("ssh.new_per_source_window", s.NewPerSourceWindow.Duration, "1s to 1h")
	case s.LoginGrace.Duration < 5*time.Second || s.LoginGrace.Duration > 5*time.Minute:
		return bad("ssh.login_grace", s.LoginGrace.Duration, "5s to 5m")
	case s.ShutdownGrace.Duration < time.Second || s.ShutdownGrace.Duration > 10*time.Minute:
		return bad("ssh.shutdown_grace", s.ShutdownGrace.Duration, "1s to 10m")
	}
	for i, t := range s.ProxyProtocol.Trusted {
		if _, err := parsePrefix(t); err != nil {
			return bad(fmt.Sprintf("ssh.proxy_protocol.trusted[%d]", i), fmt.Sprintf("%q", t), "an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24")
		}
	}
	return nil
}

// proxyTrusted is ssh.proxy_protocol.trusted, parsed (validate checked it).
func (s *SSHConfig) proxyTrusted() []netip.Prefix {
	var out []netip.Prefix
	for _, t := range s.ProxyProtocol.Trusted {
		if p, err := parsePrefix(t); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix reads "10.0.0.0/24", or "10.0.0.5" as its own /32 (/128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// End of the SSH front block.

// Limits block: the throttles (limits.*), the privileged accounts
// (policy.privileged.*) and the notices after a reset (notices.*).

// LimitsConfig is limits.*; zero values take the defaults of
// flow.DefaultLimits.
type LimitsConfig struct {
	Failures                 int      `yaml:"failures"`
	FailureWindow            Duration `yaml:"failure_window"`
	Suspension               Duration `yaml:"suspension"`
	ConsecutiveFailures      int      `yaml:"consecutive_failures"`
	SendGap                  Duration `yaml:"send_gap"`
	SendsPerAccount          []Rate   `yaml:"sends_per_account"`
	SendsPerDestination      []Rate   `yaml:"sends_per_destination"`
	SendsGlobal              Rate     `yaml:"sends_global"`
	SessionsPerSource        Rate     `yaml:"sessions_per_source"`
	IdentifyPerSource        Rate     `yaml:"identify_per_source"`
	TrustedSources           []string `yaml:"trusted_sources"`
	TrustedSessionsPerSource Rate     `yaml:"trusted_sessions_per_source"`
	TrustedIdentifyPerSource Rate     `yaml:"trusted_identify_per_source"`
	IdentifyFloor            Duration `yaml:"identify_floor"`
	IdentifyJitter           Duration `yaml:"identify_jitter"`
	SendFloor                Duration `yaml:"send_floor"`
	SendJitter               Duration `yaml:"send_jitter"`
}

// PrivilegedConfig is policy.privileged.*.
type PrivilegedConfig struct {
	Logins []string `yaml:"logins"`
	Groups []string `yaml:"groups"`
	Mode   string   `yaml:"mode"`
}

// NoticesConfig is notices.*.
type NoticesConfig struct {
	Helpdesk string   `yaml:"helpdesk"`
	Admins   []string `yaml:"admins"`
}

// Rate reads "3/15m": at most 3 in any 15 minutes.
type Rate struct{ flow.Rate }

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	count, per, ok := strings.Cut(n.Value, "/")
	c, err := strconv.Atoi(strings.TrimSpace(count))
	d, derr := time.ParseDuration(strings.TrimSpace(per))
	if !ok || err != nil || derr != nil {
		return fmt.Errorf("line %d: %q is not a rate (use a count and a duration, e.g. 3/15m)", n.Line, n.Value)
	}
	r.Rate = flow.Rate{Count: c, Per: d}
	return nil
}

func (r Rate) String() string { return r.Rate.String() }

func (c *Config) fillLimits() {
	d := flow.DefaultLimits()
	l := &c.Limits
	num := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	dur := func(v *Duration, def time.Duration) {
		if v.Duration == 0 {
			v.Duration = def
		}
	}
	rate := func(v *Rate, def flow.Rate) {
		if v.Rate == (flow.Rate{}) {
			v.Rate = def
		}
	}
	rates := func(v *[]Rate, def []flow.Rate) {
		if *v == nil {
			for _, r := range def {
				*v = append(*v, Rate{r})
			}
		}
	}
	num(&l.Failures, d.Failures)
	dur(&l.FailureWindow, d.FailureWindow)
	dur(&l.Suspension, d.Suspension)
	num(&l.ConsecutiveFailures, d.ConsecutiveFailures)
	dur(&l.SendGap, d.SendGap)
	rates(&l.SendsPerAccount, d.SendsPerAccount)
	rates(&l.SendsPerDestination, d.SendsPerDestination)
	rate(&l.SendsGlobal, d.SendsGlobal)
	rate(&l.SessionsPerSource, d.SessionsPerSource)
	rate(&l.IdentifyPerSource, d.IdentifyPerSource)
	rate(&l.TrustedSessionsPerSource, d.TrustedSessions)
	rate(&l.TrustedIdentifyPerSource, d.TrustedIdentify)
	dur(&l.IdentifyFloor, d.IdentifyFloor)
	dur(&l.IdentifyJitter, d.IdentifyJitter)
	dur(&l.SendFloor, d.SendFloor)
	dur(&l.SendJitter, d.SendJitter)
	if c.Policy.Privileged.Mode == "" {
		c.Policy.Privileged.Mode = string(flow.PrivilegedTwoMethods)
	}
}

func (c *Config) validateLimits(bad func(field string, v any, allowed string) error) error {
	l := c.Limits
	between := func(field string, v, lo, hi time.Duration) error {
		if v < lo || v > hi {
			return bad(field, v, fmt.Sprintf("%s to %s", lo, hi))
		}
		return nil
	}
	rate := func(field string, r Rate) error {
		if r.Count < 1 || r.Count > 1000000 || r.Per < time.Second || r.Per > 30*24*time.Hour {
			return bad(field, r, "a count of 1 to 1000000 per 1s to 720h, e.g. 3/15m")
		}
		return nil
	}
	switch {
	case l.Failures < 1 || l.Failures > 100:
		return bad("limits.failures", l.Failures, "1 to 100")
	case l.ConsecutiveFailures < 1 || l.ConsecutiveFailures > 100:
		return bad("limits.consecutive_failures", l.ConsecutiveFailures, "1 to 100 (NIST SP 800-63B)")
	case len(l.SendsPerAccount) == 0:
		return bad("limits.sends_per_account", "[]", "at least one rate, e.g. [3/15m, 10/24h]")
	case len(l.SendsPerDestination) == 0:
		return bad("limits.sends_per_destination", "[]", "at least one rate, e.g. [3/15m, 10/24h]")
	}
	for _, x := range []struct {
		field  string
		v      time.Duration
		lo, hi time.Duration
	}{
		{"limits.failure_window", l.FailureWindow.Duration, time.Minute, 24 * time.Hour},
		{"limits.suspension", l.Suspension.Duration, time.Minute, 30 * 24 * time.Hour},
		{"limits.send_gap", l.SendGap.Duration, time.Second, time.Hour},
		{"limits.identify_floor", l.IdentifyFloor.Duration, 100 * time.Millisecond, 10 * time.Second},
		{"limits.identify_jitter", l.IdentifyJitter.Duration, time.Millisecond, 2 * time.Second},
		{"limits.send_floor", l.SendFloor.Duration, 50 * time.Millisecond, 5 * time.Second},
		{"limits.send_jitter", l.SendJitter.Duration, time.Millisecond, 2 * time.Second},
	} {
		if err := between(x.field, x.v, x.lo, x.hi); err != nil {
			return err
		}
	}
	for i, r := range l.SendsPerAccount {
		if err := rate(fmt.Sprintf("limits.sends_per_account[%d]", i), r); err != nil {
			return err
		}
	}
	for i, r := range l.SendsPerDestination {
		if err := rate(fmt.Sprintf("limits.sends_per_destination[%d]", i), r); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		field string
		r     Rate
	}{
		{"limits.sends_global", l.SendsGlobal}, {"limits.sessions_per_source", l.SessionsPerSource},
		{"limits.identify_per_source", l.IdentifyPerSource},
		{"limits.trusted_sessions_per_source", l.TrustedSessionsPerSource},
		{"limits.trusted_identify_per_source", l.TrustedIdentifyPerSource},
	} {
		if err := rate(x.field, x.r); err != nil {
			return err
		}
	}
	for i, s := range l.TrustedSources {
		field := fmt.Sprintf("limits.trusted_sources[%d]", i)
		switch {
		case strings.Contains(s, "/"):
			if _, err := netip.ParsePrefix(s); err != nil {
				return bad(field, fmt.Sprintf("%q", s), "an address, a CIDR range (e.g. 10.1.0.0/16) or a kiosk name")
			}
		case s == "" || s != flow.Sanitize(s, 128) || strings.ContainsAny(s, " \t"):
			return bad(field, fmt.Sprintf("%q", flow.Sanitize(s, 128)), "an address, a CIDR range (e.g. 10.1.0.0/16) or a kiosk name")
		}
	}
	p := c.Policy.Privileged
	switch flow.PrivilegedMode(p.Mode) {
	case flow.PrivilegedTwoMethods, flow.PrivilegedExcluded:
	default:
		return bad("policy.privileged.mode", fmt.Sprintf("%q", p.Mode), "two_methods or excluded")
	}
	for i, s := range p.Logins {
		if strings.TrimSpace(s) == "" || s != flow.Sanitize(s, flow.MaxLoginLen) {
			return bad(fmt.Sprintf("policy.privileged.logins[%d]", i), fmt.Sprintf("%q", flow.Sanitize(s, 64)), "a login or an email")
		}
	}
	for i, s := range p.Groups {
		if strings.TrimSpace(s) == "" || s != flow.Sanitize(s, 512) {
			return bad(fmt.Sprintf("policy.privileged.groups[%d]", i), fmt.Sprintf("%q", flow.Sanitize(s, 64)), "a group name or DN")
		}
	}
	if h := c.Notices.Helpdesk; h != flow.Sanitize(h, 200) {
		return bad("notices.helpdesk", fmt.Sprintf("%q", flow.Sanitize(h, 64)), "up to 200 characters, no control characters")
	}
	for i, a := range c.Notices.Admins {
		if at := strings.LastIndexByte(a, '@'); at < 1 || at == len(a)-1 || a != flow.Sanitize(a, 320) || strings.ContainsAny(a, " \t,;<>") {
			return bad(fmt.Sprintf("notices.admins[%d]", i), fmt.Sprintf("%q", flow.Sanitize(a, 64)), "an email address")
		}
	}
	return nil
}

// flowLimits is limits.* for the engine.
func (c *Config) flowLimits() flow.Limits {
	l := c.Limits
	plain := func(rs []Rate) []flow.Rate {
		out := make([]flow.Rate, len(rs))
		for i, r := range rs {
			out[i] = r.Rate
		}
		return out
	}
	return flow.Limits{
		Failures:            l.Failures,
		FailureWindow:       l.FailureWindow.Duration,
		Suspension:          l.Suspension.Duration,
		ConsecutiveFailures: l.ConsecutiveFailures,
		SendGap:             l.SendGap.Duration,
		SendsPerAccount:     plain(l.SendsPerAccount),
		SendsPerDestination: plain(l.SendsPerDestination),
		SendsGlobal:         l.SendsGlobal.Rate,
		SessionsPerSource:   l.SessionsPerSource.Rate,
		IdentifyPerSource:   l.IdentifyPerSource.Rate,
		TrustedSources:      l.TrustedSources,
		TrustedSessions:     l.TrustedSessionsPerSource.Rate,
		TrustedIdentify:     l.TrustedIdentifyPerSource.Rate,
		IdentifyFloor:       l.IdentifyFloor.Duration,
		IdentifyJitter:      l.IdentifyJitter.Duration,
		SendFloor:           l.SendFloor.Duration,
		SendJitter:          l.SendJitter.Duration,
	}
}

// End of the limits block.

// langOffered reports whether l names a language sspr offers.
func langOffered(l string) bool {
	_, ok := i18n.Match(l)
	return ok
}
