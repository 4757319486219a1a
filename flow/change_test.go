package flow_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
)

// changeSession begins a change of password on r's engine.
func (r *rig) changeSession() *flow.Session {
	r.t.Helper()
	s, err := r.eng.BeginTask(bg, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"}, flow.TaskChange)
	mustOK(r.t, err)
	return s
}

// A change signs in with the current password, shows the rule that the
// new one differs from it, writes the new one through the directory,
// and tells the person at every address, in words for a change.
func TestChangePassword(t *testing.T) {
	r, d := embeddedRig(t)
	s := r.changeSession()
	if s.Task() != flow.TaskChange {
		t.Fatalf("task %q", s.Task())
	}
	mustReason(t, s.SignIn(bg, "alice", "", ""), flow.ReasonInvalidInput)
	mustOK(t, s.SignIn(bg, "alice", oldPass, ""))
	mustStep(t, s, flow.StepSetPassword)
	if st := s.State(); st.Task != flow.TaskChange || st.Expired {
		t.Fatalf("state %+v", st)
	}
	rules := s.Check(goodPass, goodPass)
	i := slices.IndexFunc(rules, func(r flow.Rule) bool { return r.ID == flow.RuleNotCurrent })
	if i < 0 || !rules[i].Met || rules[i].Text != "Differs from your current password" || rules[len(rules)-1].ID != flow.RuleConfirm {
		t.Fatalf("rules %+v", rules)
	}
	if got := unmetIDs(s.Check(oldPass, oldPass)); len(got) != 1 || got[0] != flow.RuleNotCurrent {
		t.Fatalf("hints for the current password: %v", got)
	}
	fe := mustReason(t, s.SetPassword(bg, oldPass, oldPass), flow.ReasonPolicy)
	if len(fe.Rules) != 1 || fe.Rules[0].ID != flow.RuleNotCurrent {
		t.Fatalf("refusal %+v", fe.Rules)
	}
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	mustStep(t, s, flow.StepDone)
	if ok, _ := d.VerifyPassword("alice", goodPass); !ok {
		t.Fatal("the new password was not written")
	}
	if ok, _ := d.VerifyPassword("alice", oldPass); ok {
		t.Fatal("the old password still works")
	}
	for _, snd := range []*recSender{r.email, r.sms} {
		n := snd.Last(t)
		if n.Kind != flow.KindNotice || !strings.HasPrefix(n.Text, "Your password was changed ") || strings.Contains(n.Text, "reset") {
			t.Fatalf("notice %+v", n)
		}
	}
	if r.email.Last(t).Subject != "Your password was changed" {
		t.Fatalf("subject %q", r.email.Last(t).Subject)
	}
	audit := r.audit.String()
	if strings.Contains(audit, oldPass) || strings.Contains(audit, goodPass) ||
		!strings.Contains(audit, `"msg":"sign_in"`) || !strings.Contains(audit, `"step":"set_password","result":"ok"`) {
		t.Fatalf("audit %s", audit)
	}
}

// A reset session has no sign-in, and a change has no identify.
func TestChangeStepsApart(t *testing.T) {
	r, _ := embeddedRig(t)
	mustReason(t, r.begin().SignIn(bg, "alice", oldPass, ""), flow.ReasonOutOfOrder)
	s := r.changeSession()
	mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonOutOfOrder)
	mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
	// Neither a change nor the security info identifies without the
	// current password.
	mustReason(t, s.Identify(bg, "alice", ""), flow.ReasonOutOfOrder)
	i, err := r.eng.BeginTask(bg, flow.Origin{Channel: flow.Local}, flow.TaskInfo)
	mustOK(t, err)
	mustReason(t, i.Identify(bg, "alice", ""), flow.ReasonOutOfOrder)
	mustReason(t, i.Choose(bg, flow.EmailAltern), flow.ReasonOutOfOrder)
	// A directory that cannot change a password does not offer the task.
	if newRig(t).eng.Offers(flow.TaskChange) || !r.eng.Offers(flow.TaskChange) || !r.eng.Offers(flow.TaskInfo) || newRig(t).eng.Offers(flow.TaskInfo) {
		t.Fatal("Offers")
	}
	_, err = newRig(t).eng.BeginTask(bg, flow.Origin{Channel: flow.Local}, flow.TaskChange)
	if fe := mustReason(t, err, flow.ReasonUnavailable); !fe.Final {
		t.Fatal("not final")
	}
}

