package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// cheap keeps the tests fast; the format and the checks are the same.
var cheap = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := Hash(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// writeUsers writes a users file into a fresh directory and returns its path.
func writeUsers(t testing.TB, users []record) string {
	t.Helper()
	data, err := encodeUsers("# test users\n", users)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openDir(t testing.TB, path string) *Dir {
	t.Helper()
	d, err := Open(path, WithParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLookupUser(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Email: "Alice@Example.com", Mobile: "+1 212 555 0101", Password: mustHash(t, "old-Password-1")},
		{Login: "bob", Email: "bob@example.com", Groups: []string{"staff", "Domain Admins"}},
		// shared@example.com is the login of one and the email of another.
		{Login: "shared@example.com"},
		{Login: "carol", Email: "shared@example.com", Disabled: true},
	})
	d := openDir(t, path)
	tests := []struct {
		in      string
		want    string // login, or "" for ErrUnknownUser
		several bool   // the error says more than one matched
	}{
		{"alice", "alice", false},
		{"ALICE", "alice", false},
		{"  alice\t", "alice", false},
		{"alice@example.com", "alice", false},
		{"ALICE@EXAMPLE.COM", "alice", false},
		{"bob@example.com", "bob", false},
		{"carol", "carol", false},
		{"mallory", "", false},
		{"", "", false},
		{"alic", "", false},
		{"shared@example.com", "", true},
		{"SHARED@example.com ", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := d.LookupUser(context.Background(), tc.in)
			if tc.want == "" {
				if !errors.Is(err, flow.ErrUnknownUser) {
					t.Fatalf("got %+v, %v; want ErrUnknownUser", u, err)
				}
				if got := strings.Contains(err.Error(), "entries match"); got != tc.several {
					t.Errorf("error %q: says several match = %v, want %v", err, got, tc.several)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != tc.want || u.Login != tc.want {
				t.Errorf("got ID %q Login %q, want %q", u.ID, u.Login, tc.want)
			}
			if wantGroups := map[string]string{"bob": "[staff Domain Admins]"}[tc.want]; fmt.Sprint(u.Groups) != wantGroups && (wantGroups != "" || len(u.Groups) != 0) {
				t.Errorf("groups %v, want %s", u.Groups, wantGroups)
			}
		})
	}

	u, err := d.LookupUser(context.Background(), "carol")
	if err != nil || !u.Disabled {
		t.Errorf("carol: got %+v, %v; want the disabled entry", u, err)
	}
	u, _ = d.LookupUser(context.Background(), "alice")
	if u.Mobile != "+1 212 555 0101" || u.Email != "Alice@Example.com" {
		t.Errorf("alice: fields not carried: %+v", u)
	}
}

func TestSetPasswordThenVerify(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Password: mustHash(t, "old-Password-1")},
		{Login: "bob", Password: mustHash(t, "bob-Password-1")},
	})
	d := openDir(t, path)
	ctx := context.Background()
	u, err := d.LookupUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, u, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		login, pw string
		want      bool
	}{
		{"alice", "new-Password-22", true},
		{"alice", "old-Password-1", false},
		{"alice", "", false},
		{"bob", "bob-Password-1", true},
	} {
		ok, err := d.VerifyPassword(tc.login, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%s, %s) = %v, %v; want %v", tc.login, tc.pw, ok, err, tc.want)
		}
	}
	// A fresh Dir reads the same from disk.
	if ok, err := openDir(t, path).VerifyPassword("alice", "new-Password-22"); !ok || err != nil {
		t.Errorf("reopened: %v, %v", ok, err)
	}
}

