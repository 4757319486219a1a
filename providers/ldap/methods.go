package ldap

import (
	"context"
	"errors"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

var _ flow.MethodWriter = (*Directory)(nil)

// SetMethods writes what a person changed of their own security info to
// the mapped attributes of u.ID (attributes.mobile, .office, .email,
// .totp_secret) in one Modify, which the directory applies whole or not at
// all. A value replaces every value the attribute had (AD's otherMailbox
// is multi-valued: the person's address becomes its only one); an empty
// one removes the attribute. An authenticator secret is sealed for the
// entry as SetTOTPSecret seals it. The service account needs write access
// to exactly those attributes (docs/LDAP.md, docs/ACTIVE-DIRECTORY.md).
// Errors never hold the secret.
func (d *Directory) SetMethods(ctx context.Context, u flow.User, c flow.MethodChanges) error {
	if u.ID == "" {
		return errors.New("ldap: setting methods: the entry has no DN")
	}
	a := d.cfg.Attributes
	req := goldap.NewModifyRequest(u.ID, nil)
	for _, f := range []struct {
		key, attr string
		v         *string
	}{{"mobile", a.Mobile, c.Mobile}, {"office", a.Office, c.Office}, {"email", a.Email, c.Email}} {
		switch {
		case f.v == nil:
		case f.attr == "":
			return fmt.Errorf("ldap: setting methods of %s: no attribute holds it (set attributes.%s)", u.ID, f.key)
		case *f.v == "":
			req.Replace(f.attr, []string{})
		default:
			req.Replace(f.attr, []string{*f.v})
		}
	}
	if s := c.TOTPSecret; s != nil {
		switch {
		case a.TOTPSecret == "":
			return fmt.Errorf("ldap: setting methods of %s: %w", u.ID, errNoTOTPAttribute)
		case *s == "":
			req.Replace(a.TOTPSecret, []string{})
		default:
			stored, err := d.storedTOTP(u.ID, *s)
			if err != nil {
				return fmt.Errorf("ldap: setting methods of %s: %w", u.ID, err)
			}
			req.Replace(a.TOTPSecret, []string{stored})
		}
	}
	if len(req.Changes) == 0 {
		return nil
	}
	if err := d.do(ctx, true, func(c *goldap.Conn) error { return c.Modify(req) }); err != nil {
		return fmt.Errorf("ldap: setting methods of %s: %w", u.ID, unwrapNetwork(err))
	}
	return nil
}