// A wrong current password reads the same for a real login and for one
// that does not exist, and both count towards the same suspension: after
// Limits.Failures wrong passwords the account is suspended, for a change
// and for a reset alike, even with the right password.
func TestChangeWrongPasswordSuspends(t *testing.T) {
	r, _ := embeddedRig(t)
	var msgs []string
	for _, login := range []string{"alice", "nobody"} {
		for i := 1; i <= 5; i++ {
			s := r.changeSession()
			err := s.SignIn(bg, login, "Not-The-Password-1", "")
			if i < 5 {
				fe := mustReason(t, err, flow.ReasonPasswordWrong)
				mustStep(t, s, flow.StepIdentify)
				msgs = append(msgs, fe.Message)
				continue
			}
			if fe := mustReason(t, err, flow.ReasonSuspended); !fe.Final {
				t.Fatalf("%s: the suspension does not end the session", login)
			}
		}
	}
	for _, m := range msgs {
		if m != "The username or password is incorrect. Please try again." {
			t.Fatalf("message %q", m)
		}
	}
	mustReason(t, r.changeSession().SignIn(bg, "alice", oldPass, ""), flow.ReasonSuspended)
	mustReason(t, r.changeSession().SignIn(bg, "nobody", oldPass, ""), flow.ReasonSuspended)
	mustReason(t, r.begin().Identify(bg, "alice", ""), flow.ReasonSuspended)
	// A suspension from failed verifications of a reset holds for a
	// change too.
	r2, _ := embeddedRig(t)
	r2.clock.Advance(61 * time.Second)
	for i := 0; i < 5; i++ {
		s, _ := r2.atCode("alice", flow.EmailAltern)
		for s.State().Step == flow.StepEnterCode {
			_ = s.SubmitCode(bg, "000000")
		}
		r2.clock.Advance(61 * time.Second)
		if s.State().Step == flow.StepClosed {
			break
		}
	}
	mustReason(t, r2.changeSession().SignIn(bg, "alice", oldPass, ""), flow.ReasonSuspended)
}

// A right password clears the account's count of wrong ones.
func TestChangeRightPasswordClears(t *testing.T) {
	r, _ := embeddedRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.changeSession().SignIn(bg, "alice", "Not-The-Password-1", ""), flow.ReasonPasswordWrong)
	}
	s := r.changeSession()
	mustOK(t, s.SignIn(bg, "alice", oldPass, ""))
	s.Cancel()
	for i := 0; i < 4; i++ {
		mustReason(t, r.changeSession().SignIn(bg, "alice", "Not-The-Password-1", ""), flow.ReasonPasswordWrong)
	}
}

// In one session, wrong passwords end it after MaxFailures even when the
// account limits allow more (the login changes each time).
func TestChangeSessionFailures(t *testing.T) {
	r, _ := embeddedRig(t, func(c *flow.Config) { c.MaxFailures = 3 })
	s := r.changeSession()
	mustReason(t, s.SignIn(bg, "zed1", "x", ""), flow.ReasonPasswordWrong)
	mustReason(t, s.SignIn(bg, "zed2", "x", ""), flow.ReasonPasswordWrong)
	if fe := mustReason(t, s.SignIn(bg, "zed3", "x", ""), flow.ReasonTooManyAttempts); !fe.Final {
		t.Fatal("not final")
	}
}

// The sign-in asks for the identify floor, for a real login and an
// unknown one.
func TestSignInFloor(t *testing.T) {
	r, _ := embeddedRig(t, func(c *flow.Config) { c.Limits.IdentifyFloor = time.Second })
	for _, login := range []string{"alice", "nobody"} {
		s := r.changeSession()
		r.clock.Slept()
		mustReason(t, s.SignIn(bg, login, "Not-The-Password-1", ""), flow.ReasonPasswordWrong)
		if got := r.clock.Slept(); len(got) != 1 || got[0] < 900*time.Millisecond || got[0] > 1250*time.Millisecond {
			t.Fatalf("%s: sign-in waited %v", login, got)
		}
	}
}

// An expired password leads on to the new password, and the screen can
// say why; the directory's refusals of a change are worded in the
// session's language.
func TestChangeExpiredAndRefusals(t *testing.T) {
	r := newRig(t)
	cd := &changeDir{fakeDir: r.dir, check: flow.ErrPasswordExpired,
		change: flow.DirectoryRefusal(flow.DirRuleTooSoon, "pwdMinAge")}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: cd, Store: r.store, Email: r.email, Clock: r.clock})
	mustOK(t, err)
	s, err := eng.BeginTask(bg, flow.Origin{Channel: flow.Local, Remote: "tty1", Lang: "de"}, flow.TaskChange)
	mustOK(t, err)
	mustOK(t, s.SignIn(bg, "alice", oldPass, ""))
	if !s.State().Expired {
		t.Fatal("not marked expired")
	}
	fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonDirectoryRefused)
	if !strings.Contains(fe.Message, "vor zu kurzer Zeit") || fe.Final || fe.Detail != "" {
		t.Fatalf("refusal %+v", fe)
	}
	mustStep(t, s, flow.StepSetPassword)
	cd.change = flow.ErrWrongPassword
	if fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonPasswordWrong); !fe.Final {
		t.Fatal("a stale password does not end the session")
	}
	if cd.old != oldPass || cd.new != goodPass {
		t.Fatalf("change asked with %q, %q", cd.old, cd.new)
	}
}

