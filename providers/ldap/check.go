package ldap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/providers/totp"
)

// oidPasswordModify is the RFC 3062 Password Modify extended operation.
const oidPasswordModify = "1.3.6.1.4.1.4203.1.11.1"

// Check connects to every URL and binds there as the service account, so
// a failover server that is down or refuses the account shows too; then,
// on the first server that took the bind, it reads what the password
// change needs from the RootDSE and, when login is not empty, looks it up.
// It writes one line per step ("ok    ..." or "FAIL  ..." with the
// server's own words) and returns an error when any step failed. It never
// writes a password.
func (d *Directory) Check(ctx context.Context, login string, w io.Writer) error {
	var failed []string
	line := func(what string, err error) bool {
		if err != nil {
			fmt.Fprintf(w, "FAIL  %s: %v\n", what, unwrapNetwork(err))
			failed = append(failed, what)
			return false
		}
		fmt.Fprintf(w, "ok    %s\n", what)
		return true
	}
	var conn *goldap.Conn
	for _, u := range d.cfg.URLs {
		c, err := d.pool.dial(ctx, u)
		what := "connect " + u
		if err == nil {
			what += describeTLS(c)
		}
		if !line(what, err) {
			continue
		}
		what = "bind as " + d.cfg.BindDN
		if len(d.cfg.URLs) > 1 {
			what += " on " + u
		}
		if !line(what, errors.Unwrap(d.pool.bind(ctx, c))) || conn != nil {
			c.Close()
			continue
		}
		conn = c
	}
	if conn == nil {
		fmt.Fprintf(w, "skip  password change and lookup: no directory server took the bind\n")
		return fmt.Errorf("ldap check: %s failed", strings.Join(failed, ", "))
	}
	defer conn.Close()
	line(d.passwordChangeStep(ctx, conn))
	if login == "" {
		fmt.Fprintf(w, "skip  lookup (give a login to look one up: sspr check LOGIN)\n")
	} else if line(d.lookupStep(ctx, login)) {
		d.writableStep(ctx, conn, login, w)
	}
	if len(failed) > 0 {
		return fmt.Errorf("ldap check: %s failed", strings.Join(failed, ", "))
	}
	return nil
}

// describeTLS says how c is protected.
func describeTLS(c *goldap.Conn) string {
	st, ok := c.TLSConnectionState()
	if !ok {
		return " (not encrypted)"
	}
	return " (" + tlsVersion(st.Version) + ")"
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0304:
		return "TLS 1.3"
	case 0x0303:
		return "TLS 1.2"
	}
	return fmt.Sprintf("TLS 0x%04x", v)
}

// passwordChangeStep checks that the server offers what SetPassword uses.
func (d *Directory) passwordChangeStep(ctx context.Context, c *goldap.Conn) (string, error) {
	stop := watch(ctx, c, d.cfg.Timeout)
	defer stop()
	if d.cfg.Flavor == FlavorAD {
		const what = "password change (unicodePwd)"
		if _, ok := c.TLSConnectionState(); !ok {
			return what, errNotTLS
		}
		ctrls, err := rootDSE(c, "supportedControl")
		if err != nil {
			return what, fmt.Errorf("reading the RootDSE: %w", err)
		}
		for _, oid := range []string{oidPolicyHints, oidPolicyHintsDeprecated} {
			if slices.Contains(ctrls, oid) {
				return what + " with the password policy hints control " + oid, nil
			}
		}
		return what + " without a password policy hints control (the server lists none; history is not enforced on resets)", nil
	}
	const what = "password change (Password Modify extended operation)"
	exts, err := rootDSE(c, "supportedExtension")
	if err != nil {
		return what, fmt.Errorf("reading the RootDSE: %w", err)
	}
	if !slices.Contains(exts, oidPasswordModify) {
		return what, errors.New("the server does not list " + oidPasswordModify + " in supportedExtension")
	}
	return what, nil
}

