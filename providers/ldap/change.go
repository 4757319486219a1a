package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

var _ flow.PasswordChanger = (*Directory)(nil)

// The errors of ppolicy's response control (draft-behera-ldap-password-policy).
const (
	ppPasswordExpired  = 0
	ppAccountLocked    = 1
	ppChangeAfterReset = 2
)

// CheckPassword implements flow.PasswordChanger: it binds as u with
// password on a connection of its own. A password that is right but
// expired is flow.ErrPasswordExpired: on OpenLDAP, ppolicy's
// passwordExpired (sent only once the password matched), a grace login, or
// a password an administrator set that must be changed; on Active
// Directory, bind result 49 with data 532 (expired) or 773 (must change at
// next logon). Any other refusal is flow.ErrWrongPassword, the
// directory's reason wrapped for the audit. Every wrong password counts
// towards the directory's own lockout, as any sign-in does.
func (d *Directory) CheckPassword(ctx context.Context, u flow.User, password string) error {
	_, done, expired, err := d.bindAs(ctx, u.ID, password)
	defer done()
	if err != nil {
		return err
	}
	if expired {
		return flow.ErrPasswordExpired
	}
	return nil
}

// ChangePassword implements flow.PasswordChanger as a change, never as an
// administrator's reset, so the directory applies its rules for a change
// (history, minimum age).
//
// OpenLDAP: the Password Modify extended operation (RFC 3062) with the old
// password, bound as the person; ppolicy lets a grace login, or a
// connection restricted to changing a password set by an administrator,
// do exactly that. A password expired with no grace login left cannot bind
// at all: slapd then said in the bind that the old password is right, and
// the service account sets the new one (ppolicy holds it to the same
// rules as long as the service account has write, not manage, access to
// userPassword; see docs/LDAP.md).
//
// Active Directory: the change form of unicodePwd (delete the old value,
// add the new one in one modify) on the service account's encrypted
// connection. A change needs no right beyond knowing the old password
// (the Change Password right every user object grants to Everyone), and
// it works for an expired password and one that must be changed at next
// logon, which cannot bind.
func (d *Directory) ChangePassword(ctx context.Context, u flow.User, old, new string) error {
	var err error
	if d.cfg.Flavor == FlavorAD {
		err = d.changeAD(ctx, u, old, new)
	} else {
		err = d.changeOpenLDAP(ctx, u, old, new)
	}
	if err == nil || errors.Is(err, flow.ErrWrongPassword) {
		return err
	}
	if fe := refusal(err); fe != nil {
		return fe
	}
	return fmt.Errorf("ldap: changing the password of %s: %w", u.ID, unwrapNetwork(err))
}

func (d *Directory) changeOpenLDAP(ctx context.Context, u flow.User, old, new string) error {
	c, done, _, err := d.bindAs(ctx, u.ID, old)
	if err != nil {
		done()
		return err
	}
	if c != nil {
		defer done()
		_, err := c.PasswordModify(goldap.NewPasswordModifyRequest("", old, new))
		return err
	}
	done() // its slot is needed by the service account's connection
	return d.do(ctx, true, func(c *goldap.Conn) error {
		_, err := c.PasswordModify(goldap.NewPasswordModifyRequest(u.ID, "", new))
		return err
	})
}

func (d *Directory) changeAD(ctx context.Context, u flow.User, old, new string) error {
	err := d.do(ctx, true, func(c *goldap.Conn) error {
		if _, ok := c.TLSConnectionState(); !ok {
			return errNotTLS
		}
		req := goldap.NewModifyRequest(u.ID, nil)
		req.Delete("unicodePwd", []string{encodeUnicodePwd(old)})
		req.Add("unicodePwd", []string{encodeUnicodePwd(new)})
		return c.Modify(req)
	})
	// 00000056: the old value to delete is not the password.
	if goldap.IsErrorWithCode(err, goldap.LDAPResultConstraintViolation) && strings.Contains(err.Error(), "00000056") {
		return fmt.Errorf("%w: %s", flow.ErrWrongPassword, diagnostic(err))
	}
	return err
}

