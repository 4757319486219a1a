package flow_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

func privileged(mode flow.PrivilegedMode, logins, groups []string) func(*flow.Config) {
	return func(c *flow.Config) {
		c.Privileged = flow.Privileged{Logins: logins, Groups: groups, Mode: mode}
		c.Notices.Admins = []string{"security@example.com"}
	}
}

// TestPrivilegedExcluded: a privileged account in "excluded" mode walks the
// decoy path, by login or by group: its list is the decoy of its login,
// nothing is sent, nothing verifies, and the audit says why.
func TestPrivilegedExcluded(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*flow.Config)
	}{
		{"by login", privileged(flow.PrivilegedExcluded, []string{"Emile"}, nil)},
		{"by group", privileged(flow.PrivilegedExcluded, nil, []string{"cn=domain admins,ou=groups,dc=example,dc=com"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.cfg, func(c *flow.Config) { c.Limits.Failures = 100 })
			u := r.dir.users["emile"]
			u.Groups = []string{"CN=Domain Admins,OU=Groups,DC=example,DC=com"}
			r.dir.users["emile"] = u
			s := r.identified("emile")
			// The list is the decoy of the login, as for an unknown one.
			delete(r.dir.users, "emile")
			decoy := r.identified("emile")
			if !reflect.DeepEqual(s.Methods(), decoy.Methods()) || s.State().MethodsRequired != decoy.State().MethodsRequired {
				t.Fatalf("excluded %v, decoy %v", s.Methods(), decoy.Methods())
			}
			if !strings.Contains(r.audit.String(), `"result":"decoy","reason":"privileged_excluded"`) {
				t.Fatalf("audit:\n%s", r.audit.String())
			}
			for _, m := range s.Methods() {
				if m.ID == flow.PushApp || m.ID == flow.CallMobile || m.ID == flow.CallOffice {
					continue
				}
				x := r.identified("emile")
				mustOK(t, x.Choose(bg, m.ID))
				switch m.ID {
				case flow.TextMobile:
					mustReason(t, x.ConfirmNumber(bg, "+15550100055"), flow.ReasonNumberMismatch)
				default:
					mustReason(t, x.SubmitCode(bg, "12345678"), flow.ReasonCodeWrong)
				}
				r.clock.Advance(time.Minute)
			}
			if r.sends() != 0 || len(r.dir.Sets()) != 0 {
				t.Fatal("sent or wrote for an excluded account")
			}
		})
	}
}

// TestPrivilegedTwoMethods: a privileged account without an app needs two
// methods, and the admins hear of its reset.
func TestPrivilegedTwoMethods(t *testing.T) {
	r := newRig(t, privileged(flow.PrivilegedTwoMethods, nil, []string{"Helpdesk Admins"}))
	u := r.dir.users["emile"]
	u.Groups = []string{"staff", "helpdesk admins"}
	r.dir.users["emile"] = u
	s := r.identified("emile")
	if st := s.State(); st.MethodsRequired != 2 || len(s.Breadcrumb()) != 3 {
		t.Fatalf("state %+v, breadcrumb %v", st, s.Breadcrumb())
	}
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
	mustStep(t, s, flow.StepChooseMethod)
	mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustOK(t, s.ConfirmNumber(bg, "+15550100055"))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.sms.Last(t))))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	var admin *flow.Delivery
	for _, d := range r.email.All() {
		if d.To == "security@example.com" {
			admin = &d
		}
	}
	if admin == nil || admin.Kind != flow.KindNotice || !strings.Contains(admin.Text, `"emile"`) {
		t.Fatalf("no admin notice: %+v", r.email.All())
	}
	// Not privileged: one method, and no admin notice.
	r2 := newRig(t, privileged(flow.PrivilegedTwoMethods, nil, []string{"Helpdesk Admins"}))
	if st := r2.identified("emile").State(); st.MethodsRequired != 1 {
		t.Fatalf("a plain account needs %d methods", st.MethodsRequired)
	}
}