// lookupStep looks login up with the configured filter and says what it
// found; the TOTP secret's value is never shown.
func (d *Directory) lookupStep(ctx context.Context, login string) (string, error) {
	what := fmt.Sprintf("lookup %q with %s under %s", login, expandFilter(d.cfg.UserFilter, login), d.cfg.BaseDN)
	entries, err := d.search(ctx, login)
	if err != nil {
		return what, err
	}
	switch len(entries) {
	case 0:
		return what, errors.New("no entry matches (people could not reset their password with this login)")
	case 1:
	default:
		return what, fmt.Errorf("several entries match (%s, ...): the filter must match one entry per login", entries[0].DN)
	}
	u := d.user(entries[0], login)
	var has []string
	for _, f := range []struct {
		name, attr, v string
	}{
		{"display name", d.cfg.Attributes.DisplayName, u.DisplayName}, {"email", d.cfg.Attributes.Email, u.Email},
		{"mobile", d.cfg.Attributes.Mobile, u.Mobile}, {"office phone", d.cfg.Attributes.Office, u.Office},
		{"authenticator app", d.cfg.Attributes.TOTPSecret, u.TOTPSecret},
	} {
		switch {
		case f.attr == "":
		case f.name == "authenticator app":
			has = append(has, d.totpState(entries[0], f.attr))
		case f.v == "":
			has = append(has, "no "+f.name+" ("+f.attr+")")
		default:
			has = append(has, f.name+" ("+f.attr+")")
		}
	}
	if d.cfg.Attributes.Groups != "" {
		groups := "groups"
		if len(u.Groups) == 1 {
			groups = "group"
		}
		has = append(has, fmt.Sprintf("%d %s (%s)", len(u.Groups), groups, d.cfg.Attributes.Groups))
	}
	if d.cfg.Attributes.SSHKeys != "" {
		has = append(has, fmt.Sprintf("%d SSH keys (%s)", len(u.SSHKeys), d.cfg.Attributes.SSHKeys))
	}
	state := "active"
	switch {
	case u.Disabled:
		state = "disabled"
	case u.Locked:
		state = "locked"
	}
	return fmt.Sprintf("%s: %s, %s; %s", what, u.ID, state, strings.Join(has, ", ")), nil
}

// totpState says whether the entry has a usable authenticator secret in
// attr, and whether it is sealed; never any part of the secret.
func (d *Directory) totpState(e *goldap.Entry, attr string) string {
	stored := e.GetAttributeValue(attr)
	switch _, err := d.openTOTP(e.DN, stored); {
	case stored == "":
		return "no authenticator app (" + attr + ")"
	case err != nil:
		return "authenticator app (" + attr + ") that cannot be used: " + err.Error()
	case totp.IsSealed(stored):
		return "authenticator app (" + attr + ", sealed with key " + d.TOTPKeyID() + ")"
	}
	return "authenticator app (" + attr + ")"
}

// writableStep says which attributes of the security info (sspr info) the
// service account may write on login's entry. Active Directory tells it
// (allowedAttributesEffective); OpenLDAP does not, and is skipped. It is
// information, not a failure: what must be writable depends on
// policy.registration.methods.
func (d *Directory) writableStep(ctx context.Context, c *goldap.Conn, login string, w io.Writer) {
	if d.cfg.Flavor != FlavorAD {
		fmt.Fprintf(w, "skip  security info write rights (OpenLDAP does not tell them; see docs/LDAP.md#update-my-security-info)\n")
		return
	}
	entries, err := d.search(ctx, login)
	if err != nil || len(entries) != 1 {
		return // the lookup line said why
	}
	stop := watch(ctx, c, d.cfg.Timeout)
	defer stop()
	res, err := c.Search(goldap.NewSearchRequest(entries[0].DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1,
		int(d.cfg.Timeout.Seconds()+0.5), false, "(objectClass=*)", []string{"allowedAttributesEffective"}, nil))
	if err != nil || len(res.Entries) != 1 {
		fmt.Fprintf(w, "skip  security info write rights: allowedAttributesEffective could not be read: %v\n", unwrapNetwork(err))
		return
	}
	allowed := map[string]bool{}
	for _, a := range res.Entries[0].GetAttributeValues("allowedAttributesEffective") {
		allowed[strings.ToLower(a)] = true
	}
	var yes, no []string
	a := d.cfg.Attributes
	for _, f := range []struct{ name, attr string }{
		{"mobile", a.Mobile}, {"office phone", a.Office}, {"email", a.Email}, {"authenticator app", a.TOTPSecret},
	} {
		if f.attr == "" {
			continue
		}
		if allowed[strings.ToLower(f.attr)] {
			yes = append(yes, f.name+" ("+f.attr+")")
		} else {
			no = append(no, f.name+" ("+f.attr+")")
		}
	}
	msg := "security info (sspr info) on " + entries[0].DN + ": writable: " + listOrNone(yes) + "; not writable: " + listOrNone(no)
	fmt.Fprintf(w, "ok    %s\n", msg)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
