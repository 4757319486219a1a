package embedded

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// A person's own changes reach the file: set, replaced and removed fields,
// the rest of the entry and the other entries as they were, the file
// replaced with its mode kept, the new app's secret sealed at rest.
func TestSetMethods(t *testing.T) {
	path := usersWithSecrets(t)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	d, err := Open(path, WithParams(cheap), WithTOTPKey(newKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const newSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	err = d.SetMethods(ctx, flow.User{ID: "alice"}, flow.MethodChanges{
		Mobile: ptr("+15550100042"), Email: ptr("alice.private@example.org"), TOTPSecret: ptr(newSecret)})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Error("the file was changed in place, not replaced")
	}
	if m := after.Mode().Perm(); m != 0o640 {
		t.Errorf("mode %o after the write, want 640", m)
	}
	u, err := d.LookupUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Mobile != "+15550100042" || u.Email != "alice.private@example.org" || u.TOTPSecret != newSecret {
		t.Errorf("alice after the change: %+v", u)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), newSecret) {
		t.Error("the new secret is stored in plain text")
	}
	if ok, _ := d.VerifyPassword("alice", "old-Password-1"); !ok {
		t.Error("the password changed with the methods")
	}
	if err := d.SetMethods(ctx, flow.User{ID: "alice"}, flow.MethodChanges{Mobile: ptr(""), TOTPSecret: ptr("")}); err != nil {
		t.Fatal(err)
	}
	u, _ = d.LookupUser(ctx, "alice")
	if u.Mobile != "" || u.TOTPSecret != "" || u.Email != "alice.private@example.org" {
		t.Errorf("after removing the mobile and the app: %+v", u)
	}
	bob, _ := d.LookupUser(ctx, "bob")
	if bob.Email != "bob@example.com" {
		t.Errorf("bob changed: %+v", bob)
	}
}

// An email that is another entry's login or email is refused and nothing
// is written; so is a change to an unknown or a disabled entry.
func TestSetMethodsRefusals(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Email: "alice@example.com", Password: mustHash(t, "old-Password-1")},
		{Login: "bob", Email: "bob@example.com"},
		{Login: "carol", Disabled: true},
	})
	d := openDir(t, path)
	ctx := context.Background()
	raw, _ := os.ReadFile(path)
	for _, c := range []struct {
		id  string
		ch  flow.MethodChanges
		err error
	}{
		{"alice", flow.MethodChanges{Email: ptr("bob@example.com")}, ErrExists},
		{"alice", flow.MethodChanges{Email: ptr("BOB@Example.COM")}, ErrExists},
		{"nobody", flow.MethodChanges{Mobile: ptr("+15550100042")}, flow.ErrUnknownUser},
		{"carol", flow.MethodChanges{Mobile: ptr("+15550100042")}, nil},
		{"alice", flow.MethodChanges{TOTPSecret: ptr("not base32!")}, nil},
	} {
		err := d.SetMethods(ctx, flow.User{ID: c.id}, c.ch)
		if err == nil || (c.err != nil && !errors.Is(err, c.err)) {
			t.Errorf("%s %+v: %v, want %v", c.id, c.ch, err, c.err)
		}
	}
	if now, _ := os.ReadFile(path); string(now) != string(raw) {
		t.Error("a refused change was written")
	}
}
