package main

import (
	"context"
	"fmt"
	"github.com/sspr-project/sspr/config"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/ldap"
)

// LDAPConfig is directory.ldap: people live in OpenLDAP or Active
// Directory instead of the embedded file. docs/LDAP.md describes every key;
// the provider's own Validate holds their rules.
type LDAPConfig struct {
	URLs           []string       `yaml:"urls" doc:"ldap:// or ldaps:// URLs, tried in order (failover)"`
	StartTLS       bool           `yaml:"start_tls" doc:"upgrade ldap:// connections with StartTLS before binding"`
	CAFile         string         `yaml:"ca_file" default:"system roots" doc:"the CA (PEM) that signs the directory's certificate"`
	CertFile       string         `yaml:"cert_file" doc:"an optional client certificate (PEM), with key_file"`
	KeyFile        string         `yaml:"key_file" doc:"the client certificate's key (PEM)"`
	BindDN         string         `yaml:"bind_dn" doc:"the service account's DN"`
	BindPassword   config.Secret  `yaml:"bind_password" doc:"the service account's password, inline, in a file or in an environment variable (one of the three)"`
	BaseDN         string         `yaml:"base_dn" doc:"where people are searched (subtree)"`
	UserFilter     string         `yaml:"user_filter" default:"the flavor's" doc:"LDAP filter with {login}, replaced by the escaped login"`
	Flavor         string         `yaml:"flavor" doc:"openldap or ad"`
	ConnectTimeout time.Duration  `yaml:"connect_timeout" doc:"connecting (TCP and TLS) to one URL (up to 1m)"`
	Timeout        time.Duration  `yaml:"timeout" doc:"each operation (up to 5m)"`
	PoolSize       int            `yaml:"pool_size" doc:"service-account connections kept and used at once (1 to 100)"`
	UnlockOnReset  bool           `yaml:"unlock_on_reset" doc:"lift a lockout when the password is set"`
	Attributes     LDAPAttributes `yaml:"attributes"`
	// TOTPKeyFile holds the key that seals the authenticator secrets in
	// attributes.totp_secret (or set SSPR_TOTP_KEY); without one, `sspr
	// users totp` writes them plain.
	TOTPKeyFile string `yaml:"totp_key_file" doc:"the key that seals the authenticator secrets in attributes.totp_secret (or SSPR_TOTP_KEY); without one they are written plain"`
}

// SetDefaults gives a directory.ldap block its defaults when the file has
// one.
func (l *LDAPConfig) SetDefaults() {
	*l = LDAPConfig{Flavor: ldap.FlavorOpenLDAP, ConnectTimeout: 5 * time.Second, Timeout: 10 * time.Second, PoolSize: 4, UnlockOnReset: true}
}

// LDAPAttributes is directory.ldap.attributes: which attribute holds what;
// empty takes the flavor's, "-" reads none.
type LDAPAttributes struct {
	Login       string `yaml:"login" default:"the flavor's" doc:"the account name (uid, sAMAccountName)"`
	DisplayName string `yaml:"display_name" default:"displayName" doc:"the display name"`
	Email       string `yaml:"email" default:"mail" doc:"the alternate email"`
	Mobile      string `yaml:"mobile" default:"mobile" doc:"the mobile phone (texts and calls)"`
	Office      string `yaml:"office" default:"telephoneNumber" doc:"the office phone (calls)"`
	TOTPSecret  string `yaml:"totp_secret" doc:"the authenticator secret (no standard attribute: none by default)"`
	Groups      string `yaml:"groups" default:"memberOf" doc:"the groups of the entry"`
}

// Validate checks directory.ldap: the files it names exist, and the
// provider's own rules hold.
func (l *LDAPConfig) Validate() error {
	var es config.Errors
	if l.TOTPKeyFile != "" && os.Getenv(totpKeyEnv) != "" {
		es.Add("totp_key_file", "%q is given and so is %s: give the key one way", l.TOTPKeyFile, totpKeyEnv)
	}
	for _, f := range []struct{ field, path string }{
		{"ca_file", l.CAFile}, {"cert_file", l.CertFile}, {"key_file", l.KeyFile}, {"totp_key_file", l.TOTPKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			es.Add(f.field, "%q is not a readable file (%v)", f.path, err)
		}
	}
	if err := l.providerConfig().Validate(); err != nil {
		es = append(es, config.Under("", splitKeyed(err))...)
	}
	return es.Err()
}

// providerConfig is the provider's view of directory.ldap.
func (l *LDAPConfig) providerConfig() ldap.Config {
	a := l.Attributes
	unlock := l.UnlockOnReset
	return ldap.Config{
		URLs: l.URLs, StartTLS: l.StartTLS, CAFile: l.CAFile, CertFile: l.CertFile, KeyFile: l.KeyFile,
		BindDN: l.BindDN, BindPassword: l.BindPassword.Value(), BaseDN: l.BaseDN, UserFilter: l.UserFilter, Flavor: l.Flavor,
		Attributes: ldap.Attributes{
			Login: a.Login, DisplayName: a.DisplayName, Email: a.Email, Mobile: a.Mobile,
			Office: a.Office, TOTPSecret: a.TOTPSecret, Groups: a.Groups,
		},
		ConnectTimeout: l.ConnectTimeout, Timeout: l.Timeout,
		PoolSize: l.PoolSize, UnlockOnReset: &unlock,
	}
}

// openLDAP builds the LDAP directory of cfg, with the TOTP key when one is
// configured; it does not connect (the first reset does, and `sspr check`
// tells whether it can). log receives what an operator must fix, such as a
// filter that matches several entries or a secret that does not open.
func openLDAP(cfg *Config, log *slog.Logger) (*ldap.Directory, error) {
	l := cfg.Directory.LDAP
	key, _, err := ldapTOTPKey(cfg)
	if err != nil {
		return nil, err
	}
	pc := l.providerConfig()
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
// TOTP key, then connect and bind to every URL, and look login up when one
// is given, one line per step with the server's own words when a step
// fails. A TOTP key that fails does not stop the connection checks.
func checkLDAP(cfg *Config, login string, c *checker) {
	keyOK := checkLDAPTOTP(cfg, c)
	pc := cfg.Directory.LDAP.providerConfig()
	if keyOK {
		pc.TOTPKey, _, _ = ldapTOTPKey(cfg)
	}
	d, err := ldap.New(pc, nil)
	if err != nil {
		fmt.Fprintf(c.w, "FAIL  directory.%v\n", err) // "directory.ldap: ca_file: ..."
		return
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := c.failed()
	if err := d.Check(ctx, login, c.w); err != nil && c.failed() == before {
		c.fail("directory.ldap", err)
	}
}

// checkLDAPTOTP is the authenticator part of `sspr check` with
// directory.ldap: the key and its file's mode, and a warning when secrets
// would be written in plain text (or a key would go unused). It reports
// whether the key could be read.
func checkLDAPTOTP(cfg *Config, c *checker) bool {
	l := cfg.Directory.LDAP
	k, from, err := ldapTOTPKey(cfg)
	if err != nil {
		c.fail("TOTP key", err)
		return false
	}
	if path := l.TOTPKeyFile; path != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			c.fail("directory.ldap.totp_key_file "+path, fmt.Errorf("mode %v lets others read it; chmod 600", fi.Mode().Perm()))
		}
	}
	stdout := c.w
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
	return true
}