// bindAs dials a connection of its own (never pooled: it is bound as the
// person), binds as dn with password and says what the directory made of
// it. c is the bound connection, nil when the bind failed; expired says the
// password is right but expired (c may then be nil: it could not bind).
// A wrong password is flow.ErrWrongPassword. The connection holds one of
// the pool's slots until done is called, which the caller always does.
func (d *Directory) bindAs(ctx context.Context, dn, password string) (c *goldap.Conn, done func(), expired bool, err error) {
	select {
	case d.pool.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, func() {}, false, fmt.Errorf("ldap: waiting for a directory connection: %w", ctx.Err())
	}
	c, err = d.pool.dialAny(ctx, false)
	if err != nil {
		<-d.pool.slots
		return nil, func() {}, false, fmt.Errorf("ldap: %w", err)
	}
	conn := c
	stop := watch(ctx, conn, d.cfg.Timeout)
	done = func() {
		stop()
		conn.Close()
		<-d.pool.slots
	}
	req := &goldap.SimpleBindRequest{Username: dn, Password: password}
	if d.cfg.Flavor != FlavorAD {
		req.Controls = []goldap.Control{goldap.NewControlBeheraPasswordPolicy()}
	}
	res, berr := c.SimpleBind(req)
	if d.cfg.Flavor == FlavorAD {
		expired, err = adBindVerdict(berr)
	} else {
		expired, err = ppolicyBindVerdict(res, berr)
	}
	switch {
	case errors.Is(err, flow.ErrWrongPassword):
		return nil, done, false, err
	case err != nil:
		return nil, done, false, fmt.Errorf("ldap: bind as %s: %w", dn, unwrapNetwork(err))
	case berr != nil:
		return nil, done, expired, nil // right but expired: not bound
	}
	return c, done, expired, nil
}

// ppolicyBindVerdict reads OpenLDAP's answer to a bind with the password
// policy control: expired for a grace login, a password that must be
// changed after a reset, or passwordExpired on a refused bind (ppolicy
// says so only once the password matched).
func ppolicyBindVerdict(res *goldap.SimpleBindResult, err error) (expired bool, _ error) {
	pp := &goldap.ControlBeheraPasswordPolicy{Expire: -1, Grace: -1, Error: -1}
	if res != nil {
		if c, ok := goldap.FindControl(res.Controls, goldap.ControlTypeBeheraPasswordPolicy).(*goldap.ControlBeheraPasswordPolicy); ok {
			pp = c
		}
	}
	switch {
	case err == nil:
		return pp.Error == ppChangeAfterReset || pp.Grace >= 0, nil
	case !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials):
		return false, err
	case pp.Error == ppPasswordExpired:
		return true, nil
	case pp.Error == ppAccountLocked:
		return false, fmt.Errorf("%w: the account is locked", flow.ErrWrongPassword)
	}
	return false, flow.ErrWrongPassword
}

// adBindVerdict reads Active Directory's answer to a bind: result 49 with
// data 532 (the password expired) or 773 (it must be changed at next
// logon) means the password is right.
func adBindVerdict(err error) (expired bool, _ error) {
	if err == nil {
		return false, nil
	}
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		return false, err
	}
	switch data := adData(err); data {
	case "532", "773":
		return true, nil
	case "52e", "":
		return false, flow.ErrWrongPassword
	default:
		// 775 locked, 533 disabled, 701 account expired, 530/531 not at
		// this time or from this workstation: no change here either.
		return false, fmt.Errorf("%w: bind refused with data %s", flow.ErrWrongPassword, data)
	}
}

// adData is the "data" code in Active Directory's diagnostic text of a
// refused bind, "" when there is none.
func adData(err error) string {
	msg := diagnostic(err)
	i := strings.Index(msg, "data ")
	if i < 0 {
		return ""
	}
	rest := msg[i+len("data "):]
	if j := strings.IndexAny(rest, ", "); j >= 0 {
		rest = rest[:j]
	}
	return strings.ToLower(flow.Sanitize(rest, 8))
}

// diagnostic is the server's text in an LDAP error, sanitised.
func diagnostic(err error) string {
	var le *goldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return flow.Sanitize(le.Err.Error(), 300)
	}
	return ""
}
