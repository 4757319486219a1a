package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/ldap"
	"github.com/sspr-project/sspr/providers/push"
	"github.com/sspr-project/sspr/providers/redisstore"
	"github.com/sspr-project/sspr/providers/smsgateway"
	"github.com/sspr-project/sspr/providers/smtp"
	"github.com/sspr-project/sspr/providers/twilio"
	"github.com/sspr-project/sspr/tui"
	"github.com/sspr-project/sspr/tui/sshserver"
	"github.com/sspr-project/sspr/web"
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

	SSH       sshserver.Settings `yaml:"ssh"`
	Directory DirectoryConfig    `yaml:"directory"`
	Methods   MethodsConfig      `yaml:"methods"`
	Delivery  DeliveryConfig     `yaml:"delivery"`
	HTTP      web.Settings       `yaml:"http"`
	Store     StoreConfig        `yaml:"store"`
	Audit     AuditConfig        `yaml:"audit"`
	Admin     AdminConfig        `yaml:"admin"`
	Log       LogConfig          `yaml:"log"`
	UI        tui.Settings       `yaml:"ui"`
	Kiosk     KioskConfig        `yaml:"kiosk"`
	Debug     DebugConfig        `yaml:"debug"`

	// demo is true when no config file was given.
	demo bool
	// path is the config file, empty for none.
	path string
}

// DirectoryConfig says where users live.
type DirectoryConfig struct {
	Embedded embedded.Config `yaml:"embedded"`
	// LDAP, when set, replaces the embedded directory (ldap.go).
	LDAP *ldap.Config `yaml:"ldap"`
}

// Validate refuses a TOTP key given both ways (a file and SSPR_TOTP_KEY):
// which one wins would be a guess.
func (d *DirectoryConfig) Validate() error {
	var es config.Errors
	if os.Getenv(totpKeyEnv) != "" {
		if d.Embedded.TOTPKeyFile != "" {
			es.Add("embedded.totp_key_file", "%q is given and so is %s: give the key one way", d.Embedded.TOTPKeyFile, totpKeyEnv)
		}
		if d.LDAP != nil && d.LDAP.TOTPKeyFile != "" {
			es.Add("ldap.totp_key_file", "%q is given and so is %s: give the key one way", d.LDAP.TOTPKeyFile, totpKeyEnv)
		}
	}
	return es.Err()
}

// DeliveryConfig says how texts, calls, pushes and emails go out.
type DeliveryConfig struct {
	Demo   demo.Config      `yaml:"demo"`
	Twilio *twilio.Config   `yaml:"twilio"`
	SMTP   *smtp.Config     `yaml:"smtp"`
	Ntfy   *push.NtfyConfig `yaml:"ntfy"`
	Duo    *push.DuoConfig  `yaml:"duo"`
	// HTTP is any HTTP SMS gateway, Email2SMS a mail-to-SMS address
	// (smsgateway.go).
	HTTP      *smsgateway.Config          `yaml:"http"`
	Email2SMS *smsgateway.Email2SMSConfig `yaml:"email2sms"`
}

// StoreConfig chooses where limits, suspensions and pending approvals
// live: in this process (the default) or in Redis, shared by instances.
type StoreConfig struct {
	Redis redisstore.Config `yaml:"redis"`
}

// AuditConfig is where the audit trail goes.
type AuditConfig struct {
	Path string `yaml:"path" default:"<data_dir>/audit.log" doc:"the audit trail, one JSON line per step outcome; - is standard error"`
}

// AdminConfig is the local socket of `sspr serve` that administrators'
// commands (sspr suspensions) use when the store lives in the process.
type AdminConfig struct {
	Socket string `yaml:"socket" default:"<data_dir>/admin.sock" doc:"the Unix socket (mode 0600) of sspr serve that sspr suspensions uses with the in-process store; only root and the server's own user may use it"`
}

// defaultConfig is every default; fromFile says whether a config file is
// read over it (the demo, without one, listens on loopback only).
func defaultConfig(fromFile bool) *Config {
	c := &Config{
		DataDir:  "sspr-data",
		Settings: flow.DefaultSettings(),
		SSH:      sshserver.Default(),
		HTTP:     web.Default(),
		Store:    StoreConfig{Redis: redisstore.Default()},
		UI:       tui.DefaultSettings(),
		Kiosk:    KioskConfig{Idle: 90 * time.Second},
	}
	if !fromFile {
		// The demo is reachable from this machine only.
		c.SSH.Listen = "127.0.0.1:2222"
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
		{&c.Admin.Socket, "admin.sock"},
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
