package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/ldap"
)

// LDAPConfig is directory.ldap: people live in OpenLDAP or Active
// Directory instead of the embedded file. docs/LDAP.md describes every key.
type LDAPConfig struct {
	URLs     []string `yaml:"urls"`
	StartTLS bool     `yaml:"start_tls"`
	CAFile   string   `yaml:"ca_file"`
	CertFile string   `yaml:"cert_file"`
	KeyFile  string   `yaml:"key_file"`
	BindDN   string   `yaml:"bind_dn"`
	// The service account's password: one of the three.
	BindPassword     string         `yaml:"bind_password"`
	BindPasswordFile string         `yaml:"bind_password_file"`
	BindPasswordEnv  string         `yaml:"bind_password_env"`
	BaseDN           string         `yaml:"base_dn"`
	UserFilter       string         `yaml:"user_filter"`
	Flavor           string         `yaml:"flavor"`
	ConnectTimeout   Duration       `yaml:"connect_timeout"`
	Timeout          Duration       `yaml:"timeout"`
	PoolSize         int            `yaml:"pool_size"`
	UnlockOnReset    *bool          `yaml:"unlock_on_reset"`
	Attributes       LDAPAttributes `yaml:"attributes"`
	// TOTPKeyFile holds the key that seals the authenticator secrets in
	// attributes.totp_secret (or set SSPR_TOTP_KEY); without one, `sspr
	// users totp` writes them plain.
	TOTPKeyFile string `yaml:"totp_key_file"`
}

// LDAPAttributes is directory.ldap.attributes: which attribute holds what.
type LDAPAttributes struct {
	Login       string `yaml:"login"`
	DisplayName string `yaml:"display_name"`
	Email       string `yaml:"email"`
	Mobile      string `yaml:"mobile"`
	Office      string `yaml:"office"`
	TOTPSecret  string `yaml:"totp_secret"`
	Groups      string `yaml:"groups"`
}

// validate checks directory.ldap when it is given; the provider's own
// checks name the field, which gets the directory.ldap. prefix here.
func (l *LDAPConfig) validate(bad func(field string, v any, allowed string) error) error {
	if l == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{l.BindPassword != "", l.BindPasswordFile != "", l.BindPasswordEnv != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return bad("directory.ldap.bind_password", "given more than once", "one of bind_password, bind_password_file, bind_password_env")
	case l.TOTPKeyFile != "" && os.Getenv(totpKeyEnv) != "":
		return bad("directory.ldap.totp_key_file", fmt.Sprintf("%q", l.TOTPKeyFile), "unset, or unset "+totpKeyEnv+": give the key one way")
	case l.BindPasswordEnv != "" && strings.ContainsAny(l.BindPasswordEnv, "= \t"):
		return bad("directory.ldap.bind_password_env", fmt.Sprintf("%q", l.BindPasswordEnv), "the name of an environment variable")
	}
	for _, f := range []struct{ field, path string }{
		{"ca_file", l.CAFile}, {"cert_file", l.CertFile}, {"key_file", l.KeyFile}, {"bind_password_file", l.BindPasswordFile},
		{"totp_key_file", l.TOTPKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return bad("directory.ldap."+f.field, fmt.Sprintf("%q", f.path), "a readable file ("+err.Error()+")")
		}
	}
	cfg := l.providerConfig("unread")
	if n == 0 {
		cfg.BindPassword = ""
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("directory.ldap.%w", err)
	}
	return nil
}

// providerConfig is the provider's view of directory.ldap with the given
// service-account password.
func (l *LDAPConfig) providerConfig(password string) ldap.Config {
	a := l.Attributes
	return ldap.Config{
		URLs: l.URLs, StartTLS: l.StartTLS, CAFile: l.CAFile, CertFile: l.CertFile, KeyFile: l.KeyFile,
		BindDN: l.BindDN, BindPassword: password, BaseDN: l.BaseDN, UserFilter: l.UserFilter, Flavor: l.Flavor,
		Attributes: ldap.Attributes{
			Login: a.Login, DisplayName: a.DisplayName, Email: a.Email, Mobile: a.Mobile,
			Office: a.Office, TOTPSecret: a.TOTPSecret, Groups: a.Groups,
		},
		ConnectTimeout: l.ConnectTimeout.Duration, Timeout: l.Timeout.Duration,
		PoolSize: l.PoolSize, UnlockOnReset: l.UnlockOnReset,
	}
}