// changeDir is a fakeDir that is a PasswordChanger with set answers.
type changeDir struct {
	*fakeDir
	check, change error
	old, new      string
}

func (d *changeDir) CheckPassword(_ context.Context, u flow.User, pw string) error {
	if pw != oldPass {
		return flow.ErrWrongPassword
	}
	return d.check
}

func (d *changeDir) ChangePassword(_ context.Context, u flow.User, old, new string) error {
	d.old, d.new = old, new
	return d.change
}

// TestSignInTimingSame measures a wrong password for a real login (an
// argon2id hash is checked) and for an unknown one (nothing is), as
// TestIdentifyTimingSame does for the identify step. The hash is cheap
// here, well under the floor, as a deployment's floor must be above its
// directory's check: the test is of the floor, not of the hash.
func TestSignInTimingSame(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	d, err := embedded.Create(filepath.Join(t.TempDir(), "users.yaml"),
		embedded.WithParams(embedded.Params{Memory: 256, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	mustOK(t, err)
	mustOK(t, d.AddUser(embedded.UserRecord{Login: "alice", Email: aliceEmail}, oldPass))
	cfg := baseConfig()
	cfg.Limits.IdentifyFloor = 30 * time.Millisecond
	cfg.Limits.IdentifyJitter = 4 * time.Millisecond
	cfg.Limits.Failures = 1_000_000
	cfg.Limits.ConsecutiveFailures = 1_000_000
	eng, err := flow.NewEngine(cfg, flow.Deps{Directory: d, Store: memstore.New()})
	mustOK(t, err)
	const n = 100
	for round := 1; round <= 3; round++ {
		var known, unknown []float64
		for i := 0; i < n; i++ {
			order := []string{"alice", "zed"}
			if cryptoInt(2) == 0 {
				order[0], order[1] = order[1], order[0]
			}
			for _, login := range order {
				s, err := eng.BeginTask(bg, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:1"}, flow.TaskChange)
				mustOK(t, err)
				start := time.Now()
				mustReason(t, s.SignIn(bg, login, "Not-The-Password-1", ""), flow.ReasonPasswordWrong)
				ms := float64(time.Since(start)) / float64(time.Millisecond)
				if login == "alice" {
					known = append(known, ms)
				} else {
					unknown = append(unknown, ms)
				}
			}
		}
		p := mannWhitney(known, unknown)
		t.Logf("round %d: known median %.2f ms, unknown median %.2f ms, Mann-Whitney p = %.3f", round, median(known), median(unknown), p)
		if p >= 0.01 {
			return
		}
	}
	t.Fatal("a wrong password takes a different time for known and unknown logins")
}

// A privileged account excluded from self-service cannot change its
// password here either: its right password reads as a wrong one. In the
// other mode it may, and the administrators are told of the change.
func TestChangePrivileged(t *testing.T) {
	r, d := embeddedRig(t, privileged(flow.PrivilegedExcluded, []string{"alice"}, nil))
	s := r.changeSession()
	mustReason(t, s.SignIn(bg, "alice", oldPass, ""), flow.ReasonPasswordWrong)
	if !strings.Contains(r.audit.String(), "privileged_excluded") {
		t.Fatalf("audit %s", r.audit.String())
	}
	r, d = embeddedRig(t, privileged(flow.PrivilegedTwoMethods, []string{"alice"}, nil), func(c *flow.Config) {
		c.Notices.Admins = []string{"admins@example.com"}
	})
	s = r.changeSession()
	mustOK(t, s.SignIn(bg, "alice", oldPass, ""))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if ok, _ := d.VerifyPassword("alice", goodPass); !ok {
		t.Fatal("not changed")
	}
	var admin *flow.Delivery
	for _, n := range r.email.All() {
		if n.To == "admins@example.com" {
			admin = &n
		}
	}
	if admin == nil || admin.Subject != "A privileged account's password was changed" || !strings.Contains(admin.Text, `"alice" was changed`) {
		t.Fatalf("admin notice %+v", admin)
	}
}
