package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// UserRecord is an account as an administrator adds it. The password is
// given apart, in plain text, and only its hash is stored.
type UserRecord struct {
	Login       string
	DisplayName string
	Email       string
	Mobile      string
	Office      string
	// TOTPSecret is the base32 secret of the authenticator app, if any.
	TOTPSecret string
	Disabled   bool
}

// UserInfo is an account as List shows it: no hash and no secret, only
// whether there is one.
type UserInfo struct {
	Login         string
	DisplayName   string
	Email         string
	Mobile        string
	Office        string
	Authenticator bool
	// AuthenticatorEncrypted says the authenticator secret is stored
	// encrypted rather than in plain text.
	AuthenticatorEncrypted bool
	HasPassword            bool
	Disabled               bool
	// SSHKeys is how many SSH public keys the entry lists.
	SSHKeys int
}

// ErrExists means a new account's login or email is already some account's
// login or email; a lookup could then no longer tell them apart.
var ErrExists = errors.New("login or email already in use")

// AddUser appends an account with password. It refuses a login or email
// that any account already has as login or email (ErrExists).
func (d *Dir) AddUser(u UserRecord, password string) error {
	r := record{Login: u.Login, DisplayName: u.DisplayName, Email: u.Email, Mobile: u.Mobile,
		Office: u.Office, TOTPSecret: u.TOTPSecret, Disabled: u.Disabled}
	if totp.IsSealed(r.TOTPSecret) {
		return errors.New("add user: totp_secret: give the base32 secret, not an encrypted one")
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if r.TOTPSecret != "" && d.key != nil {
		sealed, err := d.key.Seal(r.Login, r.TOTPSecret)
		if err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		r.TOTPSecret = sealed
	}
	if password == "" {
		return errors.New("add user: the password is empty")
	}
	hash, err := d.hash(context.Background(), password)
	if err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	r.Password = hash
	err = d.update(context.Background(), func(users []record) ([]record, error) {
		for _, o := range users {
			for _, name := range []string{r.Login, r.Email} {
				if same(o.Login, name) || same(o.Email, name) {
					return nil, fmt.Errorf("%q: %w by %q", name, ErrExists, o.Login)
				}
			}
		}
		return append(users, r), nil
	})
	if err != nil {
		return fmt.Errorf("add user %q: %w", u.Login, err)
	}
	return nil
}

// VerifyPassword reports whether password is the one set for login. An
// account without a password matches none.
func (d *Dir) VerifyPassword(login, password string) (bool, error) {
	return d.verifyPassword(context.Background(), login, password)
}

// verifyPassword is VerifyPassword waiting for its turn (argon) as long
// as ctx lasts.
func (d *Dir) verifyPassword(ctx context.Context, login, password string) (bool, error) {
	users, err := d.load()
	if err != nil {
		return false, err
	}
	i, err := findLogin(users, login)
	if err != nil {
		return false, fmt.Errorf("verify password of %q: %w", login, err)
	}
	if users[i].Password == "" {
		return false, nil
	}
	ok, err := d.verify(ctx, users[i].Password, password)
	if err != nil {
		return false, fmt.Errorf("verify password of %q: %w", login, err)
	}
	return ok, nil
}

// IsCurrentPassword implements flow.CurrentPasswordChecker: it verifies
// password against the stored argon2id hash of entry u.ID, so that flow
// can refuse a reset to the password the account already has. It waits
// its turn (argon) as long as ctx lasts.
func (d *Dir) IsCurrentPassword(ctx context.Context, u flow.User, password string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return d.verifyPassword(ctx, u.ID, password)
}

// List returns every account in file order.
func (d *Dir) List() ([]UserInfo, error) {
	users, err := d.load()
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, len(users))
	for i, r := range users {
		out[i] = info(r)
	}
	return out, nil
}

// info is r as List shows it.
func info(r record) UserInfo {
	return UserInfo{Login: r.Login, DisplayName: r.DisplayName, Email: r.Email, Mobile: r.Mobile,
		Office: r.Office, Authenticator: r.TOTPSecret != "", AuthenticatorEncrypted: totp.IsSealed(r.TOTPSecret),
		HasPassword: r.Password != "", Disabled: r.Disabled, SSHKeys: len(r.SSHKeys)}
}

