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
// without a password, has no right password. As many checks run at once
// as there are processors; more wait their turn (or for ctx), so that
// sign-ins in numbers cannot take the memory of a hash each.
func (d *Dir) CheckPassword(ctx context.Context, u flow.User, password string) error {
	select {
	case d.checking <- struct{}{}:
		defer func() { <-d.checking }()
	case <-ctx.Done():
		return ctx.Err()
	}
	users, err := d.load()
	if err != nil {
		return err
	}
	i, err := findLogin(users, u.ID)
	if err != nil {
		return fmt.Errorf("check password of %q: %w", u.ID, err)
	}
	return checkRecord(users[i], password)
}

// checkRecord is CheckPassword for one entry.
func checkRecord(r record, password string) error {
	if r.Password == "" {
		return fmt.Errorf("%w: the account has no password", flow.ErrWrongPassword)
	}
	ok, err := Verify(r.Password, password)
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
// is replaced by one of new if old is its password, checked again under
// the lock that the write holds, so two changes cannot both start from
// the same old password.
func (d *Dir) ChangePassword(ctx context.Context, u flow.User, old, new string) error {
	if new == "" {
		return fmt.Errorf("change password of %q: the new password is empty", u.ID)
	}
	hash, err := Hash(new, d.params)
	if err != nil {
		return fmt.Errorf("change password of %q: %w", u.ID, err)
	}
	err = d.update(ctx, func(users []record) ([]record, error) {
		i, err := findLogin(users, u.ID)
		if err != nil {
			return nil, err
		}
		if err := checkRecord(users[i], old); err != nil {
			return nil, err
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
