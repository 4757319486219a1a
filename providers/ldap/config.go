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
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/providers/totp"
)

// The directory flavors.
const (
	FlavorOpenLDAP = "openldap"
	FlavorAD       = "ad"
)

// LoginPlaceholder is replaced in Config.UserFilter by the escaped login.
const LoginPlaceholder = "{login}"

// Config says how to reach the directory and what to read from it.
type Config struct {
	// URLs are ldap:// or ldaps:// URLs, tried in order for every new
	// connection (failover).
	URLs []string
	// StartTLS upgrades ldap:// connections before binding.
	StartTLS bool
	// CAFile verifies the server's certificate (PEM); empty means the
	// system's roots. CertFile and KeyFile are an optional client
	// certificate.
	CAFile, CertFile, KeyFile string
	// BindDN and BindPassword are the service account.
	BindDN, BindPassword string
	// BaseDN is where people are searched (subtree).
	BaseDN string
	// UserFilter is an LDAP filter with {login}, which is replaced by the
	// login escaped as RFC 4515 asks. Empty means the flavor's default.
	UserFilter string
	// Flavor is "openldap" (the default) or "ad".
	Flavor string
	// Attributes map the person's data; empty fields take the flavor's
	// defaults.
	Attributes Attributes
	// ConnectTimeout bounds connecting (TCP and TLS) to one URL; Timeout
	// bounds each operation. Zero means 5s and 10s.
	ConnectTimeout, Timeout time.Duration
	// PoolSize is the most service-account connections kept and used at
	// once; zero means 4.
	PoolSize int
	// UnlockOnReset lifts a lockout when the password is set; nil means
	// true.
	UnlockOnReset *bool
	// TOTPKey seals the authenticator secrets SetTOTPSecret writes and
	// opens the sealed ones a lookup reads (bound to the entry's DN); nil
	// writes them plain. Plain values are read as they are either way.
	TOTPKey *totp.Key
}

// Attributes name the directory attributes that hold a person's data. An
// attribute set to "-" is not read.
type Attributes struct {
	// Login is the account name (uid, sAMAccountName).
	Login       string
	DisplayName string
	Email       string
	// Mobile receives texts and calls; Office receives calls.
	Mobile string
	Office string
	// TOTPSecret holds the secret of an enrolled authenticator app: plain
	// base32, or sealed with Config.TOTPKey. No standard attribute exists,
	// so there is no default.
	TOTPSecret string
	// Groups lists the groups of the entry (memberOf).
	Groups string
}

// Defaults per flavor.
var (
	openLDAPAttributes = Attributes{Login: "uid", DisplayName: "displayName", Email: "mail", Mobile: "mobile", Office: "telephoneNumber", Groups: "memberOf"}
	adAttributes       = Attributes{Login: "sAMAccountName", DisplayName: "displayName", Email: "mail", Mobile: "mobile", Office: "telephoneNumber", Groups: "memberOf"}
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

// withDefaults fills the zero fields of c.
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
		{&a.Office, def.Office}, {&a.TOTPSecret, def.TOTPSecret}, {&a.Groups, def.Groups},
	} {
		if *f.p == "" {
			*f.p = f.d
		}
		if *f.p == "-" {
			*f.p = ""
		}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.PoolSize == 0 {
		c.PoolSize = 4
	}
	return c
}

// Validate reports the first wrong field of c (with defaults applied) in
// words an operator can act on.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.URLs) == 0 {
		return errors.New("urls: at least one ldap:// or ldaps:// URL is needed")
	}
	for i, raw := range c.URLs {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps") {
			return fmt.Errorf("urls[%d]: %q is not an ldap:// or ldaps:// URL with a host", i, raw)
		}
		if c.StartTLS && u.Scheme == "ldaps" {
			return fmt.Errorf("urls[%d]: %q is ldaps:// already; start_tls is for ldap:// URLs", i, raw)
		}
		if c.Flavor == FlavorAD && u.Scheme == "ldap" && !c.StartTLS {
			return fmt.Errorf("urls[%d]: %q: Active Directory sets passwords only over an encrypted connection; use ldaps:// or start_tls: true", i, raw)
		}
	}
	switch {
	case c.Flavor != FlavorOpenLDAP && c.Flavor != FlavorAD:
		return fmt.Errorf("flavor: %q is not allowed (openldap or ad)", c.Flavor)
	case c.BindDN == "":
		return errors.New("bind_dn: the service account's DN is needed")
	case c.BindPassword == "":
		return errors.New("bind_password: the service account's password is needed (bind_password, bind_password_file or bind_password_env)")
	case c.BaseDN == "":
		return errors.New("base_dn: the DN under which people are searched is needed")
	case !strings.Contains(c.UserFilter, LoginPlaceholder):
		return fmt.Errorf("user_filter: %q has no {login}", c.UserFilter)
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("cert_file and key_file: give both or neither")
	case c.ConnectTimeout < 0 || c.ConnectTimeout > time.Minute:
		return fmt.Errorf("connect_timeout: %v is not allowed (up to 1m)", c.ConnectTimeout)
	case c.Timeout < 0 || c.Timeout > 5*time.Minute:
		return fmt.Errorf("timeout: %v is not allowed (up to 5m)", c.Timeout)
	case c.PoolSize < 1 || c.PoolSize > 100:
		return fmt.Errorf("pool_size: %d is not allowed (1 to 100)", c.PoolSize)
	}
	if _, err := goldap.ParseDN(c.BindDN); err != nil {
		return fmt.Errorf("bind_dn: %q is not a DN: %w", c.BindDN, err)
	}
	if _, err := goldap.ParseDN(c.BaseDN); err != nil {
		return fmt.Errorf("base_dn: %q is not a DN: %w", c.BaseDN, err)
	}
	if _, err := goldap.CompileFilter(expandFilter(c.UserFilter, "x")); err != nil {
		return fmt.Errorf("user_filter: %q is not a valid filter: %w", c.UserFilter, err)
	}
	return nil
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
