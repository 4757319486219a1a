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
	case l.BindPasswordEnv != "" && strings.ContainsAny(l.BindPasswordEnv, "= \t"):
		return bad("directory.ldap.bind_password_env", fmt.Sprintf("%q", l.BindPasswordEnv), "the name of an environment variable")
	}
	for _, f := range []struct{ field, path string }{
		{"ca_file", l.CAFile}, {"cert_file", l.CertFile}, {"key_file", l.KeyFile}, {"bind_password_file", l.BindPasswordFile},
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

// openLDAP builds the LDAP directory; it does not connect (the first reset
// does, and `sspr check` tells whether it can). log receives what an
// operator must fix, such as a filter that matches several entries.
func openLDAP(l *LDAPConfig, log *slog.Logger) (*ldap.Directory, error) {
	pw, err := l.bindPassword()
	if err != nil {
		return nil, err
	}
	d, err := ldap.New(l.providerConfig(pw), log)
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
	d, err := openLDAP(cfg.Directory.LDAP, flow.NewAuditLogger(log))
	if err != nil {
		return nil, nil, err
	}
	return d, d, nil
}

// checkLDAP is the directory part of `sspr check` with directory.ldap:
// connect to every URL, bind, and look login up when one is given, one
// line per step with the server's own words when a step fails.
func checkLDAP(l *LDAPConfig, login string, stdout io.Writer) error {
	d, err := openLDAP(l, nil)
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
