package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Config is the whole of sspr.yaml: the root that composes the blocks of
// the packages that own them (flow.Settings gives captcha, policy, limits
// and notices). docs/CONFIG.md is written from these structs' tags
// (TestConfigReference keeps it current).
type Config struct {
	// Demo allows the demo phone with a config file: codes then appear on
	// the person's own screen, which is a demonstration, never a service.
	Demo          bool   `yaml:"demo" doc:"allow methods to use the demo phone (codes drawn on the person's own screen) with a config file; serve warns at every start and every screen says it is a demo. Without a config file sspr is the demo"`
	DataDir       string `yaml:"data_dir" doc:"where sspr keeps its files: the secret key of codes and decoys, the host key, the demo directory, the outbox and the audit log"`
	SecretKeyFile string `yaml:"secret_key_file" default:"<data_dir>/secret.key" doc:"32 random bytes, made on first start (0600), that key the hashes of codes, decoys and limit keys; every instance sharing one store needs the same file, and a file its group or others may read is refused"`
	SignInURL     string `yaml:"signin_url" doc:"shown on the last screen: \"To sign in with your new password, go to ...\" (http or https)"`

	flow.Settings `yaml:",inline"`

	SSH       SSHConfig       `yaml:"ssh"`
	Directory DirectoryConfig `yaml:"directory"`
	Methods   MethodsConfig   `yaml:"methods"`
	Delivery  DeliveryConfig  `yaml:"delivery"`
	HTTP      HTTPConfig      `yaml:"http"`
	Store     StoreConfig     `yaml:"store"`
	Audit     AuditConfig     `yaml:"audit"`
	Log       LogConfig       `yaml:"log"`
	UI        UIConfig        `yaml:"ui"`
	Kiosk     KioskConfig     `yaml:"kiosk"`
	Debug     DebugConfig     `yaml:"debug"`

	// demo is true when no config file was given.
	demo bool
	// path is the config file, empty for none.
	path string
}

// SSHConfig is the `sspr serve` listener and its limits.
type SSHConfig struct {
	Listen         string        `yaml:"listen" default:"127.0.0.1:2222 without a config file, :2222 with one" doc:"address of sspr serve"`
	HostKey        string        `yaml:"host_key" default:"<data_dir>/ssh_host_ed25519_key" doc:"host key; created (0600) when missing; a key others can read is refused"`
	MaxSessions    int           `yaml:"max_sessions" range:"1..100000" doc:"concurrent connections; more are closed at once"`
	MaxSessionTime time.Duration `yaml:"max_session_time" range:"1m..24h" doc:"hard limit of one SSH session"`
	// Limits per source, before any cryptography.
	MaxPerSource       int           `yaml:"max_per_source" range:"0..1000" doc:"concurrent connections from one source (IPv4 address or IPv6 /64), refused before the handshake; 0: no cap"`
	NewPerSource       int           `yaml:"new_per_source" range:"0..10000" doc:"new connections one source may open per ssh.new_per_source_window; 0: no cap"`
	NewPerSourceWindow time.Duration `yaml:"new_per_source_window" range:"1s..1h" doc:"the window of ssh.new_per_source"`
	LoginGrace         time.Duration `yaml:"login_grace" range:"5s..5m" doc:"from connect to a running wizard, handshake included"`
	ShutdownGrace      time.Duration `yaml:"shutdown_grace" range:"1s..10m" doc:"on SIGTERM, how long a password write under way may take to finish"`
	// FPS caps the frames per second of each session: an echo waits for
	// the next frame, and every frame tick wakes the session.
	FPS           int                 `yaml:"fps" range:"10..120" doc:"frames per second of each session: an echo waits for the next frame, and each frame tick wakes the session; see docs/BENCHMARKS.md"`
	ProxyProtocol ProxyProtocolConfig `yaml:"proxy_protocol"`
}

// ProxyProtocolConfig lists the load balancers whose PROXY protocol
// headers are trusted; empty turns the PROXY protocol off.
type ProxyProtocolConfig struct {
	Trusted []string `yaml:"trusted" doc:"load balancers (addresses or CIDR prefixes) whose connections start with a PROXY header; empty: PROXY protocol off"`
}

// Validate checks the listen address and the trusted balancers.
func (s *SSHConfig) Validate() error {
	var es config.Errors
	if _, _, err := splitHostPort(s.Listen); err != nil {
		es.Add("listen", "%q is not allowed (host:port, e.g. :2222 or 127.0.0.1:2222)", s.Listen)
	}
	for i, t := range s.ProxyProtocol.Trusted {
		if _, err := parsePrefix(t); err != nil {
			es.Add(fmt.Sprintf("proxy_protocol.trusted[%d]", i), "%q is not allowed (an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24)", t)
		}
	}
	return es.Err()
}

// DirectoryConfig says where users live.
type DirectoryConfig struct {
	Embedded EmbeddedConfig `yaml:"embedded"`
	// LDAP, when set, replaces the embedded directory (ldap.go).
	LDAP *LDAPConfig `yaml:"ldap"`
}

