package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func ptr[T any](v T) *T { return &v }

func TestUpdateUser(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", DisplayName: "Alice", Email: "alice@example.com", Mobile: "+12125550101", Password: mustHash(t, "old-Password-1")},
		{Login: "bob", Email: "bob@example.com"},
	})
	d := openDir(t, path)
	ctx := context.Background()
	got, err := d.UpdateUser(ctx, " ALICE ", UserChange{DisplayName: ptr("Alice Example"), Mobile: ptr(""), Office: ptr("+442079460958")})
	if err != nil {
		t.Fatal(err)
	}
	want := UserInfo{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com", Office: "+442079460958", HasPassword: true}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if u, _ := openDir(t, path).User("alice"); u != want {
		t.Fatalf("read back %+v", u)
	}
	if ok, _ := d.VerifyPassword("alice", "old-Password-1"); !ok {
		t.Fatal("the password changed")
	}
	if _, err := d.UpdateUser(ctx, "alice", UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if u, _ := d.User("alice"); !u.Disabled {
		t.Fatal("alice is not disabled")
	}

	for name, c := range map[string]struct {
		login string
		c     UserChange
		want  error
	}{
		"unknown":     {"carol", UserChange{DisplayName: ptr("x")}, flow.ErrUnknownUser},
		"email taken": {"alice", UserChange{Email: ptr("BOB@example.com")}, ErrExists},
		"email login": {"alice", UserChange{Email: ptr("bob")}, nil},
		"bad phone":   {"alice", UserChange{Mobile: ptr("call me")}, nil},
	} {
		before, _ := os.ReadFile(path)
		_, err := d.UpdateUser(ctx, c.login, c.c)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%s: the file changed", name)
		}
	}
}

func TestRemoveUserKeepsComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	src := "# Site accounts.\nusers:\n  # The first one.\n  - login: alice\n    mobile: +1 212 555 0101 # her phone\n" +
		"  - login: bob\n    email: bob@example.com\n  # The last one.\n  - login: carol\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, path)
	got, err := d.RemoveUser(context.Background(), "Bob")
	if err != nil || got.Email != "bob@example.com" {
		t.Fatalf("remove: %+v %v", got, err)
	}
	out, _ := os.ReadFile(path)
	for _, want := range []string{"# Site accounts.", "# The first one.", "# her phone", "# The last one."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lost %q:\n%s", want, out)
		}
	}
	list, err := openDir(t, path).List()
	if err != nil || len(list) != 2 || list[0].Login != "alice" || list[1].Login != "carol" {
		t.Fatalf("left %+v %v", list, err)
	}
	if _, err := d.RemoveUser(context.Background(), "bob"); !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("second remove: %v", err)
	}
	for _, l := range []string{"alice", "carol"} {
		if _, err := d.RemoveUser(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := openDir(t, path).List(); err != nil || len(list) != 0 {
		t.Fatalf("after removing all: %+v %v", list, err)
	}
}

func TestResetPasswordOfDisabled(t *testing.T) {
	path := writeUsers(t, []record{{Login: "dan", Disabled: true, Password: mustHash(t, "old-Password-1")}})
	d := openDir(t, path)
	if err := d.ResetPassword(context.Background(), "DAN", "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := d.VerifyPassword("dan", "new-Password-22"); !ok {
		t.Fatal("the new password did not land")
	}
	if u, _ := d.User("dan"); !u.Disabled {
		t.Fatal("the reset enabled the account")
	}
	if err := d.ResetPassword(context.Background(), "erin", "new-Password-22"); !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("unknown login: %v", err)
	}
}
