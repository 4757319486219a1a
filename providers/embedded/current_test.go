package embedded

import (
	"context"
	"errors"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// IsCurrentPassword verifies against the stored hash of the entry: the
// current password only, nothing for an account without one, an error for
// an entry that is gone or a context that ended.
func TestIsCurrentPassword(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Password: mustHash(t, "old-Password-1")},
		{Login: "nopass"},
	})
	d := openDir(t, path)
	ctx := context.Background()
	for _, tc := range []struct {
		id, pw string
		want   bool
	}{
		{"alice", "old-Password-1", true},
		{"ALICE", "old-Password-1", true},
		{"alice", "old-password-1", false},
		{"alice", "new-Password-22", false},
		{"nopass", "", false},
		{"nopass", "anything-1", false},
	} {
		got, err := d.IsCurrentPassword(ctx, flow.User{ID: tc.id, Login: tc.id}, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("IsCurrentPassword(%s, %s) = %v, %v; want %v", tc.id, tc.pw, got, err, tc.want)
		}
	}
	u, err := d.LookupUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, u, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := d.IsCurrentPassword(ctx, u, "new-Password-22"); !cur {
		t.Error("the new password is not the current one")
	}
	if cur, _ := d.IsCurrentPassword(ctx, u, "old-Password-1"); cur {
		t.Error("the old password is still the current one")
	}
	if _, err := d.IsCurrentPassword(ctx, flow.User{ID: "gone"}, "x"); !errors.Is(err, flow.ErrUnknownUser) {
		t.Errorf("unknown entry: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.IsCurrentPassword(done, u, "new-Password-22"); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
}
