package embedded

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func TestDemoUsersFitThePolicy(t *testing.T) {
	policy := flow.DefaultConfig().Password
	endings := map[string]string{}
	for _, u := range DemoUsers {
		if err := (record{Login: u.Login, DisplayName: u.DisplayName, Email: u.Email, Mobile: u.Mobile,
			Office: u.Office, TOTPSecret: u.TOTPSecret}).validate(); err != nil {
			t.Errorf("%s: %v", u.Login, err)
		}
		for _, r := range flow.CheckPassword(policy, u.Login, u.Password, u.Password) {
			if !r.Met {
				t.Errorf("%s: demo password fails %q", u.Login, r.Text)
			}
		}
		for _, n := range []string{u.Mobile, u.Office} {
			if n == "" {
				continue
			}
			hint := flow.MaskPhone(n)
			if other, dup := endings[hint]; dup {
				t.Errorf("%s and %s have numbers with the same hint %s", u.Login, other, hint)
			}
			endings[hint] = u.Login
		}
	}
}

// Between them the enabled demo accounts carry every method.
func TestDemoUsersCoverEveryMethod(t *testing.T) {
	var mobile, office, app, email, disabled bool
	for _, u := range DemoUsers {
		if u.Disabled {
			disabled = true
			continue
		}
		mobile = mobile || u.Mobile != ""
		office = office || u.Office != ""
		app = app || u.TOTPSecret != ""
		email = email || u.Email != ""
	}
	if !mobile || !office || !app || !email || !disabled {
		t.Errorf("mobile %v office %v app %v email %v disabled %v", mobile, office, app, email, disabled)
	}
}

func TestWriteDemo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "demo-users.yaml")
	created, err := WriteDemo(path, WithParams(cheap))
	if err != nil || !created {
		t.Fatalf("WriteDemo: %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("mode %o, want 600", m)
	}
	before, _ := os.ReadFile(path)
	d := openDir(t, path)
	for _, u := range DemoUsers {
		if ok, err := d.VerifyPassword(u.Login, u.Password); !ok || err != nil {
			t.Errorf("%s: demo password does not verify (%v)", u.Login, err)
		}
		got, err := d.LookupUser(context.Background(), u.Login)
		if err != nil {
			t.Fatal(err)
		}
		want := flow.User{ID: u.Login, Login: u.Login, DisplayName: u.DisplayName, Email: u.Email,
			Mobile: u.Mobile, Office: u.Office, TOTPSecret: u.TOTPSecret, Disabled: u.Disabled}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("lookup %s:\n got %+v\nwant %+v", u.Login, got, want)
		}
	}

	// A second run, or several at once, leaves the file alone.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if created, err := WriteDemo(path, WithParams(cheap)); created || err != nil {
				t.Errorf("rewrite: %v, %v", created, err)
			}
		})
	}
	wg.Wait()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("an existing demo file was rewritten")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// Runs racing to create the demo file: exactly one writes it.
func TestWriteDemoRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-users.yaml")
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			created, err := WriteDemo(path, WithParams(cheap))
			if err != nil {
				t.Error(err)
			}
			if created {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n != 1 {
		t.Errorf("%d runs say they created the file, want 1", n)
	}
	openDir(t, path)
}
