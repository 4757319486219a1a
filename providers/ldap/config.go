// Package ldap is the directory of sspr on OpenLDAP or Active Directory:
// it finds a person with a filter template, reads the attributes the
// verification methods need, and sets the password as a service account.
// It also writes an enrolled authenticator app's secret, sealed at rest
// when a TOTP key is configured (totp.go).
//
// The differences between the two flavors (how a password is set, what
// marks an account disabled or locked, the default attributes) sit behind
// one switch on Config.Flavor.
package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/providers/totp"
)

// The directory flavors.
const (
	FlavorOpenLDAP = "openldap"
	FlavorAD       = "ad"
)

// LoginPlaceholder is replaced in Config.UserFilter by the escaped login.
const LoginPlaceholder = "{login}"

// Config is the directory.ldap block of sspr.yaml: how to reach the
// directory and what to read from it. config.Load decodes it over Default
// and checks the ranges of its tags and Validate; New checks them again for
// callers in Go, where a zero timeout or pool size takes Default's.
type Config struct {
	// URLs are tried in order for every new connection (failover).
	URLs     []string `yaml:"urls" doc:"ldap:// or ldaps:// URLs, tried in order (failover)"`
	StartTLS bool     `yaml:"start_tls" doc:"upgrade ldap:// connections with StartTLS before binding"`
	// CAFile verifies the server's certificate; empty means the system's
	// roots. CertFile and KeyFile are an optional client certificate.
	CAFile   string `yaml:"ca_file" default:"system roots" doc:"the CA (PEM) that signs the directory's certificate"`
	CertFile string `yaml:"cert_file" doc:"an optional client certificate (PEM), with key_file"`
	KeyFile  string `yaml:"key_file" doc:"the client certificate's key (PEM)"`
	// BindDN and BindPassword are the service account.
	BindDN       string        `yaml:"bind_dn" doc:"the service account's DN"`
	BindPassword config.Secret `yaml:"bind_password" doc:"the service account's password, inline, in a file or in an environment variable (one of the three)"`
	BaseDN       string        `yaml:"base_dn" doc:"where people are searched (subtree)"`
	// UserFilter has {login}, which is replaced by the login escaped as
	// RFC 4515 asks. Empty means the flavor's default.
	UserFilter string `yaml:"user_filter" default:"the flavor's" doc:"LDAP filter with {login}, replaced by the escaped login"`
	// Flavor is "openldap" (the default) or "ad".
	Flavor string `yaml:"flavor" doc:"openldap or ad"`
	// ConnectTimeout bounds connecting (TCP and TLS) to one URL; Timeout
	// bounds each operation.
	ConnectTimeout time.Duration `yaml:"connect_timeout" range:"1s..1m" doc:"connecting (TCP and TLS) to one URL"`
	Timeout        time.Duration `yaml:"timeout" range:"1s..5m" doc:"each operation"`
	// PoolSize is the most service-account connections kept and used at
	// once.
	PoolSize      int  `yaml:"pool_size" range:"1..100" doc:"service-account connections kept and used at once"`
	UnlockOnReset bool `yaml:"unlock_on_reset" doc:"lift a lockout when the password is set"`
	// Attributes map the person's data; empty fields take the flavor's
	// defaults.
	Attributes Attributes `yaml:"attributes"`
	// TOTPKeyFile holds the key that seals the authenticator secrets in
	// attributes.totp_secret; the caller reads it into TOTPKey.
	TOTPKeyFile string `yaml:"totp_key_file" doc:"the key that seals the authenticator secrets in attributes.totp_secret (or SSPR_TOTP_KEY); without one they are written plain"`
	// TOTPKey seals the authenticator secrets SetTOTPSecret writes and
	// opens the sealed ones a lookup reads (bound to the entry's DN); nil
	// writes them plain. Plain values are read as they are either way.
	TOTPKey *totp.Key `yaml:"-"`
}

// Default is a directory.ldap block before the file says more: OpenLDAP,
// 5s to connect, 10s per operation, 4 connections, unlock on reset.
func Default() Config {
	return Config{Flavor: FlavorOpenLDAP, ConnectTimeout: 5 * time.Second, Timeout: 10 * time.Second, PoolSize: 4, UnlockOnReset: true}
}

// SetDefaults gives a directory.ldap block Default's values when the file
// has one.
func (c *Config) SetDefaults() { *c = Default() }

// Attributes is directory.ldap.attributes: the directory attributes that
// hold a person's data. Empty takes the flavor's; "-" reads none.
type Attributes struct {
	Login       string `yaml:"login" default:"the flavor's" doc:"the account name (uid, sAMAccountName)"`
	DisplayName string `yaml:"display_name" default:"displayName" doc:"the display name"`
	Email       string `yaml:"email" default:"mail" doc:"the alternate email"`
	// Mobile receives texts and calls; Office receives calls.
	Mobile string `yaml:"mobile" default:"mobile" doc:"the mobile phone (texts and calls)"`
	Office string `yaml:"office" default:"telephoneNumber" doc:"the office phone (calls)"`
	// TOTPSecret holds the secret of an enrolled authenticator app: plain
	// base32, or sealed with Config.TOTPKey. No standard attribute exists,
	// so there is no default.
	TOTPSecret string `yaml:"totp_secret" doc:"the authenticator secret (no standard attribute: none by default)"`
	Groups     string `yaml:"groups" default:"memberOf" doc:"the groups of the entry"`
	// SSHKeys holds the person's SSH public keys, one authorized_keys
	// line a value (the openssh-lpk schema's sshPublicKey).
	SSHKeys string `yaml:"ssh_keys" default:"sshPublicKey" doc:"the SSH public keys, one authorized_keys line a value (openssh-lpk), for policy.ssh_key; at most 32 are read"`
}