// EmbeddedConfig is the YAML user file.
type EmbeddedConfig struct {
	Path string `yaml:"path" default:"<data_dir>/users.yaml" doc:"the embedded directory: a YAML user file with argon2id hashes (sspr users add writes it)"`
	// TOTPKeyFile holds the key that encrypts authenticator secrets at
	// rest (or set SSPR_TOTP_KEY); without one they stay plain.
	TOTPKeyFile string `yaml:"totp_key_file" doc:"the key that seals authenticator secrets at rest (or SSPR_TOTP_KEY); without one they stay plain"`
}

// Validate refuses a key given both ways: which one wins would be a guess.
func (e *EmbeddedConfig) Validate() error {
	if e.TOTPKeyFile != "" && os.Getenv(totpKeyEnv) != "" {
		return &config.Error{Path: "totp_key_file", Msg: fmt.Sprintf("%q is given and so is %s: give the key one way", e.TOTPKeyFile, totpKeyEnv)}
	}
	return nil
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
	Outbox string `yaml:"outbox" default:"<data_dir>/outbox.log" doc:"the demo delivery's outbox: one line per text, call, push or email"`
}

// StoreConfig chooses where limits, suspensions and pending approvals
// live: in this process (the default) or in Redis, shared by instances.
type StoreConfig struct {
	Redis RedisConfig `yaml:"redis"`
}

// RedisConfig is a Redis server, Sentinel set or Cluster.
type RedisConfig struct {
	Addrs      []string      `yaml:"addrs" default:"none: limits live in this process" doc:"Redis host:port list; one address is a server, several a Cluster, with master_name a Sentinel set. Limits, suspensions, pending approvals and the authenticator replay cache are then shared by every instance and survive restarts"`
	MasterName string        `yaml:"master_name" doc:"the Sentinel master's name"`
	Username   string        `yaml:"username" doc:"Redis ACL user"`
	Password   config.Secret `yaml:"password" doc:"its password, inline, in a file or in an environment variable (one of the three)"`
	DB         int           `yaml:"db" range:"0..15" doc:"database number (a Cluster has only 0)"`
	Prefix     string        `yaml:"prefix" doc:"prefix of every key, so several deployments can share one Redis"`
	TLS        bool          `yaml:"tls" doc:"TLS to Redis"`
	CAFile     string        `yaml:"ca_file" default:"system roots" doc:"the CA bundle that signs Redis's certificate"`
	Timeout    time.Duration `yaml:"timeout" range:"0s..1m" doc:"how long one call waits before failing (0s: the client's default); while Redis is away sspr refuses to send or verify and recovers by itself"`
}

// Validate checks the Redis keys when Redis is chosen (addrs not empty).
func (r *RedisConfig) Validate() error {
	var es config.Errors
	if len(r.Addrs) == 0 {
		if r.MasterName != "" || r.Password.IsSet() || r.TLS || r.CAFile != "" || r.Username != "" {
			es.Add("addrs", "is empty, yet other store.redis keys are set (at least one host:port)")
		}
		return es.Err()
	}
	for i, a := range r.Addrs {
		if _, _, err := splitHostPort(a); err != nil {
			es.Add(fmt.Sprintf("addrs[%d]", i), "%q is not allowed (host:port)", a)
		}
	}
	if r.CAFile != "" && !r.TLS {
		es.Add("ca_file", "%q is given without tls: true", r.CAFile)
	}
	if r.CAFile != "" {
		if _, err := os.Stat(r.CAFile); err != nil {
			es.Add("ca_file", "%v", err)
		}
	}
	return es.Err()
}

// AuditConfig is where the audit trail goes.
type AuditConfig struct {
	Path string `yaml:"path" default:"<data_dir>/audit.log" doc:"the audit trail, one JSON line per step outcome; - is standard error"`
}

// UIConfig tunes the screens.
type UIConfig struct {
	IdleTimeout time.Duration `yaml:"idle_timeout" range:"10s..1h" doc:"a session with no key press for this long ends"`
	Plain       bool          `yaml:"plain" doc:"plain screens for screen readers: no colour, no box drawing, no animation (also --plain)"`
	Lang        string        `yaml:"lang" default:"none: the environment, else English" doc:"language of the screens, texts, calls and notices: en, de, fr or a locale such as de_DE.UTF-8; over SSH a client's LANG/LC_* naming one of them wins (see docs/LANGUAGES.md)"`
}

// Validate checks that the language is one sspr offers.
func (u *UIConfig) Validate() error {
	if u.Lang != "" {
		if _, ok := i18n.Match(u.Lang); !ok {
			return &config.Error{Path: "lang", Msg: fmt.Sprintf("%q is not allowed (one of %s, or a locale of one of them)", flow.Sanitize(u.Lang, 32), strings.Join(i18n.Languages(), ", "))}
		}
	}
	return nil
}

