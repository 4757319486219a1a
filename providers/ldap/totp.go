package ldap

import (
	"context"
	"errors"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// Authenticator secrets in the directory.
//
// With Config.TOTPKey, SetTOTPSecret stores a secret sealed (see
// providers/totp) with the entry's DN bound in: whoever else can read the
// attribute learns nothing usable, and a value copied to another entry does
// not open there. A value without the sealing prefix is a plain base32
// secret, as other tools write it or as it was before a key was
// configured; it keeps working.

// errNoTOTPAttribute is SetTOTPSecret's answer when no attribute holds
// authenticator secrets.
var errNoTOTPAttribute = errors.New("no attribute holds authenticator secrets (set attributes.totp_secret)")

// TOTPAttribute names the attribute that holds authenticator secrets; empty
// when none is configured.
func (d *Directory) TOTPAttribute() string { return d.cfg.Attributes.TOTPSecret }

// TOTPKeyID names the key that seals authenticator secrets (see
// totp.Key.ID); empty without one.
func (d *Directory) TOTPKeyID() string {
	if d.cfg.TOTPKey == nil {
		return ""
	}
	return d.cfg.TOTPKey.ID()
}

// openTOTP returns the usable secret of the entry dn from the value stored
// in its TOTP attribute: a plain value as it is, a sealed one opened. The
// error says why a sealed value cannot be used and never holds any part of
// it.
func (d *Directory) openTOTP(dn, stored string) (string, error) {
	if !totp.IsSealed(stored) {
		return stored, nil
	}
	secret, err := d.cfg.TOTPKey.Open(dn, stored)
	if err != nil {
		return "", err
	}
	if totp.CheckSecret(secret) != nil {
		return "", totp.ErrTampered
	}
	return secret, nil
}

// userTOTP is the secret lookup hands to flow: one that cannot be opened
// leaves the person without an authenticator app (logged for the operator)
// rather than failing the lookup, so the other methods still work.
func (d *Directory) userTOTP(dn, stored string) string {
	secret, err := d.openTOTP(dn, stored)
	if err != nil {
		d.log.Warn("ldap: the authenticator secret of an entry cannot be used; the app is not offered until it is enrolled again",
			"dn", dn, "attribute", d.cfg.Attributes.TOTPSecret, "error", err.Error())
		return ""
	}
	return secret
}

// SetTOTPSecret enrols an authenticator app for u (as LookupUser returned
// it), replacing any secret it had: secret is the base32 secret, written to
// the TOTP attribute of u.ID, sealed for that DN when a key is configured.
// Nothing else changes. The service account needs write access to that
// attribute (docs/LDAP.md). Errors never hold the secret.
func (d *Directory) SetTOTPSecret(ctx context.Context, u flow.User, secret string) error {
	attr := d.cfg.Attributes.TOTPSecret
	if attr == "" {
		return fmt.Errorf("ldap: setting the authenticator of %s: %w", u.ID, errNoTOTPAttribute)
	}
	if u.ID == "" {
		return errors.New("ldap: setting the authenticator: the entry has no DN")
	}
	stored, err := d.storedTOTP(u.ID, secret)
	if err != nil {
		return fmt.Errorf("ldap: setting the authenticator of %s: %w", u.ID, err)
	}
	req := goldap.NewModifyRequest(u.ID, nil)
	req.Replace(attr, []string{stored})
	if err := d.do(ctx, true, func(c *goldap.Conn) error { return c.Modify(req) }); err != nil {
		return fmt.Errorf("ldap: setting the authenticator of %s (%s): %w", u.ID, attr, unwrapNetwork(err))
	}
	return nil
}

// storedTOTP is the value of the authenticator attribute of entry dn for
// secret, a base32 secret: sealed for the entry when a key is set. Its
// errors never hold the secret.
func (d *Directory) storedTOTP(dn, secret string) (string, error) {
	if totp.IsSealed(secret) {
		return "", errors.New("give the base32 secret, not a sealed one")
	}
	if err := totp.CheckSecret(secret); err != nil {
		return "", fmt.Errorf("the secret is %w", err)
	}
	if d.cfg.TOTPKey == nil {
		return secret, nil
	}
	return d.cfg.TOTPKey.Seal(dn, secret)
}
