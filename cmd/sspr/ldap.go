package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/ldap"
)

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
	pc := *l
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
	pc := *cfg.Directory.LDAP
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
