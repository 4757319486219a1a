package flow_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/totp"
)

// oldPass is alice's password before the reset.
const oldPass = "Old-Horse-Battery-7"

// embeddedRig is a rig whose directory is a real embedded users file,
// alice's password in it hashed with argon2id (cheap parameters).
func embeddedRig(t *testing.T, mutate ...func(*flow.Config)) (*rig, *embedded.Dir) {
	t.Helper()
	r := newRig(t)
	d, err := embedded.Create(filepath.Join(t.TempDir(), "users.yaml"),
		embedded.WithParams(embedded.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	mustOK(t, err)
	mustOK(t, d.AddUser(embedded.UserRecord{Login: "alice", DisplayName: "Alice", Email: aliceEmail,
		Mobile: aliceMobile, Office: aliceOffice, TOTPSecret: aliceSecret}, oldPass))
	cfg := baseConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	r.eng, err = flow.NewEngine(cfg, flow.Deps{
		Directory: d, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(r.audit), Clock: r.clock,
	})
	mustOK(t, err)
	return r, d
}

// A reset to the password the account has now is refused with the other
// rules, named in the person's language; the stored hash stays; another
// password goes through.
func TestResetToCurrentPasswordRefused(t *testing.T) {
	r, d := embeddedRig(t)
	s := r.verified()
	fe := mustReason(t, s.SetPassword(bg, oldPass, oldPass), flow.ReasonPolicy)
	if len(fe.Rules) != 1 || fe.Rules[0].ID != flow.RuleNotCurrent || fe.Rules[0].Text != "Different from your current password" {
		t.Fatalf("refusal %+v", fe.Rules)
	}
	mustStep(t, s, flow.StepSetPassword)
	if ok, err := d.VerifyPassword("alice", oldPass); !ok || err != nil {
		t.Fatalf("the old password no longer works: %v, %v", ok, err)
	}
	// The hints show it from now on, for this password only.
	if got := unmetIDs(s.Check(oldPass, oldPass)); len(got) != 1 || got[0] != flow.RuleNotCurrent {
		t.Fatalf("hints for the current password: %v", got)
	}
	if got := unmetIDs(s.Check(goodPass, goodPass)); got != nil {
		t.Fatalf("hints for a new password: %v", got)
	}
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if ok, _ := d.VerifyPassword("alice", goodPass); !ok {
		t.Fatal("the new password was not written")
	}
	audit := r.audit.String()
	if !strings.Contains(audit, `"rules":["not_current"]`) || strings.Contains(audit, oldPass) || strings.Contains(audit, goodPass) {
		t.Fatalf("audit %s", audit)
	}
}

// The rule is worded in the session's language.
func TestNotCurrentInSessionLanguage(t *testing.T) {
	for lang, want := range map[string]string{"de": "Anders als Ihr aktuelles Kennwort", "fr": "Différent de votre mot de passe actuel"} {
		r, _ := embeddedRig(t)
		r.clock.Advance(61e9)
		s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", Lang: lang})
		mustOK(t, s.Identify(bg, "alice", ""))
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, anyCode.FindString(r.email.Last(t).Text)))
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		fe := mustReason(t, s.SetPassword(bg, oldPass, oldPass), flow.ReasonPolicy)
		if len(fe.Rules) != 1 || fe.Rules[0].Text != want {
			t.Errorf("%s: %+v", lang, fe.Rules)
		}
	}
}

var anyCode = regexp.MustCompile(`\d{6,}`)

// checkerDir is the fake directory with a current password it can tell.
type checkerDir struct {
	*fakeDir
	mu      sync.Mutex
	current string
	err     error
	asked   int
}

func (d *checkerDir) IsCurrentPassword(_ context.Context, u flow.User, pw string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked++
	return pw == d.current, d.err
}

func (d *checkerDir) Asked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked
}

func checkerRig(t *testing.T) (*rig, *checkerDir) {
	t.Helper()
	r := newRig(t)
	cd := &checkerDir{fakeDir: r.dir, current: oldPass}
	var err error
	r.eng, err = flow.NewEngine(baseConfig(), flow.Deps{
		Directory: cd, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(r.audit), Clock: r.clock,
	})
	mustOK(t, err)
	return r, cd
}

// The directory is asked only on the password step, once per candidate,
// only when every other rule holds, and never by the key-press check.
func TestCurrentPasswordAskedSparingly(t *testing.T) {
	r, cd := checkerRig(t)
	// Before the person has proved who they are, nothing is asked: the
	// answer would tell a stranger alice's password.
	s0 := r.identified("alice")
	s0.CheckFull(bg, oldPass, "")
	if cd.Asked() != 0 {
		t.Fatal("asked before the verification")
	}
	s := r.verified()
	s.Check(oldPass, "")
	s.CheckFull(bg, "short", "")
	if cd.Asked() != 0 {
		t.Fatalf("asked %d times for a key press or a password the rules refuse anyway", cd.Asked())
	}
	// Leaving the first field asks; the hints then show it.
	if got := unmetIDs(s.CheckFull(bg, oldPass, "")); len(got) != 2 || got[0] != flow.RuleNotCurrent {
		t.Fatalf("after leaving the field: %v", got)
	}
	s.CheckFull(bg, oldPass, "")
	s.Check(oldPass, oldPass)
	mustReason(t, s.SetPassword(bg, oldPass, oldPass), flow.ReasonPolicy)
	if cd.Asked() != 1 {
		t.Fatalf("asked %d times for one candidate", cd.Asked())
	}
	if r.dir.Sets() != nil {
		t.Fatal("written")
	}
}

// A directory that cannot tell lets the write decide, and the audit says
// why it was not asked.
func TestCurrentPasswordCheckFailureLetsTheWriteDecide(t *testing.T) {
	r, cd := checkerRig(t)
	cd.err = errors.New("users file: unreadable hash")
	s := r.verified()
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if len(r.dir.Sets()) != 1 {
		t.Fatal("not written")
	}
	if audit := r.audit.String(); !strings.Contains(audit, "current-password check failed") || strings.Contains(audit, goodPass) {
		t.Fatalf("audit %s", audit)
	}
}

// CheckFull asks the directory only as long as its context lasts (a slow
// hash may wait its turn): once the context has ended it gets no answer,
// logs no failure, and the next check asks again.
func TestCheckFullHonoursContext(t *testing.T) {
	r, _ := embeddedRig(t)
	s := r.verified()
	ended, cancel := context.WithCancel(bg)
	cancel()
	if got := unmetIDs(s.CheckFull(ended, oldPass, "")); len(got) != 1 || got[0] != flow.RuleConfirm {
		t.Fatalf("with an ended context: %v; want only the confirmation unmet", got)
	}
	if strings.Contains(r.audit.String(), "current-password check failed") {
		t.Fatalf("a check left with its session was logged as a failure:\n%s", r.audit)
	}
	if got := unmetIDs(s.CheckFull(bg, oldPass, "")); len(got) != 2 || got[0] != flow.RuleNotCurrent {
		t.Fatalf("asked again: %v", got)
	}
}