// SetTOTPSecret enrols an authenticator app for the entry whose login is
// login, replacing any secret it had: secret is the base32 secret, stored
// encrypted when the Dir has a TOTP key. Nothing else changes.
func (d *Dir) SetTOTPSecret(ctx context.Context, login, secret string) error {
	if err := checkPlainSecret(secret); err != nil {
		return fmt.Errorf("set authenticator of %q: %w", login, err)
	}
	err := d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, login)
		if err != nil {
			return nil, err
		}
		stored := secret
		if d.key != nil {
			if stored, err = d.key.Seal(users[i].Login, secret); err != nil {
				return nil, err
			}
		}
		users[i].TOTPSecret = stored
		return users, nil
	})
	if err != nil {
		return fmt.Errorf("set authenticator of %q: %w", login, err)
	}
	return nil
}

// EncryptTOTPSecrets encrypts every authenticator secret still stored in
// plain text with the Dir's key and reports how many it encrypted.
func (d *Dir) EncryptTOTPSecrets(ctx context.Context) (int, error) {
	if d.key == nil {
		return 0, errors.New("encrypt authenticator secrets: no TOTP key is configured")
	}
	n := 0
	err := d.update(ctx, func(users []record) ([]record, error) {
		n = 0
		for i := range users {
			if users[i].TOTPSecret == "" || totp.IsSealed(users[i].TOTPSecret) {
				continue
			}
			sealed, err := d.key.Seal(users[i].Login, users[i].TOTPSecret)
			if err != nil {
				return nil, err
			}
			users[i].TOTPSecret = sealed
			n++
		}
		return users, nil
	})
	if err != nil {
		return 0, fmt.Errorf("encrypt authenticator secrets: %w", err)
	}
	return n, nil
}

// UserChange is what UpdateUser changes: a nil field stays as it is, a
// pointer to "" clears the field.
type UserChange struct {
	DisplayName, Email, Mobile, Office *string
	Disabled                           *bool
	// ClearSSHKeys removes every SSH key first; AddSSHKeys then adds
	// these authorized_keys lines, each key once.
	ClearSSHKeys bool
	AddSSHKeys   []string
}

// User returns the entry whose login is login, in flow.CanonicalLogin's
// form; flow.ErrUnknownUser when there is none. Unlike LookupUser, an
// email does not find it: an administrator names the entry itself.
func (d *Dir) User(login string) (UserInfo, error) {
	users, err := d.load()
	if err != nil {
		return UserInfo{}, err
	}
	i, err := findLogin(users, login)
	if err != nil {
		return UserInfo{}, fmt.Errorf("%q: %w", flow.Sanitize(login, 64), err)
	}
	return info(users[i]), nil
}

// UpdateUser changes the fields c names in the entry whose login is login
// and returns the entry as written. The entry must stay valid, and a new
// email must not be any other entry's login or email (ErrExists).
func (d *Dir) UpdateUser(ctx context.Context, login string, c UserChange) (UserInfo, error) {
	var out UserInfo
	err := d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, login)
		if err != nil {
			return nil, err
		}
		r := users[i]
		for _, f := range []struct {
			to   *string
			from *string
		}{{&r.DisplayName, c.DisplayName}, {&r.Email, c.Email}, {&r.Mobile, c.Mobile}, {&r.Office, c.Office}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if c.Disabled != nil {
			r.Disabled = *c.Disabled
		}
		if c.ClearSSHKeys {
			r.SSHKeys = nil
		}
		r.SSHKeys = addSSHKeys(r.SSHKeys, c.AddSSHKeys)
		if err := r.validate(); err != nil {
			return nil, err
		}
		if c.Email != nil {
			if other, taken := emailTaken(users, i, r.Email); taken {
				return nil, fmt.Errorf("%q: %w by %q", r.Email, ErrExists, other)
			}
		}
		users[i] = r
		out = info(r)
		return users, nil
	})
	if err != nil {
		return UserInfo{}, fmt.Errorf("update user %q: %w", flow.Sanitize(login, 64), err)
	}
	return out, nil
}