func TestSetPasswordRefusals(t *testing.T) {
	path := writeUsers(t, []record{
		{Login: "alice", Password: mustHash(t, "old-Password-1")},
		{Login: "erin", Disabled: true},
	})
	d := openDir(t, path)
	before, _ := os.ReadFile(path)
	ctx := context.Background()
	tests := []struct {
		name string
		u    flow.User
		pw   string
	}{
		{"unknown", flow.User{ID: "mallory"}, "new-Password-22"},
		{"disabled", flow.User{ID: "erin"}, "new-Password-22"},
		{"empty password", flow.User{ID: "alice"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := d.SetPassword(ctx, tc.u, tc.pw)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.pw != "" && strings.Contains(err.Error(), tc.pw) {
				t.Errorf("error %q carries the password", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("file changed")
			}
		})
	}
}

func TestFailedWriteLeavesFileIntact(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice", Password: mustHash(t, "old-Password-1")}})
	d := openDir(t, path)
	before, _ := os.ReadFile(path)
	var tmpSeen string
	d.beforeRename = func(tmp string) error {
		tmpSeen = tmp
		// The new file is complete at this point, and not yet in place.
		if got, _ := os.ReadFile(path); !bytes.Equal(got, before) {
			t.Error("file changed before the rename")
		}
		return errors.New("simulated crash")
	}
	err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22")
	if err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("got %v, want the simulated failure", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("file changed after a failed write")
	}
	if _, err := os.Stat(tmpSeen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file %s left behind: %v", tmpSeen, err)
	}
	d.beforeRename = nil
	if ok, _ := d.VerifyPassword("alice", "old-Password-1"); !ok {
		t.Error("old password no longer works")
	}
	// The lock was released: the next write goes through.
	if err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
}

// A rewrite never leaves the file readable by others, whatever it was
// before; the lock file is private.
func TestWriteDropsOthersBits(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice"}})
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, path)
	if err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o640, path + ".lock": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != want {
			t.Errorf("%s: mode %o, want %o", p, m, want)
		}
	}
}

// otherGroup is a group the test process may give a file: nogroup (65534)
// as root, else one of its supplementary groups.
func otherGroup(t *testing.T) int {
	t.Helper()
	if os.Geteuid() == 0 {
		return 65534
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if g != os.Getegid() {
			return g
		}
	}
	t.Skip("needs root or a supplementary group to give the users file another group")
	return 0
}

func statOwner(t *testing.T, path string) (os.FileMode, owner) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := ownerOf(fi)
	if !ok {
		t.Fatal("no owner in the file's stat")
	}
	return fi.Mode().Perm(), o
}

// The administrator's "chgrp nogroup users.yaml; chmod 0640 users.yaml"
// outlives a password change, though the change replaces the file.
func TestWriteKeepsModeAndGroup(t *testing.T) {
	gid := otherGroup(t)
	path := writeUsers(t, []record{{Login: "alice", Password: mustHash(t, "old-Password-1")}})
	if err := os.Chown(path, -1, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	d := openDir(t, path)
	if err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Fatal("the file was not replaced; the test proves nothing")
	}
	mode, o := statOwner(t, path)
	if mode != 0o640 || o.gid != gid || o.uid != os.Geteuid() {
		t.Errorf("after the write: mode %o, owner %d:%d; want 640, %d:%d", mode, o.uid, o.gid, os.Geteuid(), gid)
	}
	if ok, _ := d.VerifyPassword("alice", "new-Password-22"); !ok {
		t.Error("the new password does not verify")
	}
}

// A process that may not give the file back its owner keeps what it can,
// writes anyway and says so in the log.
func TestWriteUnprivilegedKeepsWhatItCan(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the users file to another owner")
	}
	realChown := fchown
	t.Cleanup(func() { fchown = realChown })
	for _, tc := range []struct {
		name      string
		mayChgrp  bool
		wantMode  os.FileMode
		wantGroup int
		wantLog   string
	}{
		{"member of the group", true, 0o640, 65534, "owner 65534 is now 0 (not permitted to keep it); group and mode kept"},
		{"not a member", false, 0o600, 0, "owner 65534:65534 is now 0:0 (not permitted to keep it), and the group bits are dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An unprivileged process: no chown to another owner; a
			// chgrp only to a group it is in.
			fchown = func(f *os.File, uid, gid int) error {
				if uid != -1 || !tc.mayChgrp {
					return &os.PathError{Op: "fchown", Path: f.Name(), Err: syscall.EPERM}
				}
				return realChown(f, uid, gid)
			}
			path := writeUsers(t, []record{{Login: "alice"}})
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			d := openDir(t, path)
			var log bytes.Buffer
			d.SetLogger(slog.New(slog.NewTextHandler(&log, nil)))
			if err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22"); err != nil {
				t.Fatalf("the write failed: %v", err)
			}
			mode, o := statOwner(t, path)
			if mode != tc.wantMode || o.uid != 0 || o.gid != tc.wantGroup {
				t.Errorf("mode %o, owner %d:%d; want %o, 0:%d", mode, o.uid, o.gid, tc.wantMode, tc.wantGroup)
			}
			if !strings.Contains(log.String(), "users_file_owner_changed") || !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("the log does not say what changed:\n%s", log.String())
			}
		})
	}
}

