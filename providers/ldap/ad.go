package ldap

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

// The password policy hints controls of Active Directory: with one of
// them, a password set by an administrator is held to the history rule
// like a change by the user. The first is Windows Server 2012 R2 and
// later; the second its predecessor.
const (
	oidPolicyHints           = "1.2.840.113556.1.4.2239"
	oidPolicyHintsDeprecated = "1.2.840.113556.1.4.2066"
)

// policyHintsValue is the control's value: SEQUENCE { Flags INTEGER 1 }.
const policyHintsValue = "\x30\x03\x02\x01\x01"

// encodeUnicodePwd is the unicodePwd value of password: the password in
// double quotes, as UTF-16LE.
func encodeUnicodePwd(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// setPasswordAD replaces unicodePwd over an encrypted connection, with the
// policy hints control when the server lists it.
func (d *Directory) setPasswordAD(ctx context.Context, u flow.User, password string) error {
	hints, err := d.policyHints(ctx)
	if err != nil {
		return err
	}
	var controls []goldap.Control
	if hints != "" {
		controls = append(controls, goldap.NewControlString(hints, true, policyHintsValue))
	}
	return d.do(ctx, true, func(c *goldap.Conn) error {
		if _, ok := c.TLSConnectionState(); !ok {
			return errNotTLS
		}
		req := goldap.NewModifyRequest(u.ID, controls)
		req.Replace("unicodePwd", []string{encodeUnicodePwd(password)})
		return c.Modify(req)
	})
}

// policyHints returns the policy hints control the server supports, or ""
// when it lists neither; the answer is kept once known.
func (d *Directory) policyHints(ctx context.Context) (string, error) {
	d.hintsMu.Lock()
	defer d.hintsMu.Unlock()
	if d.hintsKnown {
		return d.hints, nil
	}
	var supported []string
	err := d.do(ctx, false, func(c *goldap.Conn) error {
		var err error
		supported, err = rootDSE(c, "supportedControl")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading the RootDSE: %w", err)
	}
	d.hints, d.hintsKnown = "", true
	for _, oid := range []string{oidPolicyHints, oidPolicyHintsDeprecated} {
		if slices.Contains(supported, oid) {
			d.hints = oid
			break
		}
	}
	return d.hints, nil
}

// rootDSE reads one attribute of the server's root entry.
func rootDSE(c *goldap.Conn, attr string) ([]string, error) {
	res, err := c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, nil
	}
	return res.Entries[0].GetAttributeValues(attr), nil
}
