package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// Directory is a flow.Directory and flow.Unlocker on an LDAP server. It is
// safe for concurrent use.
type Directory struct {
	cfg  Config
	log  *slog.Logger
	pool *pool

	// hints is the password policy hints control Active Directory
	// supports, found in its RootDSE once ("" when it has none).
	hintsMu    sync.Mutex
	hints      string
	hintsKnown bool
}

var (
	_ flow.Directory = (*Directory)(nil)
	_ flow.Unlocker  = (*Directory)(nil)
)

// The lock markers of OpenLDAP's ppolicy overlay.
const (
	attrLockedTime = "pwdAccountLockedTime"
	// lockedForGood is the pwdAccountLockedTime an administrator sets to
	// disable an account.
	lockedForGood = "000001010000Z"
)

// The account state attributes of Active Directory.
const (
	attrUAC         = "userAccountControl"
	attrLockoutTime = "lockoutTime"
	// attrUACComputed is constructed by the DC: UF_LOCKOUT (0x10) is set
	// only while a lockout lasts, whereas lockoutTime outlives it.
	attrUACComputed = "msDS-User-Account-Control-Computed"
	ufLockout       = 0x10
	uacDisabled     = 0x2
)

// New checks cfg as config.Load does (the ranges of its tags, the bind
// password, Validate), after a zero connect_timeout, timeout or pool_size
// has taken Default's, and prepares the directory. It does not connect:
// the first operation does, and sspr check reports whether it can.
func New(cfg Config, log *slog.Logger) (*Directory, error) {
	cfg.fillZero()
	if err := config.Check(&cfg); err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	cfg = cfg.withDefaults()
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Directory{cfg: cfg, log: log, pool: newPool(cfg, tc)}, nil
}

// Close drops the pooled connections.
func (d *Directory) Close() error {
	d.pool.close()
	return nil
}

// do runs fn on a pooled connection within the operation timeout. A read
// that fails on a pooled connection the server had dropped is tried once
// more on a new one; a write only when it was never sent.
func (d *Directory) do(ctx context.Context, write bool, fn func(*goldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, fresh, err := d.pool.get(ctx)
		if err != nil {
			return err
		}
		stop := watch(ctx, c, d.cfg.Timeout)
		err = fn(c)
		stop()
		d.pool.put(c, !isNetwork(err) && ctx.Err() == nil)
		if err == nil || !isNetwork(err) || fresh || attempt > 0 || ctx.Err() != nil || (write && !notSent(err)) {
			if err != nil && ctx.Err() != nil {
				return fmt.Errorf("%w (%w)", ctx.Err(), unwrapNetwork(err))
			}
			return err
		}
		d.log.Info("ldap: pooled connection was dropped by the server; reconnecting", "error", unwrapNetwork(err).Error())
	}
}

// maxLogin bounds what is sent to the server; no account name is longer.
const maxLogin = 512

// attributes is what a lookup reads.
func (d *Directory) attributes() []string {
	a := d.cfg.Attributes
	var out []string
	for _, n := range []string{a.Login, a.DisplayName, a.Email, a.Mobile, a.Office, a.TOTPSecret, a.Groups, a.SSHKeys} {
		if n != "" {
			out = append(out, n)
		}
	}
	if d.cfg.Flavor == FlavorAD {
		return append(out, attrUAC, attrLockoutTime, attrUACComputed)
	}
	return append(out, attrLockedTime)
}

// LookupUser finds the one entry the filter matches for login. None, or
// more than one (logged: the filter is too wide), is flow.ErrUnknownUser.
func (d *Directory) LookupUser(ctx context.Context, login string) (flow.User, error) {
	// A control character (NUL above all: AD compares values as C
	// strings) never belongs in a login.
	if login == "" || len(login) > maxLogin || strings.ContainsFunc(login, unicode.IsControl) {
		return flow.User{}, flow.ErrUnknownUser
	}
	entries, err := d.search(ctx, login)
	if err != nil {
		return flow.User{}, fmt.Errorf("ldap lookup: %w", err)
	}
	switch len(entries) {
	case 0:
		return flow.User{}, flow.ErrUnknownUser
	case 1:
		return d.user(entries[0], login), nil
	default:
		dns := make([]string, len(entries))
		for i, e := range entries {
			dns[i] = e.DN
		}
		d.log.Warn("ldap: several entries match one login; refusing it (make user_filter match one entry)", "entries", dns)
		// flow audits the wrapped words and walks the decoy path.
		return flow.User{}, fmt.Errorf("ldap: several entries match: %w", flow.ErrUnknownUser)
	}
}

// search returns up to two entries matching login (two are enough to know
// it is ambiguous).
func (d *Directory) search(ctx context.Context, login string) ([]*goldap.Entry, error) {
	req := goldap.NewSearchRequest(d.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2,
		int(d.cfg.Timeout.Seconds()+0.5), false, expandFilter(d.cfg.UserFilter, login), d.attributes(), nil)
	var entries []*goldap.Entry
	err := d.do(ctx, false, func(c *goldap.Conn) error {
		res, err := c.Search(req)
		if res != nil {
			entries = res.Entries
		}
		if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
			return nil // more than two: entries holds the first ones
		}
		return err
	})
	return entries, err
}

