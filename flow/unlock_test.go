package flow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// lockDir is a fakeDir that can also unlock accounts.
type lockDir struct {
	*fakeDir
	mu      sync.Mutex
	unlocks []string
	err     error
}

func (d *lockDir) Unlock(_ context.Context, u flow.User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.unlocks = append(d.unlocks, u.ID)
	return nil
}

func (d *lockDir) Unlocks() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.unlocks...)
}

// lockRig is a rig whose alice is locked out, on a directory that can
// unlock (or not, when plain).
func lockRig(t *testing.T, plain bool, mutate ...func(*flow.Config)) (*rig, *lockDir) {
	t.Helper()
	r := newRig(t, mutate...)
	alice := r.dir.users["alice"]
	alice.Locked = true
	r.dir.users["alice"] = alice
	ld := &lockDir{fakeDir: r.dir}
	var dir flow.Directory = ld
	if plain {
		dir = r.dir
	}
	cfg := baseConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: dir, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(r.audit), Clock: r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	return r, ld
}

func TestUnlock(t *testing.T) {
	t.Run("a verified person unlocks and keeps the password", func(t *testing.T) {
		r, ld := lockRig(t, false)
		s := r.identified("alice")
		if s.Unlockable() {
			t.Fatal("unlockable before verification")
		}
		mustReason(t, s.Unlock(bg), flow.ReasonOutOfOrder)
		s = r.verified()
		if !s.Unlockable() {
			t.Fatal("a verified, locked account is not unlockable")
		}
		mustOK(t, s.Unlock(bg))
		mustStep(t, s, flow.StepDone)
		if !s.State().Unlocked {
			t.Fatal("State().Unlocked is false")
		}
		if got := ld.Unlocks(); len(got) != 1 || got[0] != "uid=alice" {
			t.Fatalf("unlocks %v", got)
		}
		if r.dir.Sets() != nil {
			t.Fatal("the password was written")
		}
		notice := r.email.Last(t)
		if notice.Kind != flow.KindNotice || !strings.Contains(notice.Text, "unlocked") || strings.Contains(notice.Text, "password was reset") {
			t.Fatalf("notice %+v", notice)
		}
		mustReason(t, s.Unlock(bg), flow.ReasonOutOfOrder)
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		if !strings.Contains(r.audit.String(), `"step":"unlock","result":"ok"`) {
			t.Fatalf("no audit line for the unlock:\n%s", r.audit)
		}
	})
	t.Run("not offered when the account is not locked", func(t *testing.T) {
		r, ld := lockRig(t, false)
		alice := r.dir.users["alice"]
		alice.Locked = false
		r.dir.users["alice"] = alice
		s := r.verified()
		if s.Unlockable() {
			t.Fatal("unlockable without a lockout")
		}
		mustReason(t, s.Unlock(bg), flow.ReasonOutOfOrder)
		if len(ld.Unlocks()) != 0 {
			t.Fatal("unlocked anyway")
		}
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	})
	t.Run("not offered by a directory that cannot unlock", func(t *testing.T) {
		r, _ := lockRig(t, true)
		s := r.verified()
		if s.Unlockable() {
			t.Fatal("unlockable on a directory without Unlock")
		}
		mustReason(t, s.Unlock(bg), flow.ReasonOutOfOrder)
	})
	t.Run("not offered when configured off", func(t *testing.T) {
		r, ld := lockRig(t, false, func(c *flow.Config) { c.UnlockDisabled = true })
		s := r.verified()
		if s.Unlockable() {
			t.Fatal("unlockable with UnlockDisabled")
		}
		mustReason(t, s.Unlock(bg), flow.ReasonOutOfOrder)
		if len(ld.Unlocks()) != 0 {
			t.Fatal("unlocked anyway")
		}
	})
	t.Run("a failed unlock changes nothing and can be retried", func(t *testing.T) {
		r, ld := lockRig(t, false)
		s := r.verified()
		ld.err = errors.New("ldap: connection refused")
		fe := mustReason(t, s.Unlock(bg), flow.ReasonUnavailable)
		if strings.Contains(fe.Message, "ldap") {
			t.Fatalf("message %q", fe.Message)
		}
		mustStep(t, s, flow.StepSetPassword)
		ld.err = nil
		mustOK(t, s.Unlock(bg))
	})
}

func TestDirectoryRefusal(t *testing.T) {
	r := newRig(t)
	s := r.verified()
	r.dir.setErr = flow.DirectoryRefusal(flow.DirRuleHistory, "Password is in history of old passwords; tried "+goodPass)
	fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonDirectoryRefused)
	if fe.Rule != flow.DirRuleHistory || !strings.Contains(fe.Message, "used recently") {
		t.Fatalf("error %+v", fe)
	}
	if fe.Detail != "" || fe.Final {
		t.Fatalf("the detail reached the person or the session ended: %+v", fe)
	}
	mustStep(t, s, flow.StepSetPassword)
	log := r.audit.String()
	if !strings.Contains(log, "Password is in history of old passwords") {
		t.Fatalf("the directory's words are not in the audit log:\n%s", log)
	}
	if strings.Contains(log, goodPass) {
		t.Fatal("the password reached the audit log")
	}
	if got := flow.DirectoryRefusal("nonsense", "x"); got.Rule != flow.DirRuleOther || got.Message == "" {
		t.Fatalf("unknown rule: %+v", got)
	}
	r.dir.setErr = nil
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
}