// RemoveUser deletes the entry whose login is login and returns it as it
// was.
func (d *Dir) RemoveUser(ctx context.Context, login string) (UserInfo, error) {
	var out UserInfo
	err := d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, login)
		if err != nil {
			return nil, err
		}
		out = info(users[i])
		return append(users[:i:i], users[i+1:]...), nil
	})
	if err != nil {
		return UserInfo{}, fmt.Errorf("remove user %q: %w", flow.Sanitize(login, 64), err)
	}
	return out, nil
}

// ResetPassword is an administrator's reset: the hash of the entry whose
// login is login is replaced, disabled or not, and nothing else changes.
// The password policy is the caller's to check.
func (d *Dir) ResetPassword(ctx context.Context, login, password string) error {
	if password == "" {
		return fmt.Errorf("reset password of %q: the password is empty", flow.Sanitize(login, 64))
	}
	hash, err := d.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("reset password of %q: %w", flow.Sanitize(login, 64), err)
	}
	err = d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, login)
		if err != nil {
			return nil, err
		}
		users[i].Password = hash
		return users, nil
	})
	if err != nil {
		return fmt.Errorf("reset password of %q: %w", flow.Sanitize(login, 64), err)
	}
	return nil
}

// TOTPKeyID names the Dir's TOTP key (see totp.Key.ID); empty without one.
func (d *Dir) TOTPKeyID() string {
	if d.key == nil {
		return ""
	}
	return d.key.ID()
}

// addSSHKeys appends to have the lines of add whose keys it does not list
// yet, compared by fingerprint; a line that is not a key is appended as
// it is, for validate to refuse.
func addSSHKeys(have, add []string) []string {
	seen := map[string]bool{}
	for _, l := range have {
		if fp, err := flow.ValidSSHKey(l); err == nil {
			seen[fp] = true
		}
	}
	out := slices.Clone(have)
	for _, l := range add {
		l = strings.TrimSpace(l)
		fp, err := flow.ValidSSHKey(l)
		if err == nil {
			if seen[fp] {
				continue
			}
			seen[fp] = true
		}
		out = append(out, l)
	}
	return out
}

// SetMethods stores what a person changed of their own security info
// (flow.MethodWriter): a nil field stays, an empty one is removed. The
// file is rewritten atomically with its mode and owner, as every change
// is; an authenticator secret is sealed when the Dir has a TOTP key. A new
// email must not be any other entry's login or email (ErrExists).
func (d *Dir) SetMethods(ctx context.Context, u flow.User, c flow.MethodChanges) error {
	if s := c.TOTPSecret; s != nil && *s != "" {
		if err := checkPlainSecret(*s); err != nil {
			return fmt.Errorf("set methods of %q: %w", u.ID, err)
		}
	}
	err := d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, u.ID)
		if err != nil {
			return nil, err
		}
		r := users[i]
		if r.Disabled {
			return nil, errors.New("the account is disabled")
		}
		for _, f := range []struct{ to, from *string }{{&r.Email, c.Email}, {&r.Mobile, c.Mobile}, {&r.Office, c.Office}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if s := c.TOTPSecret; s != nil {
			r.TOTPSecret = *s
			if d.key != nil && *s != "" {
				if r.TOTPSecret, err = d.key.Seal(r.Login, *s); err != nil {
					return nil, err
				}
			}
		}
		if err := r.validate(); err != nil {
			return nil, err
		}
		if c.Email != nil {
			if _, taken := emailTaken(users, i, r.Email); taken {
				return nil, fmt.Errorf("the email: %w", ErrExists)
			}
		}
		users[i] = r
		return users, nil
	})
	if err != nil {
		return fmt.Errorf("set methods of %q: %w", u.ID, err)
	}
	return nil
}

// checkPlainSecret checks an authenticator secret given to be stored: a
// base32 secret, not one sealed already.
func checkPlainSecret(secret string) error {
	if totp.IsSealed(secret) {
		return errors.New("give the base32 secret, not an encrypted one")
	}
	return totp.CheckSecret(secret)
}

// emailTaken reports whether email, when not empty, is the login or the
// email of an entry other than users[i], and that entry's login.
func emailTaken(users []record, i int, email string) (login string, taken bool) {
	if email == "" {
		return "", false
	}
	for j, o := range users {
		if j != i && (same(o.Login, email) || same(o.Email, email)) {
			return o.Login, true
		}
	}
	return "", false
}