// TestAppUserNeedsTheApp: an account with an authenticator app proves two
// methods, one of them the app; email (or any other method) is never
// enough, even where the policy asks for one method.
func TestAppUserNeedsTheApp(t *testing.T) {
	t.Run("email then the app", func(t *testing.T) {
		r := newRig(t)
		s, code := r.atCode("alice", flow.EmailAltern)
		mustOK(t, s.SubmitCode(bg, code))
		mustStep(t, s, flow.StepChooseMethod)
		if got := methodIDs(s.Methods()); !slices.Equal(got, []flow.MethodID{flow.PushApp, flow.TOTPApp}) {
			t.Fatalf("second step offers %v, want only the app", got)
		}
		for _, m := range []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.EmailAltern} {
			mustReason(t, s.Choose(bg, m), flow.ReasonMethodUnknown)
		}
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	})
	t.Run("the app then anything else", func(t *testing.T) {
		r := newRig(t)
		s := r.identified("alice")
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		if got := methodIDs(s.Methods()); !slices.Equal(got, []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.EmailAltern}) {
			t.Fatalf("second step offers %v", got)
		}
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	})
	t.Run("text and email are not enough", func(t *testing.T) {
		r := newRig(t)
		s, code := r.atCode("alice", flow.TextMobile)
		mustOK(t, s.SubmitCode(bg, code))
		mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonMethodUnknown)
		mustStep(t, s, flow.StepChooseMethod)
		if r.email.Len() != 0 {
			t.Fatal("email sent on the app's step")
		}
	})
	t.Run("an app user with only the app takes the decoy path", func(t *testing.T) {
		r := newRig(t)
		r.identified("tess") // the app and nothing else: one factor of two
		if !strings.Contains(r.audit.String(), `"reason":"ineligible"`) {
			t.Fatal("tess was not ineligible")
		}
	})
	t.Run("no other method is spent once the app is closed", func(t *testing.T) {
		// Push off, so closing the authenticator code closes the app;
		// failures high enough that the account is not suspended first.
		r := newRig(t)
		eng, err := flow.NewEngine(func() flow.Config { c := baseConfig(); c.Limits.Failures = 20; return c }(),
			flow.Deps{Directory: r.dir, Store: r.store, SMS: r.sms, Voice: r.voice, Email: r.email, TOTP: totp.New(),
				Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
		mustOK(t, err)
		s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
		mustOK(t, s.Identify(bg, "alice", ""))
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		for i := 0; i < flow.DefaultConfig().CodeMaxAttempts; i++ {
			if err := s.SubmitCode(bg, "000000"); err == nil {
				t.Fatal("a wrong authenticator code verified")
			}
		}
		if got := s.Methods(); len(got) != 0 {
			t.Fatalf("with the app closed, step 1 still offers %v", methodIDs(got))
		}
		mustReason(t, s.Choose(bg, flow.TextMobile), flow.ReasonMethodUnknown)
		if r.sends() != 0 {
			t.Fatal("a text was spent on a reset that can no longer finish")
		}
	})
	t.Run("an app that cannot be checked here", func(t *testing.T) {
		r := newRig(t)
		eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: r.dir, Store: r.store, SMS: r.sms, Email: r.email,
			Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
		mustOK(t, err)
		s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
		mustOK(t, s.Identify(bg, "alice", ""))
		// A decoy: a text never goes out, nor does an email.
		for _, m := range s.Methods() {
			mustOK(t, s.Choose(bg, m.ID))
			if m.ID == flow.TextMobile {
				mustReason(t, s.ConfirmNumber(bg, aliceMobile), flow.ReasonNumberMismatch)
			}
			mustOK(t, s.Back())
			r.clock.Advance(time.Minute)
		}
		if r.sends() != 0 {
			t.Fatal("an app user was served without the app")
		}
	})
}

// TestDecoyFollowsTheAppRule: a decoy that shows an app asks for two
// methods, as a real account with an app does; one without asks for what
// the policy says; where privileged accounts need two, some decoys without
// an app do too. The breadcrumb follows.
func TestDecoyFollowsTheAppRule(t *testing.T) {
	for _, withPrivileged := range []bool{false, true} {
		var opts []func(*flow.Config)
		if withPrivileged {
			opts = append(opts, privileged(flow.PrivilegedTwoMethods, []string{"root"}, nil))
		}
		r := newRig(t, opts...)
		var app, plain, twoPlain int
		for i := 0; i < 300; i++ {
			s := r.identified(fmt.Sprintf("ghost%d", i))
			ms, st := s.Methods(), s.State()
			hasApp := hasMethod(ms, flow.PushApp)
			if len(s.Breadcrumb()) != st.MethodsRequired+1 {
				t.Fatalf("breadcrumb %v for %d methods", s.Breadcrumb(), st.MethodsRequired)
			}
			switch {
			case hasApp && st.MethodsRequired != 2:
				t.Fatalf("decoy %v with an app asks for %d methods", methodIDs(ms), st.MethodsRequired)
			case hasApp:
				app++
			case st.MethodsRequired == 2:
				twoPlain++
			default:
				plain++
			}
			if factors(ms) < st.MethodsRequired {
				t.Fatalf("decoy %v cannot give %d methods", methodIDs(ms), st.MethodsRequired)
			}
		}
		if app == 0 || plain == 0 || (withPrivileged && twoPlain == 0) || (!withPrivileged && twoPlain != 0) {
			t.Fatalf("privileged %v: %d with an app, %d plain, %d plain needing two", withPrivileged, app, plain, twoPlain)
		}
	}
}

// A privileged login is matched in the canonical form, like the lookup:
// "STRASSE" on the list is the account Straße, however it is typed.
func TestPrivilegedLoginCanonical(t *testing.T) {
	r := newRig(t, privileged(flow.PrivilegedTwoMethods, []string{"STRASSE"}, nil))
	r.dir.users["strasse"] = flow.User{ID: "uid=strasse", Login: "Straße", Email: "strasse@example.com", Mobile: "+15550100066"}
	for _, login := range []string{"Straße", "strasse", "ｓｔｒａßｅ"} {
		s := r.identified(login)
		if st := s.State(); st.MethodsRequired != 2 || !hasMethod(s.Methods(), flow.TextMobile) || s.Methods()[0].Hint != "*****66" {
			t.Errorf("%q: %d methods required of %v", login, st.MethodsRequired, s.Methods())
		}
	}
}
