package embedded

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// CheckPassword: the current password is right; another, an account
// without a password and a disabled account are ErrWrongPassword.
func TestCheckPassword(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Password: mustHash(t, "old-Password-1")},
		{Login: "nopass"},
		{Login: "dis", Password: mustHash(t, "old-Password-1"), Disabled: true},
	})
	d := openDir(t, path)
	ctx := context.Background()
	for _, tc := range []struct {
		id, pw string
		want   error
	}{
		{"alice", "old-Password-1", nil},
		{"alice", "old-password-1", flow.ErrWrongPassword},
		{"nopass", "", flow.ErrWrongPassword},
		{"dis", "old-Password-1", flow.ErrWrongPassword},
		{"gone", "old-Password-1", flow.ErrUnknownUser},
	} {
		err := d.CheckPassword(ctx, flow.User{ID: tc.id}, tc.pw)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("CheckPassword(%s, %s) = %v; want %v", tc.id, tc.pw, err, tc.want)
		}
	}
}

// ChangePassword writes only with the right old password, and of two
// changes from the same old password only one lands.
func TestChangePassword(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice", Password: mustHash(t, "old-Password-1")}})
	d := openDir(t, path)
	ctx := context.Background()
	u := flow.User{ID: "alice"}
	if err := d.ChangePassword(ctx, u, "wrong-Password-1", "new-Password-22"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("wrong old password: %v", err)
	}
	if ok, _ := d.VerifyPassword("alice", "old-Password-1"); !ok {
		t.Fatal("a refused change wrote")
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, pw := range []string{"new-Password-22", "other-Password-33"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.ChangePassword(ctx, u, "old-Password-1", pw)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two changes from one old password: %v, %v", errs[0], errs[1])
	}
	winner := "new-Password-22"
	if errs[0] != nil {
		winner = "other-Password-33"
	}
	if ok, _ := d.VerifyPassword("alice", winner); !ok {
		t.Fatal("the change that succeeded did not land")
	}
}
