package embedded

import (
	"context"
	"errors"
	"fmt"

	"github.com/sspr-project/sspr/flow"
)

var _ flow.PasswordChanger = (*Dir)(nil)

// CheckPassword implements flow.PasswordChanger: password is checked
// against the argon2id hash of entry u.ID. A disabled account, or one
// without a password, has no right password. The check waits its turn
// with every other argon2id computation of the Dir (argon), or for ctx.
func (d *Dir) CheckPassword(ctx context.Context, u flow.User, password string) error {
	users, err := d.load()
	if err != nil {
		return err
	}
	i, err := findLogin(users, u.ID)
	if err != nil {
		return fmt.Errorf("check password of %q: %w", u.ID, err)
	}
	return d.checkRecord(ctx, users[i], password)
}

// checkRecord is CheckPassword for one entry.
func (d *Dir) checkRecord(ctx context.Context, r record, password string) error {
	if r.Password == "" {
		return fmt.Errorf("%w: the account has no password", flow.ErrWrongPassword)
	}
	ok, err := d.verify(ctx, r.Password, password)
	switch {
	case err != nil:
		return fmt.Errorf("check password of %q: %w", r.Login, err)
	case !ok:
		return flow.ErrWrongPassword
	case r.Disabled:
		return fmt.Errorf("%w: the account is disabled", flow.ErrWrongPassword)
	}
	return nil
}

// ChangePassword implements flow.PasswordChanger: the hash of entry u.ID
// is replaced by one of new if old is its password. old is checked before
// the write takes the file's lock, which then holds only if the entry
// still has the hash old was checked against: of two changes from the
// same old password only one lands, and no hash is computed under the
// lock, where a wait for a turn would hold up every write.
func (d *Dir) ChangePassword(ctx context.Context, u flow.User, old, new string) error {
	if new == "" {
		return fmt.Errorf("change password of %q: the new password is empty", u.ID)
	}
	users, err := d.load()
	if err != nil {
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	i, err := findLogin(users, u.ID)
	if err != nil {
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	checked := users[i].Password
	if err := d.checkRecord(ctx, users[i], old); err != nil {
		if errors.Is(err, flow.ErrWrongPassword) {
			return err
		}
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	hash, err := d.hash(ctx, new)
	if err != nil {
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	err = d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, u.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case users[i].Password != checked:
			return nil, fmt.Errorf("%w: the password changed while the old one was checked", flow.ErrWrongPassword)
		case users[i].Disabled:
			return nil, fmt.Errorf("%w: the account is disabled", flow.ErrWrongPassword)
		}
		users[i].Password = hash
		return users, nil
	})
	if errors.Is(err, flow.ErrWrongPassword) {
		return err
	}
	if err != nil {
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	return nil
}
