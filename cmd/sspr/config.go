package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole of sspr.yaml. Every key is documented in README.md.
type Config struct {
	DataDir   string          `yaml:"data_dir"`
	SignInURL string          `yaml:"signin_url"`
	SSH       SSHConfig       `yaml:"ssh"`
	Captcha   CaptchaConfig   `yaml:"captcha"`
	Directory DirectoryConfig `yaml:"directory"`
	Delivery  DeliveryConfig  `yaml:"delivery"`
	Policy    PolicyConfig    `yaml:"policy"`
	Audit     AuditConfig     `yaml:"audit"`
	UI        UIConfig        `yaml:"ui"`

	// demo is true when no config file was given.
	demo bool
}

// SSHConfig is the `sspr serve` listener.
type SSHConfig struct {
	Listen         string   `yaml:"listen"`
	HostKey        string   `yaml:"host_key"`
	MaxSessions    int      `yaml:"max_sessions"`
	MaxSessionTime Duration `yaml:"max_session_time"`
}

// CaptchaConfig switches the identify step's CAPTCHA.
type CaptchaConfig struct {
	Enabled *bool `yaml:"enabled"`
	Length  int   `yaml:"length"`
}

// DirectoryConfig says where users live.
type DirectoryConfig struct {
	Embedded EmbeddedConfig `yaml:"embedded"`
}

// EmbeddedConfig is the YAML user file.
type EmbeddedConfig struct {
	Path string `yaml:"path"`
}

// DeliveryConfig says how texts, calls, pushes and emails go out.
type DeliveryConfig struct {
	Demo DemoConfig `yaml:"demo"`
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
}

// PasswordConfig is the password policy.
type PasswordConfig struct {
	MinLength int   `yaml:"min_length"`
	MaxLength int   `yaml:"max_length"`
	Upper     *bool `yaml:"upper"`
	Lower     *bool `yaml:"lower"`
	Digit     *bool `yaml:"digit"`
}

// CodeConfig governs texted and emailed codes.
type CodeConfig struct {
	Length         int      `yaml:"length"`
	TTL            Duration `yaml:"ttl"`
	MaxAttempts    int      `yaml:"max_attempts"`
	ResendCooldown Duration `yaml:"resend_cooldown"`
}

// AuditConfig is where the audit trail goes.
type AuditConfig struct {
	Path string `yaml:"path"`
}

// UIConfig tunes the screens.
type UIConfig struct {
	IdleTimeout Duration `yaml:"idle_timeout"`
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
	join(&c.Directory.Embedded.Path, "users.yaml")
	join(&c.Delivery.Demo.Outbox, "outbox.log")
	join(&c.Audit.Path, "audit.log")
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
}

// validate names the first wrong field, its value and what is allowed.
func (c *Config) validate() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%s: %v is not allowed (%s)", field, v, allowed)
	}
	switch {
	case c.Policy.MethodsRequired != 1 && c.Policy.MethodsRequired != 2:
		return bad("policy.methods_required", c.Policy.MethodsRequired, "1 or 2")
	case c.Policy.Password.MinLength < 14:
		return bad("policy.password.min_length", c.Policy.Password.MinLength, "at least 14")
	case c.Policy.Password.MaxLength < c.Policy.Password.MinLength || c.Policy.Password.MaxLength > 1024:
		return bad("policy.password.max_length", c.Policy.Password.MaxLength, fmt.Sprintf("from min_length (%d) to 1024", c.Policy.Password.MinLength))
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
	case c.SignInURL != "" && !strings.HasPrefix(c.SignInURL, "https://") && !strings.HasPrefix(c.SignInURL, "http://"):
		return bad("signin_url", fmt.Sprintf("%q", c.SignInURL), "an http:// or https:// URL")
	}
	if _, _, err := splitHostPort(c.SSH.Listen); err != nil {
		return bad("ssh.listen", fmt.Sprintf("%q", c.SSH.Listen), "host:port, e.g. :2222 or 127.0.0.1:2222")
	}
	return nil
}