// user maps an entry to flow's view of it.
func (d *Directory) user(e *goldap.Entry, login string) flow.User {
	a := d.cfg.Attributes
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return e.GetAttributeValue(name)
	}
	u := flow.User{
		ID:          e.DN,
		Login:       get(a.Login),
		DisplayName: get(a.DisplayName),
		Email:       get(a.Email),
		Mobile:      get(a.Mobile),
		Office:      get(a.Office),
		TOTPSecret:  d.userTOTP(e.DN, get(a.TOTPSecret)),
	}
	if u.Login == "" {
		u.Login = login
	}
	if a.Groups != "" {
		u.Groups = e.GetAttributeValues(a.Groups)
	}
	if a.SSHKeys != "" {
		u.SSHKeys = d.sshKeys(e)
	}
	if d.cfg.Flavor == FlavorAD {
		uac, _ := strconv.ParseInt(e.GetAttributeValue(attrUAC), 10, 64)
		u.Disabled = uac&uacDisabled != 0
		if v := e.GetAttributeValue(attrUACComputed); v != "" {
			computed, _ := strconv.ParseInt(v, 10, 64)
			u.Locked = computed&ufLockout != 0
		} else {
			lockout, _ := strconv.ParseInt(e.GetAttributeValue(attrLockoutTime), 10, 64)
			u.Locked = lockout > 0
		}
	} else {
		switch t := e.GetAttributeValue(attrLockedTime); {
		case t == lockedForGood:
			u.Disabled = true
		case t != "":
			u.Locked = true
		}
	}
	return u
}

// SetPassword replaces the password of u. A refusal by the directory's
// password policy is a *flow.Error with ReasonDirectoryRefused; anything
// else (the server away, a timeout, no right to write) is a plain error.
func (d *Directory) SetPassword(ctx context.Context, u flow.User, password string) error {
	var err error
	if d.cfg.Flavor == FlavorAD {
		err = d.setPasswordAD(ctx, u, password)
	} else {
		err = d.do(ctx, true, func(c *goldap.Conn) error {
			_, err := c.PasswordModify(goldap.NewPasswordModifyRequest(u.ID, "", password))
			return err
		})
	}
	if err != nil {
		if fe := refusal(err); fe != nil {
			return fe
		}
		return fmt.Errorf("ldap: setting the password of %s: %w", u.ID, unwrapNetwork(err))
	}
	if u.Locked && !u.Disabled && d.cfg.UnlockOnReset {
		if err := d.Unlock(ctx, u); err != nil {
			// The password is set; the lockout stays for an administrator.
			d.log.Warn("ldap: password set but the lockout could not be lifted", "dn", u.ID, "error", err.Error())
		}
	}
	return nil
}

// Unlock lifts the lockout of u and keeps its password.
func (d *Directory) Unlock(ctx context.Context, u flow.User) error {
	if u.Disabled {
		return fmt.Errorf("ldap: %s is disabled, not locked; only an administrator may enable it", u.ID)
	}
	req := goldap.NewModifyRequest(u.ID, nil)
	if d.cfg.Flavor == FlavorAD {
		req.Replace(attrLockoutTime, []string{"0"})
	} else {
		req.Delete(attrLockedTime, nil)
	}
	err := d.do(ctx, true, func(c *goldap.Conn) error { return c.Modify(req) })
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute) {
		return nil // not locked (any more): nothing to lift
	}
	if err != nil {
		return fmt.Errorf("ldap: unlocking %s: %w", u.ID, unwrapNetwork(err))
	}
	return nil
}

// errNotTLS stops a password from crossing an unencrypted connection.
var errNotTLS = errors.New("the connection is not encrypted; Active Directory needs ldaps:// or start_tls to set a password")

// Ping checks that the directory answers: a pooled connection (bound as
// the service account; a new one when none is idle) reads the root DSE,
// asking for no attribute. It is cheap enough for a timer every few
// seconds, and a dropped connection is replaced as for any read.
func (d *Directory) Ping(ctx context.Context) error {
	err := d.do(ctx, false, func(c *goldap.Conn) error {
		_, err := c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, int(d.cfg.Timeout/time.Second), false, "(objectClass=*)", []string{"1.1"}, nil))
		return err
	})
	if err != nil {
		return fmt.Errorf("ldap: ping: %w", err)
	}
	return nil
}

// sshKeys are the entry's SSH keys, bounded: values past flow.MaxSSHKeys
// and values longer than flow.MaxSSHKeyLine are left out, and said once
// per lookup in the log.
func (d *Directory) sshKeys(e *goldap.Entry) []string {
	var out []string
	var long, over int
	for _, v := range e.GetAttributeValues(d.cfg.Attributes.SSHKeys) {
		switch {
		case len(v) > flow.MaxSSHKeyLine:
			long++
		case len(out) >= flow.MaxSSHKeys:
			over++
		default:
			out = append(out, v)
		}
	}
	if long+over > 0 {
		d.log.Warn("ldap: SSH keys left out", "dn", e.DN, "attribute", d.cfg.Attributes.SSHKeys,
			"longer_than_max", long, "over_max", over, "max", flow.MaxSSHKeys)
	}
	return out
}