// manyUsers writes n accounts user00, user01, ... with password "start".
func manyUsers(t *testing.T, n int) (string, []string) {
	var users []record
	var logins []string
	h := mustHash(t, "start")
	for i := range n {
		l := fmt.Sprintf("user%02d", i)
		logins = append(logins, l)
		users = append(users, record{Login: l, Password: h})
	}
	return writeUsers(t, users), logins
}

func newPassword(login string) string { return "New-" + login + "-Password-1" }

func TestConcurrentResetsAllLand(t *testing.T) {
	path, logins := manyUsers(t, 20)
	d := openDir(t, path)
	var wg sync.WaitGroup
	for _, l := range logins {
		wg.Go(func() {
			if err := d.SetPassword(context.Background(), flow.User{ID: l}, newPassword(l)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	check := openDir(t, path)
	for _, l := range logins {
		if ok, err := check.VerifyPassword(l, newPassword(l)); !ok || err != nil {
			t.Errorf("%s: new password lost (%v)", l, err)
		}
	}
}

// Two Dir values on one file share no memory, as two processes would not:
// only the file lock keeps their updates from overwriting each other.
func TestTwoDirsOnOneFile(t *testing.T) {
	path, logins := manyUsers(t, 20)
	dirs := []*Dir{openDir(t, path), openDir(t, path)}
	var wg sync.WaitGroup
	for i, l := range logins {
		d := dirs[i%2]
		wg.Go(func() {
			if err := d.SetPassword(context.Background(), flow.User{ID: l}, newPassword(l)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, d := range dirs {
		for _, l := range logins {
			if ok, err := d.VerifyPassword(l, newPassword(l)); !ok || err != nil {
				t.Errorf("%s: new password lost (%v)", l, err)
			}
		}
	}
}

func TestLockHonoursContext(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice"}})
	holder, waiter := openDir(t, path), openDir(t, path)
	unlock, err := holder.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = waiter.SetPassword(ctx, flow.User{ID: "alice"}, "new-Password-22")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
}

func TestWriteKeepsCommentsAndOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	src := "# Site accounts.\nusers:\n  # The first one.\n  - login: alice\n    mobile: +1 212 555 0101 # her phone\n    password: " +
		mustHash(t, "old-Password-1") + "\n  - login: bob\n    email: bob@example.com\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, path)
	if err := d.SetPassword(context.Background(), flow.User{ID: "bob"}, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	for _, want := range []string{"# Site accounts.", "# The first one.", "# her phone", mustFirstLine(src, "password: ")} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lost %q:\n%s", want, out)
		}
	}
	if ok, _ := d.VerifyPassword("bob", "new-Password-22"); !ok {
		t.Error("bob's new password did not land")
	}
}

func mustFirstLine(s, prefix string) string {
	i := strings.Index(s, prefix)
	return s[i : i+strings.IndexByte(s[i:], '\n')]
}

func TestOpenRefusesBadEntries(t *testing.T) {
	good := mustHash(t, "pw")
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "users:\n  - login: a\n    pasword: x\n", "pasword"},
		{"empty login", "users:\n  - email: a@example.com\n", "login: empty"},
		{"space in login", "users:\n  - login: a b\n", "login: contains a space"},
		{"bad email", "users:\n  - login: a\n    email: nobody\n", "email"},
		{"bad phone", "users:\n  - login: a\n    mobile: call me\n", "mobile"},
		{"bad totp", "users:\n  - login: a\n    totp_secret: not!base32\n", "totp_secret: not valid base32"},
		{"short totp", "users:\n  - login: a\n    totp_secret: MFRGG\n", "totp_secret: 24 bits"},
		{"bad hash", "users:\n  - login: a\n    password: $argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n", "password: malformed argon2id hash: algorithm"},
		{"not a list", "users: alice\n", "cannot unmarshal"},
		{"duplicate key", "users:\n  - login: a\n    login: b\n", "already defined"},
		{"empty group", "users:\n  - login: a\n    groups: [staff, \" \"]\n", "groups[1]"},
		{"groups not a list", "users:\n  - login: a\n    groups: staff\n", "cannot unmarshal"},
		{"second entry named", "users:\n  - login: a\n    password: " + good + "\n  - login: b\n    office: '12'\n", `users[1] ("b"): office`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestAddUserAndList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	d, err := Create(path, WithParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	alice := UserRecord{Login: "alice", Email: "alice@example.com", Mobile: "+1 212 555 0101", TOTPSecret: DemoUsers[0].TOTPSecret}
	if err := d.AddUser(alice, "Alice-Password-1"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddUser(UserRecord{Login: "ops@example.com"}, "Ops-Password-1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    UserRecord
		pw   string
		want error
	}{
		{"same login", UserRecord{Login: "ALICE"}, "pw", ErrExists},
		{"login is an email", UserRecord{Login: "alice@example.com"}, "pw", ErrExists},
		{"email is a login", UserRecord{Login: "al", Email: "OPS@example.com"}, "pw", ErrExists},
		{"email without domain", UserRecord{Login: "al", Email: "al@"}, "pw", nil},
		{"same email", UserRecord{Login: "al", Email: "alice@EXAMPLE.com"}, "pw", ErrExists},
		{"no password", UserRecord{Login: "bob"}, "", nil},
		{"bad phone", UserRecord{Login: "bob", Mobile: "x"}, "pw", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := d.AddUser(tc.u, tc.pw)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := d.AddUser(UserRecord{Login: "bob", Disabled: true}, "Bob-Password-1"); err != nil {
		t.Fatal(err)
	}
	list, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []UserInfo{
		{Login: "alice", Email: "alice@example.com", Mobile: "+1 212 555 0101", Authenticator: true, HasPassword: true},
		{Login: "ops@example.com", HasPassword: true},
		{Login: "bob", HasPassword: true, Disabled: true},
	}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Errorf("List:\n got %+v\nwant %+v", list, want)
	}
	if ok, err := d.VerifyPassword("alice", "Alice-Password-1"); !ok || err != nil {
		t.Errorf("alice: %v, %v", ok, err)
	}
	if _, err := d.VerifyPassword("mallory", "x"); !errors.Is(err, flow.ErrUnknownUser) {
		t.Errorf("mallory: got %v", err)
	}
	u, err := d.LookupUser(context.Background(), "alice@example.com")
	if err != nil || u.TOTPSecret != alice.TOTPSecret {
		t.Errorf("lookup after add: %+v, %v", u, err)
	}
	// Create on an existing file opens it and keeps what is there.
	d2, err := Create(path, WithParams(cheap))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := d2.List(); len(l) != 3 {
		t.Errorf("Create clobbered the file: %+v", l)
	}
}

func TestOpenFollowsSymlink(t *testing.T) {
	path := writeUsers(t, []record{{Login: "alice"}})
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, link)
	if err := d.SetPassword(context.Background(), flow.User{ID: "alice"}, "new-Password-22"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if ok, _ := openDir(t, path).VerifyPassword("alice", "new-Password-22"); !ok {
		t.Error("the write missed the target")
	}
}

// A number written without quotes or spaces is a YAML integer; it must
// still be read as the text that was written.
func TestUnquotedNumbersStayText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte("users:\n  - login: alice\n    mobile: +12125550101\n    office: 2125550111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := openDir(t, path).LookupUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Mobile != "+12125550101" || u.Office != "2125550111" {
		t.Errorf("got mobile %q office %q", u.Mobile, u.Office)
	}
}

// The lookup compares flow's canonical forms: every spelling the decoys
// take for one login finds the account, and no other does.
func TestLookupUserCanonical(t *testing.T) {
	d := openDir(t, writeUsers(t, []record{
		{Login: "sam", Email: "sam@example.com"},
		{Login: "Straße"},
	}))
	for login, want := range map[string]string{
		"ſam": "sam", "ＳＡＭ": "sam", "ſam@example.com": "sam", "sa\u200bm": "sam",
		"STRASSE": "Straße", "strasse": "Straße", "STRAẞE": "Straße",
	} {
		u, err := d.LookupUser(context.Background(), flow.CanonicalLogin(login))
		if err != nil || u.Login != want {
			t.Errorf("%q: %+v, %v; want %s", login, u, err, want)
		}
	}
	if _, err := d.LookupUser(context.Background(), flow.CanonicalLogin("sim")); !errors.Is(err, flow.ErrUnknownUser) {
		t.Errorf("sim: %v", err)
	}
}