// defaultConfig is every default; fromFile says whether a config file is
// read over it (the demo, without one, listens on loopback only).
func defaultConfig(fromFile bool) *Config {
	c := &Config{
		DataDir:  "sspr-data",
		Settings: flow.DefaultSettings(),
		SSH: SSHConfig{
			Listen: "127.0.0.1:2222", MaxSessions: 500, MaxSessionTime: 15 * time.Minute,
			MaxPerSource: 3, NewPerSource: 10, NewPerSourceWindow: 10 * time.Second,
			LoginGrace: 30 * time.Second, ShutdownGrace: 10 * time.Second, FPS: 30,
		},
		Store: StoreConfig{Redis: RedisConfig{Prefix: "sspr:"}},
		UI:    UIConfig{IdleTimeout: 5 * time.Minute},
		Kiosk: KioskConfig{Idle: 90 * time.Second},
	}
	if fromFile {
		c.SSH.Listen = ":2222"
	} else {
		c.Methods = MethodsConfig{Text: providerDemo, Call: providerDemo, Email: providerDemo, Push: providerDemo}
	}
	return c
}

// loadConfig reads path over the defaults, or returns the demo when path
// is empty, and reports every wrong key at once.
func loadConfig(path string) (*Config, error) {
	c := defaultConfig(path != "")
	c.path = path
	if path == "" {
		c.demo = true
		c.fillPaths()
		if err := config.Check(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	err = config.Load(raw, c)
	c.fillPaths()
	var es config.Errors
	if err != nil && !errors.As(err, &es) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(es) > 0 {
		return nil, &fileErrors{path: path, errs: es}
	}
	return c, nil
}

// fileErrors is every error of one config file, one per line under the
// file's name.
type fileErrors struct {
	path string
	errs config.Errors
}

func (f *fileErrors) Error() string {
	n := len(f.errs)
	return fmt.Sprintf("%s: %d %s:\n  %s", f.path, n, plural(n, "error", "errors"), strings.ReplaceAll(f.errs.Error(), "\n", "\n  "))
}

func (f *fileErrors) Unwrap() error { return f.errs }

// fillPaths puts the files left unset under data_dir.
func (c *Config) fillPaths() {
	for _, p := range []struct {
		v    *string
		name string
	}{
		{&c.SecretKeyFile, "secret.key"}, {&c.SSH.HostKey, "ssh_host_ed25519_key"}, {&c.Directory.Embedded.Path, "users.yaml"},
		{&c.Delivery.Demo.Outbox, "outbox.log"}, {&c.Audit.Path, "audit.log"}, {&c.Kiosk.Log, "kiosk.log"},
	} {
		if *p.v == "" {
			*p.v = filepath.Join(c.DataDir, p.name)
		}
	}
}

// Validate holds the rules that span blocks: which methods may be the
// demo's, what each named provider needs, and the sign-in URL.
func (c *Config) Validate() error {
	var es config.Errors
	if c.DataDir == "" {
		es.Add("data_dir", "is empty (a directory, e.g. /var/lib/sspr)")
	}
	if c.SignInURL != "" && !strings.HasPrefix(c.SignInURL, "https://") && !strings.HasPrefix(c.SignInURL, "http://") {
		es.Add("signin_url", "%q is not allowed (an http:// or https:// URL)", c.SignInURL)
	}
	es = append(es, c.validateMethods()...)
	es = append(es, c.validateDelivery()...)
	return es.Err()
}

// validateMethods: with a config file nothing is implied. The methods are
// named, and the demo phone, which draws every code on the person's own
// screen, needs demo: true.
func (c *Config) validateMethods() config.Errors {
	var es config.Errors
	m := &c.Methods
	if *m == (MethodsConfig{}) {
		if !c.Demo {
			es.Add("methods", "is missing: name how each method is delivered, e.g. methods: {text: twilio, call: twilio, email: smtp, push: off}; the demo phone needs demo: true")
			return es
		}
		*m = MethodsConfig{Text: providerDemo, Call: providerDemo, Email: providerDemo, Push: providerDemo}
	}
	for _, p := range []*string{&m.Text, &m.Call, &m.Email, &m.Push} {
		if *p == "" {
			*p = providerOff
		}
	}
	for _, kv := range m.list() {
		switch {
		case !contains(methodProviders[kv[0]], kv[1]):
			es.Add(kv[0], "%q is not allowed (%s)", flow.Sanitize(kv[1], 32), strings.Join(methodProviders[kv[0]], ", "))
		case kv[1] == providerDemo && !c.demo && !c.Demo:
			es.Add(kv[0], "demo draws every code on the person's own screen, so anyone who knows a login could reset it; name a real provider, or set demo: true for a demonstration")
		}
	}
	return config.Under("methods", es.Err())
}

// splitKeyed turns a provider's "field: message" error into a config
// error at that field.
func splitKeyed(err error) error {
	if err == nil {
		return nil
	}
	key, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok || strings.ContainsAny(key, " \t") {
		return err
	}
	return &config.Error{Path: key, Msg: msg}
}

// proxyTrusted is ssh.proxy_protocol.trusted, parsed (Validate checked it).
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
