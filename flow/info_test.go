package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

const (
	bobMobile = "+15550100013"
	newMobile = "+15550100088"
)

// infoRig is a rig on a real embedded users file: alice has every method
// (an app among them), bob a mobile only, frank nothing, carol is
// disabled; all have oldPass.
func infoRig(t *testing.T, mutate ...func(*flow.Config)) (*rig, *embedded.Dir) {
	t.Helper()
	r := newRig(t)
	d, err := embedded.Create(filepath.Join(t.TempDir(), "users.yaml"),
		embedded.WithParams(embedded.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	mustOK(t, err)
	for _, u := range []embedded.UserRecord{
		{Login: "alice", Email: aliceEmail, Mobile: aliceMobile, Office: aliceOffice, TOTPSecret: aliceSecret},
		{Login: "bob", Mobile: bobMobile},
		{Login: "frank"},
		{Login: "carol", Mobile: "+15550100099", Disabled: true},
	} {
		mustOK(t, d.AddUser(u, oldPass))
	}
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

func (r *rig) beginInfo() *flow.Session {
	r.t.Helper()
	s, err := r.eng.BeginTask(context.Background(), flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"}, flow.TaskInfo)
	mustOK(r.t, err)
	return s
}

func (r *rig) signedIn(login string) *flow.Session {
	r.t.Helper()
	s := r.beginInfo()
	mustOK(r.t, s.SignIn(bg, login, oldPass, flow.CaptchaAnswer(s)))
	return s
}

// managing returns bob's session on StepManage, proved by a texted code.
func (r *rig) managing() *flow.Session {
	r.t.Helper()
	s := r.signedIn("bob")
	mustStep(r.t, s, flow.StepChooseMethod)
	mustOK(r.t, s.Choose(bg, flow.TextMobile))
	mustOK(r.t, s.ConfirmNumber(bg, bobMobile))
	mustOK(r.t, s.SubmitCode(bg, codeIn(r.t, r.sms.Last(r.t))))
	mustStep(r.t, s, flow.StepManage)
	r.clock.Advance(61 * time.Second) // past the gap between two sends
	return s
}

func lookup(t *testing.T, d *embedded.Dir, login string) flow.User {
	t.Helper()
	u, err := d.LookupUser(bg, login)
	mustOK(t, err)
	return u
}

func contactsOf(u flow.User) [4]string { return [4]string{u.Mobile, u.Office, u.Email, u.TOTPSecret} }

// A wrong password, an unknown login and a disabled one read the same and
// count toward the same suspension as a wrong code; the right password
// of a suspended account does not sign in.
func TestInfoSignInRefusals(t *testing.T) {
	r, _ := infoRig(t)
	var msgs []string
	for _, c := range []struct{ login, pw string }{{"alice", "wrong-Password-1"}, {"nobody", oldPass}, {"carol", oldPass}} {
		s := r.beginInfo()
		fe := mustReason(t, s.SignIn(bg, c.login, c.pw, flow.CaptchaAnswer(s)), flow.ReasonPasswordWrong)
		msgs = append(msgs, fe.Message)
		mustStep(t, s, flow.StepIdentify)
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("the refusals read differently: %q", msgs)
	}
	if strings.Contains(r.audit.String(), oldPass) || strings.Contains(r.audit.String(), "wrong-Password-1") {
		t.Error("a password reached the audit")
	}
	if rec := auditRecord(t, r, "sign_in", "refused"); rec["reason"] != "password_wrong" || rec["detail"] != "disabled" || rec["login"] != "carol" {
		t.Errorf("audit of a wrong sign-in: %v", rec)
	}
	s := r.beginInfo()
	mustReason(t, s.SignIn(bg, "alice", "", flow.CaptchaAnswer(s)), flow.ReasonInvalidInput)

	// Limits.Failures (5) wrong passwords in all suspend alice.
	for i := 1; i < 5; i++ {
		s := r.beginInfo()
		err := s.SignIn(bg, "alice", "wrong-Password-1", flow.CaptchaAnswer(s))
		if i < 4 {
			mustReason(t, err, flow.ReasonPasswordWrong)
		} else {
			mustReason(t, err, flow.ReasonSuspended)
		}
	}
	s = r.beginInfo()
	mustReason(t, s.SignIn(bg, "alice", oldPass, flow.CaptchaAnswer(s)), flow.ReasonSuspended)
	// An unknown login is suspended the same way.
	for i := 1; i < 5; i++ {
		s := r.beginInfo()
		_ = s.SignIn(bg, "nobody", oldPass, flow.CaptchaAnswer(s))
	}
	s = r.beginInfo()
	mustReason(t, s.SignIn(bg, "nobody", oldPass, flow.CaptchaAnswer(s)), flow.ReasonSuspended)
}

// The sign-in takes Limits.IdentifyFloor whether the login exists or not.
func TestInfoSignInTakesTheFloor(t *testing.T) {
	r, _ := infoRig(t)
	r.clock.Slept()
	for _, login := range []string{"alice", "nobody"} {
		s := r.beginInfo()
		_ = s.SignIn(bg, login, "wrong-Password-1", flow.CaptchaAnswer(s))
		if got := r.clock.Slept(); len(got) != 1 || got[0] < time.Second {
			t.Errorf("%s: slept %v, want one wait of at least the floor", login, got)
		}
	}
}

// A password alone never adds, changes or removes a method of an account
// that has one: each change is tried right after the sign-in, and again
// after a proof that failed, and the directory is untouched.
func TestInfoPasswordAloneNeverChangesMethods(t *testing.T) {
	r, d := infoRig(t)
	before := map[string][4]string{"alice": contactsOf(lookup(t, d, "alice")), "bob": contactsOf(lookup(t, d, "bob"))}
	tries := map[string]func(*flow.Session) error{
		"add mobile":    func(s *flow.Session) error { return s.AddContact(bg, flow.RegMobile, newMobile, flow.TextMobile) },
		"add by call":   func(s *flow.Session) error { return s.AddContact(bg, flow.RegMobile, newMobile, flow.CallMobile) },
		"change email":  func(s *flow.Session) error { return s.AddContact(bg, flow.RegEmail, "x@example.org", flow.EmailAltern) },
		"add app":       func(s *flow.Session) error { _, err := s.AddApp(bg); return err },
		"remove mobile": func(s *flow.Session) error { return s.RemoveContact(bg, flow.RegMobile) },
		"remove email":  func(s *flow.Session) error { return s.RemoveContact(bg, flow.RegEmail) },
		"remove app":    func(s *flow.Session) error { return s.RemoveContact(bg, flow.RegApp) },
		"set password":  func(s *flow.Session) error { return s.SetPassword(bg, goodPass, goodPass) },
	}
	for _, login := range []string{"alice", "bob"} {
		for name, try := range tries {
			s := r.signedIn(login)
			mustStep(t, s, flow.StepChooseMethod)
			mustReason(t, try(s), flow.ReasonOutOfOrder)
			if s.Contacts() != nil {
				t.Errorf("%s %s: the contacts are listed before a proof", login, name)
			}
			// A wrong code is no proof either.
			if login == "bob" {
				mustOK(t, s.Choose(bg, flow.TextMobile))
				mustOK(t, s.ConfirmNumber(bg, bobMobile))
				_ = s.SubmitCode(bg, otherCode(codeIn(t, r.sms.Last(t))))
				mustReason(t, try(s), flow.ReasonOutOfOrder)
				r.clock.Advance(time.Hour + time.Minute) // past the failure window and the send budget
			}
			if got := contactsOf(lookup(t, d, login)); got != before[login] {
				t.Fatalf("%s %s changed the directory: %q", login, name, got)
			}
		}
	}
	if n := strings.Count(r.audit.String(), `"set_methods"`); n != 0 {
		t.Errorf("%d set_methods records", n)
	}
	// A reset session cannot reach the security info, nor an info
	// session the reset.
	rs := r.identified("bob")
	mustReason(t, rs.AddContact(bg, flow.RegMobile, newMobile, flow.TextMobile), flow.ReasonOutOfOrder)
	is := r.beginInfo()
	mustReason(t, is.Identify(bg, "bob", ""), flow.ReasonOutOfOrder)
}

// An account with the app proves the app, not a phone.
func TestInfoAppAccountProvesTheApp(t *testing.T) {
	r, _ := infoRig(t)
	s := r.signedIn("alice")
	if ids := methodIDs(s.Methods()); len(ids) != 2 || !hasMethod(s.Methods(), flow.TOTPApp) {
		t.Fatalf("alice is offered %v, want the app only", ids)
	}
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustStep(t, s, flow.StepManage)
}

// bob proves his phone, then changes it: the code goes to the new number,
// a wrong one saves nothing, the right one saves it; the old and the new
// number are told, the audit has it, and the next reset reaches the new
// number.
func TestInfoChangeMobile(t *testing.T) {
	r, d := infoRig(t)
	s := r.managing()
	cs := s.Contacts()
	if len(cs) != 3 || cs[0].Kind != flow.RegMobile || cs[0].Hint != flow.MaskPhone(bobMobile) || !cs[0].Set || !cs[0].Editable {
		t.Fatalf("contacts: %+v", cs)
	}
	for _, c := range cs {
		if c.Kind == flow.RegOffice {
			t.Errorf("the office phone is offered though the policy keeps it: %+v", c)
		}
	}
	mustReason(t, s.AddContact(bg, flow.RegMobile, "12", flow.TextMobile), flow.ReasonInvalidInput)
	mustReason(t, s.AddContact(bg, flow.RegMobile, bobMobile, flow.TextMobile), flow.ReasonInvalidInput)
	mustReason(t, s.AddContact(bg, flow.RegOffice, newMobile, flow.CallOffice), flow.ReasonNotAllowed)
	mustOK(t, s.AddContact(bg, flow.RegMobile, "+1 555 010 0088", flow.TextMobile))
	mustStep(t, s, flow.StepEnterCode)
	last := r.sms.Last(t)
	if last.To != newMobile || last.Kind != flow.KindVerification {
		t.Fatalf("the code went to %q (%q)", last.To, last.Kind)
	}
	if st := s.State(); st.Method.Hint != flow.MaskPhone(newMobile) {
		t.Errorf("the code screen shows %q", st.Method.Hint)
	}
	code := codeIn(t, last)
	mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
	if lookup(t, d, "bob").Mobile != bobMobile {
		t.Fatal("a wrong code saved the number")
	}
	r.sms.Reset()
	mustOK(t, s.SubmitCode(bg, code))
	mustStep(t, s, flow.StepManage)
	if got := lookup(t, d, "bob").Mobile; got != newMobile {
		t.Fatalf("bob's mobile is %q", got)
	}
	to := map[string]string{}
	for _, n := range r.sms.All() {
		if n.Kind != flow.KindNotice {
			t.Errorf("not a notice: %+v", n)
		}
		to[n.To] = n.Text
	}
	if len(to) != 2 || to[bobMobile] == "" || to[newMobile] == "" {
		t.Fatalf("notices went to %v", to)
	}
	if !strings.Contains(to[bobMobile], "The security info of your account was changed") ||
		!strings.Contains(to[bobMobile], "mobile phone changed") || strings.Contains(to[bobMobile], code) {
		t.Errorf("notice: %q", to[bobMobile])
	}
	rec := auditRecord(t, r, "set_methods", "ok")
	if rec["contact"] != "mobile" || rec["change"] != "changed" || rec["proved_by"] != "sms" || rec["login"] != "bob" {
		t.Errorf("audit: %v", rec)
	}
	if strings.Contains(r.audit.String(), code) {
		t.Error("a code reached the audit")
	}

	// The next reset texts the new number.
	r.clock.Advance(61 * time.Second)
	rs := r.identified("bob")
	mustOK(t, rs.Choose(bg, flow.TextMobile))
	mustReason(t, rs.ConfirmNumber(bg, bobMobile), flow.ReasonNumberMismatch)
	mustOK(t, rs.ConfirmNumber(bg, newMobile))
	if r.sms.Last(t).To != newMobile {
		t.Error("the reset texted the old number")
	}
}

// Too many wrong codes for a new destination end it with nothing saved,
// back on the list; the account's methods are not closed by it.
func TestInfoNewDestinationFails(t *testing.T) {
	r, d := infoRig(t)
	s := r.managing()
	mustOK(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
	code := codeIn(t, r.email.Last(t))
	var err error
	for i := 0; i < 5; i++ {
		err = s.SubmitCode(bg, otherCode(code))
	}
	mustReason(t, err, flow.ReasonSuspended) // 5 failures of one account in the hour
	if lookup(t, d, "bob").Email != "" {
		t.Fatal("a failed proof saved the address")
	}
	mustStep(t, s, flow.StepClosed)

	r2, d2 := infoRig(t, func(c *flow.Config) { c.CodeMaxAttempts = 2 })
	s = r2.managing()
	mustOK(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
	code = codeIn(t, r2.email.Last(t))
	mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
	mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonTooManyAttempts)
	mustStep(t, s, flow.StepManage)
	mustReason(t, s.SubmitCode(bg, code), flow.ReasonOutOfOrder)
	if lookup(t, d2, "bob").Email != "" {
		t.Fatal("the address was saved")
	}
	// Back leaves a new destination too.
	r2.clock.Advance(61 * time.Second)
	mustOK(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
	mustOK(t, s.Back())
	mustStep(t, s, flow.StepManage)
}

// An account with no method registers its first with the password alone
// when the policy says so: here an alternate email, proved by the code
// mailed to it; the next reset offers it.
func TestInfoFirstMethodByPassword(t *testing.T) {
	r, d := infoRig(t)
	s := r.signedIn("frank")
	mustStep(t, s, flow.StepManage)
	for _, c := range s.Contacts() {
		if c.Set {
			t.Errorf("frank has %+v", c)
		}
	}
	mustReason(t, s.AddContact(bg, flow.RegEmail, "frank@", flow.EmailAltern), flow.ReasonInvalidInput)
	mustOK(t, s.AddContact(bg, flow.RegEmail, "Frank@Example.org", flow.EmailAltern))
	d1 := r.email.Last(t)
	if d1.To != "Frank@Example.org" {
		t.Fatalf("the code went to %q", d1.To)
	}
	mustOK(t, s.SubmitCode(bg, codeIn(t, d1)))
	if got := lookup(t, d, "frank").Email; got != "Frank@Example.org" {
		t.Fatalf("frank's email is %q", got)
	}
	if n := r.email.Last(t); n.Kind != flow.KindNotice || n.To != "Frank@Example.org" || !strings.Contains(n.Text, "alternate email added") {
		t.Errorf("notice: %+v", n)
	}
	rs := r.identified("frank")
	if !hasMethod(rs.Methods(), flow.EmailAltern) {
		t.Errorf("the reset offers %v", methodIDs(rs.Methods()))
	}
	// Removing the last method is refused.
	mustReason(t, s.RemoveContact(bg, flow.RegEmail), flow.ReasonNotAllowed)
	if lookup(t, d, "frank").Email == "" {
		t.Fatal("the last method was removed")
	}

	for _, first := range []flow.FirstMethod{flow.FirstByHelpdesk, flow.FirstForbidden} {
		r, d := infoRig(t, func(c *flow.Config) { c.Registration.FirstMethod = first })
		s := r.beginInfo()
		fe := mustReason(t, s.SignIn(bg, "frank", oldPass, flow.CaptchaAnswer(s)), flow.ReasonNotAllowed)
		if !fe.Final || !strings.Contains(fe.Message, "helpdesk") {
			t.Errorf("%s: %+v", first, fe)
		}
		if lookup(t, d, "frank").Email != "" {
			t.Fatal("changed")
		}
	}
}

// The authenticator app is saved after a code from it matches, sealed by
// the directory; a wrong code saves nothing.
func TestInfoAddApp(t *testing.T) {
	r, d := infoRig(t)
	s := r.managing()
	secret, err := s.AddApp(bg)
	mustOK(t, err)
	mustStep(t, s, flow.StepEnterCode)
	if strings.Contains(r.audit.String(), secret) {
		t.Error("the secret reached the audit")
	}
	wrong, _ := totp.Code(aliceSecret, r.clock.Now())
	mustReason(t, s.SubmitCode(bg, wrong), flow.ReasonCodeWrong)
	if lookup(t, d, "bob").TOTPSecret != "" {
		t.Fatal("saved on a wrong code")
	}
	code, err := totp.Code(secret, r.clock.Now())
	mustOK(t, err)
	mustOK(t, s.SubmitCode(bg, code))
	mustStep(t, s, flow.StepManage)
	if got := lookup(t, d, "bob").TOTPSecret; got != secret {
		t.Fatal("the app was not saved")
	}
	if !strings.Contains(r.sms.Last(t).Text, "authenticator app added") {
		t.Errorf("notice: %q", r.sms.Last(t).Text)
	}
}

// Removing is refused below the methods the policy requires, and for the
// last method; above them it removes and tells the removed address.
func TestInfoRemove(t *testing.T) {
	r, d := infoRig(t, func(c *flow.Config) { c.MethodsRequired = 2 })
	s := r.signedIn("alice")
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustOK(t, s.RemoveContact(bg, flow.RegEmail))
	if lookup(t, d, "alice").Email != "" {
		t.Fatal("not removed")
	}
	if n := r.email.Last(t); n.To != aliceEmail || !strings.Contains(n.Text, "alternate email removed") {
		t.Errorf("the removed address was not told: %+v", n)
	}
	mustReason(t, s.RemoveContact(bg, flow.RegEmail), flow.ReasonInvalidInput)
	mustOK(t, s.RemoveContact(bg, flow.RegApp))
	// mobile and office are left: two.
	fe := mustReason(t, s.RemoveContact(bg, flow.RegMobile), flow.ReasonNotAllowed)
	if !strings.Contains(fe.Message, "2") {
		t.Errorf("message: %q", fe.Message)
	}
	// The office phone is the directory's own.
	mustReason(t, s.RemoveContact(bg, flow.RegOffice), flow.ReasonNotAllowed)
}

// Changes begun are limited per account and per source; the window of the
// sign-in ends the session.
func TestInfoLimits(t *testing.T) {
	r, _ := infoRig(t, func(c *flow.Config) { c.Registration.ChangesPerAccount = flow.Rate{Count: 2, Per: 24 * time.Hour} })
	s := r.managing()
	for i := 0; i < 2; i++ {
		mustOK(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
		mustOK(t, s.Back())
		r.clock.Advance(61 * time.Second)
	}
	mustReason(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern), flow.ReasonRateLimited)
	if _, err := s.AddApp(bg); flow.ReasonOf(err) != flow.ReasonRateLimited {
		t.Errorf("AddApp: %v", err)
	}

	r, _ = infoRig(t, func(c *flow.Config) { c.Registration.ChangesPerSource = flow.Rate{Count: 1, Per: 24 * time.Hour} })
	mustOK(t, r.managing().AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
	r.clock.Advance(61 * time.Second)
	s = r.signedIn("frank")
	mustReason(t, s.AddContact(bg, flow.RegEmail, "frank@example.org", flow.EmailAltern), flow.ReasonRateLimited)

	// One new number is texted only so often, whichever accounts ask.
	r, _ = infoRig(t, func(c *flow.Config) { c.Limits.SendsPerDestination = []flow.Rate{{Count: 1, Per: time.Hour}} })
	mustOK(t, r.managing().AddContact(bg, flow.RegMobile, newMobile, flow.TextMobile))
	r.clock.Advance(61 * time.Second)
	s = r.signedIn("frank")
	mustReason(t, s.AddContact(bg, flow.RegMobile, newMobile, flow.TextMobile), flow.ReasonRateLimited)

	r, _ = infoRig(t)
	s = r.managing()
	r.clock.Advance(10 * time.Minute)
	fe := mustReason(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern), flow.ReasonSessionExpired)
	if !fe.Final {
		t.Error("an expired sign-in does not end the session")
	}
}

// A directory that cannot store methods offers no info session.
func TestBeginInfoNeedsAMethodWriter(t *testing.T) {
	r := newRig(t)
	_, err := r.eng.BeginTask(bg, flow.Origin{Channel: flow.Local, Remote: "tty1"}, flow.TaskInfo)
	fe := mustReason(t, err, flow.ReasonUnavailable)
	if !fe.Final {
		t.Error("not final")
	}
}

// auditRecord returns the last audit record with msg and result.
func auditRecord(t *testing.T, r *rig, msg, result string) map[string]any {
	t.Helper()
	var out map[string]any
	for _, line := range strings.Split(r.audit.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg && rec["result"] == result {
			out = rec
		}
	}
	if out == nil {
		t.Fatalf("no %s %s record", msg, result)
	}
	return out
}

// policy.registration refuses what it does not know, naming the key.
func TestRegistrationValidate(t *testing.T) {
	if err := flow.DefaultRegistration().Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mutate := range map[string]func(*flow.RegistrationPolicy){
		"first_method": func(r *flow.RegistrationPolicy) { r.FirstMethod = "sms" },
		"methods[1]":   func(r *flow.RegistrationPolicy) { r.Methods = []flow.Registration{flow.RegMobile, "fax"} },
		"methods[2]": func(r *flow.RegistrationPolicy) {
			r.Methods = []flow.Registration{flow.RegMobile, flow.RegApp, flow.RegMobile}
		},
		"changes_per_account": func(r *flow.RegistrationPolicy) { r.ChangesPerAccount = flow.Rate{Count: 0, Per: time.Hour} },
		"changes_per_source":  func(r *flow.RegistrationPolicy) { r.ChangesPerSource = flow.Rate{Count: 5, Per: time.Second} },
	} {
		r := flow.DefaultRegistration()
		mutate(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

// After a reset, a person with fewer methods than min_methods is offered
// to add one, proved by the reset; one with enough, or after the window,
// is not; the offer leads to the security info, under its rules.
func TestInfoOfferAfterReset(t *testing.T) {
	r, d := infoRig(t)
	s := r.identified("bob")
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustOK(t, s.ConfirmNumber(bg, bobMobile))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.sms.Last(t))))
	mustReason(t, s.AddMoreMethods(), flow.ReasonOutOfOrder) // not before the password
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if !s.OffersMoreMethods() {
		t.Fatal("bob, with one method, is not offered another")
	}
	mustOK(t, s.AddMoreMethods())
	mustStep(t, s, flow.StepManage)
	r.clock.Advance(61 * time.Second)
	mustOK(t, s.AddContact(bg, flow.RegEmail, "bob@example.org", flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
	if lookup(t, d, "bob").Email != "bob@example.org" {
		t.Fatal("not saved")
	}
	mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)

	// alice has four: no offer. Past the window: none either.
	r2, _ := infoRig(t, func(c *flow.Config) { c.Password.MinScore = 0 })
	a := r2.identified("alice")
	mustOK(t, a.Choose(bg, flow.TOTPApp))
	mustOK(t, a.SubmitCode(bg, totpCode(t, r2.clock.Now())))
	r2.clock.Advance(61 * time.Second)
	mustOK(t, a.Choose(bg, flow.EmailAltern))
	mustOK(t, a.SubmitCode(bg, codeIn(t, r2.email.Last(t))))
	mustOK(t, a.SetPassword(bg, goodPass, goodPass))
	if a.OffersMoreMethods() {
		t.Error("alice is offered more")
	}
	r3, _ := infoRig(t)
	b := r3.identified("bob")
	mustOK(t, b.Choose(bg, flow.TextMobile))
	mustOK(t, b.ConfirmNumber(bg, bobMobile))
	mustOK(t, b.SubmitCode(bg, codeIn(t, r3.sms.Last(t))))
	mustOK(t, b.SetPassword(bg, goodPass, goodPass))
	r3.clock.Advance(11 * time.Minute)
	if b.OffersMoreMethods() {
		t.Error("offered after the window")
	}
	mustReason(t, b.AddMoreMethods(), flow.ReasonOutOfOrder)
	// A directory that cannot store methods offers nothing.
	r4 := newRig(t)
	f := r4.identified("bob")
	mustOK(t, f.Choose(bg, flow.TextMobile))
	mustOK(t, f.ConfirmNumber(bg, "+1 (555) 010-0013"))
	mustOK(t, f.SubmitCode(bg, codeIn(t, r4.sms.Last(t))))
	mustOK(t, f.SetPassword(bg, goodPass, goodPass))
	if f.OffersMoreMethods() {
		t.Error("offered without a MethodWriter")
	}
}

// After a change, proved by the password alone, an account with a method
// is not offered another (a password alone never changes how it is
// recovered); one with none is, when first_method lets a password register
// it, and not otherwise.
func TestInfoOfferAfterChange(t *testing.T) {
	for _, c := range []struct {
		login string
		first flow.FirstMethod
		offer bool
	}{{"bob", flow.FirstByPassword, false}, {"frank", flow.FirstByPassword, true}, {"frank", flow.FirstByHelpdesk, false}} {
		r, d := infoRig(t, func(cfg *flow.Config) { cfg.Registration.FirstMethod = c.first })
		s, err := r.eng.BeginTask(bg, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"}, flow.TaskChange)
		mustOK(t, err)
		mustOK(t, s.SignIn(bg, c.login, oldPass, flow.CaptchaAnswer(s)))
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
		if got := s.OffersMoreMethods(); got != c.offer {
			t.Fatalf("%s, %s: offered %v", c.login, c.first, got)
		}
		if !c.offer {
			mustReason(t, s.AddMoreMethods(), flow.ReasonOutOfOrder)
			continue
		}
		mustOK(t, s.AddMoreMethods())
		mustStep(t, s, flow.StepManage)
		mustOK(t, s.AddContact(bg, flow.RegEmail, "frank@example.org", flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		if lookup(t, d, "frank").Email != "frank@example.org" {
			t.Fatal("not saved")
		}
	}
}

// A privileged account proves two methods, as its reset would; one that
// has not two is sent to the helpdesk; the right password of one excluded
// from self-service reads as a wrong one, as in a change.
func TestInfoPrivileged(t *testing.T) {
	r, _ := infoRig(t, func(c *flow.Config) {
		c.Privileged.Logins = []string{"alice", "bob"}
		c.Notices.Admins = []string{"security@example.com"}
	})
	s := r.beginInfo()
	fe := mustReason(t, s.SignIn(bg, "bob", oldPass, flow.CaptchaAnswer(s)), flow.ReasonNotAllowed)
	if !fe.Final {
		t.Error("not final")
	}
	s = r.signedIn("alice")
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustStep(t, s, flow.StepChooseMethod)
	mustReason(t, s.RemoveContact(bg, flow.RegMobile), flow.ReasonOutOfOrder)
	r.clock.Advance(61 * time.Second)
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
	mustStep(t, s, flow.StepManage)
	// The administrators are told of a change, as of a reset.
	mustOK(t, s.RemoveContact(bg, flow.RegEmail))
	admin := r.email.Last(t)
	if admin.To != "security@example.com" || admin.Subject != "A privileged account's security info was changed" ||
		!strings.Contains(admin.Text, `account "alice" was changed`) || !strings.Contains(admin.Text, "alternate email removed") {
		t.Errorf("the administrators' notice: %+v", admin)
	}

	r, _ = infoRig(t, func(c *flow.Config) {
		c.Privileged.Logins = []string{"alice"}
		c.Privileged.Mode = flow.PrivilegedExcluded
	})
	// Excluded from self-service, as from a change: the right password
	// reads as a wrong one.
	s = r.beginInfo()
	mustReason(t, s.SignIn(bg, "alice", oldPass, flow.CaptchaAnswer(s)), flow.ReasonPasswordWrong)
	if rec := auditRecord(t, r, "sign_in", "refused"); rec["detail"] != "privileged_excluded" {
		t.Errorf("audit %v", rec)
	}
}

// TestSignInTimingSameInfo: a wrong password for a real account (its argon2id
// hash checked) and any password for an unknown login take the same time,
// by the test TestIdentifyTimingSame uses.
func TestSignInTimingSameInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	d, err := embedded.Create(filepath.Join(t.TempDir(), "users.yaml"),
		embedded.WithParams(embedded.Params{Memory: 2 * 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	mustOK(t, err)
	mustOK(t, d.AddUser(embedded.UserRecord{Login: "alice", Mobile: aliceMobile}, oldPass))
	u, err := d.LookupUser(bg, "alice")
	mustOK(t, err)
	start := time.Now()
	if err := d.CheckPassword(bg, u, "wrong-Password-1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatal(err)
	}
	// Without the floor, this is what would tell a real account apart.
	t.Logf("one hash check: %v", time.Since(start))
	const n = 80
	for round := 1; round <= 3; round++ {
		cfg := baseConfig()
		cfg.Limits.IdentifyFloor = 40 * time.Millisecond
		cfg.Limits.IdentifyJitter = 4 * time.Millisecond
		cfg.Limits.Failures, cfg.MaxFailures = 100, 100
		eng, err := flow.NewEngine(cfg, flow.Deps{Directory: d, Store: memstore.New(), SMS: &recSender{}})
		mustOK(t, err)
		var known, unknown []float64
		for i := 0; i < n; i++ {
			order := []string{"alice", "zed"}
			if cryptoInt(2) == 0 {
				order[0], order[1] = order[1], order[0]
			}
			for _, login := range order {
				s, err := eng.BeginTask(bg, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:1"}, flow.TaskInfo)
				mustOK(t, err)
				start := time.Now()
				mustReason(t, s.SignIn(bg, login, "wrong-Password-1", ""), flow.ReasonPasswordWrong)
				ms := float64(time.Since(start)) / float64(time.Millisecond)
				if login == "alice" {
					known = append(known, ms)
				} else {
					unknown = append(unknown, ms)
				}
			}
		}
		p := mannWhitney(known, unknown)
		t.Logf("round %d: known median %.2f ms (max %.2f), unknown median %.2f ms (max %.2f), Mann-Whitney p = %.3f",
			round, median(known), slices.Max(known), median(unknown), slices.Max(unknown), p)
		if p >= 0.01 {
			return
		}
	}
	t.Fatal("a sign-in takes a different time for a real and an unknown login")
}

// A new mobile may be proved by a call to it instead: the number on the
// screen keyed in on the call saves it; a wrong one saves nothing.
func TestInfoAddMobileByCall(t *testing.T) {
	r, d := infoRig(t)
	s := r.signedIn("frank")
	mustOK(t, s.AddContact(bg, flow.RegMobile, newMobile, flow.CallMobile))
	mustStep(t, s, flow.StepWaiting)
	call := r.voice.Last(t)
	if call.To != newMobile || call.Token == "" {
		t.Fatalf("the call: %+v", call)
	}
	mustOK(t, r.eng.Approve(bg, call.Token, otherCode(s.State().Show)))
	mustReason(t, s.Wait(bg), flow.ReasonApprovalWrong)
	mustStep(t, s, flow.StepManage)
	if lookup(t, d, "frank").Mobile != "" {
		t.Fatal("a wrong answer saved the number")
	}
	r.clock.Advance(61 * time.Second)
	mustOK(t, s.AddContact(bg, flow.RegMobile, newMobile, flow.CallMobile))
	call = r.voice.Last(t)
	mustOK(t, r.eng.Approve(bg, call.Token, s.State().Show))
	mustOK(t, s.Wait(bg))
	mustStep(t, s, flow.StepManage)
	if got := lookup(t, d, "frank").Mobile; got != newMobile {
		t.Fatalf("frank's mobile is %q", got)
	}
	if rec := auditRecord(t, r, "set_methods", "ok"); rec["proved_by"] != "call_mobile" || rec["change"] != "added" {
		t.Errorf("audit: %v", rec)
	}
}

// With office in policy.registration.methods, the office phone is listed
// as editable and a new one is proved by a call to it.
func TestInfoOfficeWhenAllowed(t *testing.T) {
	r, d := infoRig(t, func(c *flow.Config) {
		c.Registration.Methods = []flow.Registration{flow.RegMobile, flow.RegOffice}
	})
	s := r.signedIn("frank")
	var office *flow.Registered
	for _, c := range s.Contacts() {
		if c.Kind == flow.RegOffice {
			office = &c
		}
		if c.Kind == flow.RegEmail || c.Kind == flow.RegApp {
			t.Errorf("%s is listed though the policy leaves it out", c.Kind)
		}
	}
	if office == nil || !office.Editable {
		t.Fatalf("the office phone: %+v", office)
	}
	mustReason(t, s.AddContact(bg, flow.RegOffice, aliceOffice, flow.TextMobile), flow.ReasonMethodUnknown)
	mustOK(t, s.AddContact(bg, flow.RegOffice, aliceOffice, flow.CallOffice))
	call := r.voice.Last(t)
	if call.To != aliceOffice {
		t.Fatalf("the call went to %q", call.To)
	}
	mustOK(t, r.eng.Approve(bg, call.Token, s.State().Show))
	mustOK(t, s.Wait(bg))
	if got := lookup(t, d, "frank").Office; got != aliceOffice {
		t.Fatalf("frank's office phone is %q", got)
	}
}