// bindPassword reads the service account's password from where the config
// says.
func (l *LDAPConfig) bindPassword() (string, error) {
	switch {
	case l.BindPasswordFile != "":
		b, err := os.ReadFile(l.BindPasswordFile)
		if err != nil {
			return "", fmt.Errorf("directory.ldap.bind_password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case l.BindPasswordEnv != "":
		v, ok := os.LookupEnv(l.BindPasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("directory.ldap.bind_password_env: %s is not set", l.BindPasswordEnv)
		}
		return v, nil
	}
	return l.BindPassword, nil
}

// openLDAP builds the LDAP directory of cfg, with the TOTP key when one is
// configured; it does not connect (the first reset does, and `sspr check`
// tells whether it can). log receives what an operator must fix, such as a
// filter that matches several entries or a secret that does not open.
func openLDAP(cfg *Config, log *slog.Logger) (*ldap.Directory, error) {
	l := cfg.Directory.LDAP
	pw, err := l.bindPassword()
	if err != nil {
		return nil, err
	}
	key, _, err := ldapTOTPKey(cfg)
	if err != nil {
		return nil, err
	}
	pc := l.providerConfig(pw)
	pc.TOTPKey = key
	d, err := ldap.New(pc, log)
	if err != nil {
		return nil, fmt.Errorf("directory.%w", err) // "directory.ldap: ca_file: ..."
	}
	return d, nil
}

// chooseDirectory returns the LDAP directory when directory.ldap is set,
// else the embedded one (dir). The closer, when not nil, ends the LDAP
// connections.
func chooseDirectory(cfg *Config, dir *embedded.Dir, log io.Writer) (flow.Directory, io.Closer, error) {
	if cfg.Directory.LDAP == nil {
		return dir, nil, nil
	}
	d, err := openLDAP(cfg, flow.NewAuditLogger(log))
	if err != nil {
		return nil, nil, err
	}
	return d, d, nil
}

// checkLDAP is the directory part of `sspr check` with directory.ldap: the
// TOTP key, then connect to every URL, bind, and look login up when one is
// given, one line per step with the server's own words when a step fails.
func checkLDAP(cfg *Config, login string, stdout io.Writer) error {
	if err := checkLDAPTOTP(cfg, stdout); err != nil {
		return err
	}
	d, err := openLDAP(cfg, nil)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  %v\n", err)
		return exitError(1)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Check(ctx, login, stdout); err != nil {
		return exitError(1)
	}
	return nil
}

// checkLDAPTOTP is the authenticator part of `sspr check` with
// directory.ldap: the key and its file's mode, and a warning when secrets
// would be written in plain text (or a key would go unused).
func checkLDAPTOTP(cfg *Config, stdout io.Writer) error {
	l := cfg.Directory.LDAP
	k, from, err := ldapTOTPKey(cfg)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  TOTP key: %v\n", err)
		return exitError(1)
	}
	if path := l.TOTPKeyFile; path != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(stdout, "FAIL  directory.ldap.totp_key_file %s: mode %v lets others read it; chmod 600\n", path, fi.Mode().Perm())
			return exitError(1)
		}
	}
	attr := l.Attributes.TOTPSecret
	if attr == "-" {
		attr = ""
	}
	switch {
	case attr != "" && k != nil:
		fmt.Fprintf(stdout, "ok    TOTP key %s from %s (seals directory.ldap.attributes.totp_secret %s)\n", k.ID(), from, attr)
	case attr != "":
		ignored := ""
		if cfg.Directory.Embedded.TOTPKeyFile != "" {
			ignored = " (directory.embedded.totp_key_file is not used with directory.ldap)"
		}
		fmt.Fprintf(stdout, "WARN  directory.ldap.attributes.totp_secret (%s) is set but no TOTP key is configured: `sspr users totp` stores secrets in plain text; set directory.ldap.totp_key_file or %s%s\n", attr, totpKeyEnv, ignored)
	case k != nil:
		fmt.Fprintf(stdout, "WARN  TOTP key %s from %s is not used: directory.ldap.attributes.totp_secret is not set\n", k.ID(), from)
	}
	return nil
}