// Defaults per flavor.
var (
	openLDAPAttributes = Attributes{Login: "uid", DisplayName: "displayName", Email: "mail", Mobile: "mobile", Office: "telephoneNumber", Groups: "memberOf", SSHKeys: "sshPublicKey"}
	adAttributes       = Attributes{Login: "sAMAccountName", DisplayName: "displayName", Email: "mail", Mobile: "mobile", Office: "telephoneNumber", Groups: "memberOf", SSHKeys: "sshPublicKey"}
	openLDAPFilter     = "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))"
	adFilter           = "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={login})(userPrincipalName={login})(mail={login})))"
)

// DefaultFilter is the user filter of a flavor when none is configured.
func DefaultFilter(flavor string) string {
	if flavor == FlavorAD {
		return adFilter
	}
	return openLDAPFilter
}

// DefaultAttributes are the attributes of a flavor when none are configured.
func DefaultAttributes(flavor string) Attributes {
	if flavor == FlavorAD {
		return adAttributes
	}
	return openLDAPAttributes
}

// withDefaults fills the zero fields of c: the flavor's filter and
// attributes ("-" becomes none), and Default's timeouts and pool size for
// a Config built in Go.
func (c Config) withDefaults() Config {
	if c.Flavor == "" {
		c.Flavor = FlavorOpenLDAP
	}
	if c.UserFilter == "" {
		c.UserFilter = DefaultFilter(c.Flavor)
	}
	def := DefaultAttributes(c.Flavor)
	a := &c.Attributes
	for _, f := range []struct {
		p *string
		d string
	}{
		{&a.Login, def.Login}, {&a.DisplayName, def.DisplayName}, {&a.Email, def.Email}, {&a.Mobile, def.Mobile},
		{&a.Office, def.Office}, {&a.TOTPSecret, def.TOTPSecret}, {&a.Groups, def.Groups}, {&a.SSHKeys, def.SSHKeys},
	} {
		if *f.p == "" {
			*f.p = f.d
		}
		if *f.p == "-" {
			*f.p = ""
		}
	}
	c.fillZero()
	return c
}

// fillZero gives a zero connect_timeout, timeout or pool_size, as a
// Config built in Go has, Default's value.
func (c *Config) fillZero() {
	d := Default()
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = d.PoolSize
	}
}

// Validate reports every wrong key of c (with the flavor's defaults
// applied), at its path in the block (urls[1], bind_dn), in words an
// operator can act on. The ranges of connect_timeout, timeout and
// pool_size are their tags' (config.Check). An empty bind password is
// refused when the Secret is read (config.Load); a missing one here.
func (c *Config) Validate() error {
	v := c.withDefaults()
	var es config.Errors
	if len(v.URLs) == 0 {
		es.Add("urls", "at least one ldap:// or ldaps:// URL is needed")
	}
	flavorOK := v.Flavor == FlavorOpenLDAP || v.Flavor == FlavorAD
	for i, raw := range v.URLs {
		path := fmt.Sprintf("urls[%d]", i)
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps"):
			es.Add(path, "%q is not an ldap:// or ldaps:// URL with a host", raw)
		case v.StartTLS && u.Scheme == "ldaps":
			es.Add(path, "%q is ldaps:// already; start_tls is for ldap:// URLs", raw)
		case v.Flavor == FlavorAD && u.Scheme == "ldap" && !v.StartTLS:
			es.Add(path, "%q: Active Directory sets passwords only over an encrypted connection; use ldaps:// or start_tls: true", raw)
		}
	}
	if !flavorOK {
		es.Add("flavor", "%q is not allowed (openldap or ad)", v.Flavor)
	}
	if v.BindDN == "" {
		es.Add("bind_dn", "the service account's DN is needed")
	} else if _, err := goldap.ParseDN(v.BindDN); err != nil {
		es.Add("bind_dn", "%q is not a DN: %v", v.BindDN, err)
	}
	if !v.BindPassword.IsSet() {
		es.Add("bind_password", "is missing (bind_password, bind_password_file or bind_password_env)")
	}
	if v.BaseDN == "" {
		es.Add("base_dn", "the DN under which people are searched is needed")
	} else if _, err := goldap.ParseDN(v.BaseDN); err != nil {
		es.Add("base_dn", "%q is not a DN: %v", v.BaseDN, err)
	}
	if !strings.Contains(v.UserFilter, LoginPlaceholder) {
		es.Add("user_filter", "%q has no {login}", v.UserFilter)
	} else if _, err := goldap.CompileFilter(expandFilter(v.UserFilter, "x")); err != nil {
		es.Add("user_filter", "%q is not a valid filter: %v", v.UserFilter, err)
	}
	switch {
	case v.CertFile != "" && v.KeyFile == "":
		es.Add("key_file", "is missing: cert_file is given (give both or neither)")
	case v.KeyFile != "" && v.CertFile == "":
		es.Add("cert_file", "is missing: key_file is given (give both or neither)")
	}
	for _, f := range []struct{ key, path string }{
		{"ca_file", v.CAFile}, {"cert_file", v.CertFile}, {"key_file", v.KeyFile}, {"totp_key_file", v.TOTPKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if err := config.Readable(f.path); err != nil {
			es.Add(f.key, "%q is not a readable file (%v)", f.path, err)
		}
	}
	return es.Err()
}

// expandFilter puts the escaped login into the filter template.
func expandFilter(template, login string) string {
	return strings.ReplaceAll(template, LoginPlaceholder, goldap.EscapeFilter(login))
}

// tlsConfig builds the TLS settings from the CA and client certificate.
func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
