package flow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
)

var bg = context.Background()

// TestEveryMethodResets walks alice through each method to a written
// password. She has an authenticator app, so each method is her first of
// two, the app (or, after the app, her mailbox) the second.
func TestEveryMethodResets(t *testing.T) {
	tests := []struct {
		method flow.MethodID
		prove  func(r *rig, s *flow.Session)
	}{
		{flow.TextMobile, func(r *rig, s *flow.Session) {
			mustOK(t, s.ConfirmNumber(bg, "555-010-0042"))
			mustOK(t, s.SubmitCode(bg, codeIn(t, r.sms.Last(t))))
		}},
		{flow.CallMobile, func(r *rig, s *flow.Session) {
			mustOK(t, s.ConfirmNumber(bg, aliceMobile))
			mustOK(t, r.eng.Approve(bg, r.voice.Last(t).Token, s.State().Show))
			mustOK(t, s.Wait(bg))
		}},
		{flow.CallOffice, func(r *rig, s *flow.Session) {
			mustOK(t, s.ConfirmNumber(bg, "(555) 010-0077"))
			mustOK(t, r.eng.Approve(bg, r.voice.Last(t).Token, s.State().Show))
			mustOK(t, s.Wait(bg))
		}},
		{flow.PushApp, func(r *rig, s *flow.Session) {
			mustOK(t, r.eng.Approve(bg, r.push.Last(t).Token, s.State().Show))
			mustOK(t, s.Wait(bg))
		}},
		{flow.TOTPApp, func(r *rig, s *flow.Session) {
			mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		}},
		{flow.EmailAltern, func(r *rig, s *flow.Session) {
			mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.method), func(t *testing.T) {
			r := newRig(t)
			s := r.identified("alice")
			if got := s.Breadcrumb(); strings.Join(got, " > ") != "verification step 1 > verification step 2 > choose a new password" {
				t.Errorf("breadcrumb %q", got)
			}
			mustOK(t, s.Choose(bg, tc.method))
			tc.prove(r, s)
			mustStep(t, s, flow.StepChooseMethod)
			if tc.method == flow.PushApp || tc.method == flow.TOTPApp {
				mustOK(t, s.Choose(bg, flow.EmailAltern))
				mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
			} else {
				mustOK(t, s.Choose(bg, flow.TOTPApp))
				mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
			}
			mustStep(t, s, flow.StepSetPassword)
			mustOK(t, s.SetPassword(bg, goodPass, goodPass))
			mustStep(t, s, flow.StepDone)
			sets := r.dir.Sets()
			if len(sets) != 1 || sets[0].User.ID != "uid=alice" || sets[0].Password != goodPass {
				t.Fatalf("directory writes: %+v", sets)
			}
			if n := r.verificationSends(); n > 2 {
				t.Errorf("%d sends for two verifications", n)
			}
		})
	}
}

func TestMethodsListed(t *testing.T) {
	r := newRig(t)
	s := r.identified("alice")
	want := []flow.Method{
		{ID: flow.TextMobile, Label: "Text my mobile phone", Hint: "*****42"},
		{ID: flow.CallMobile, Label: "Call my mobile phone", Hint: "*****42"},
		{ID: flow.CallOffice, Label: "Call my office phone", Hint: "*****77"},
		{ID: flow.PushApp, Label: "Approve a notification on my authenticator app"},
		{ID: flow.TOTPApp, Label: "Enter a code from my authenticator app"},
		{ID: flow.EmailAltern, Label: "Email my alternate email", Hint: "a***@example.com"},
	}
	got := s.Methods()
	if len(got) != len(want) {
		t.Fatalf("methods %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("method %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	for _, m := range got {
		if strings.Contains(m.Hint, "555") || strings.Contains(m.Hint, "alice@") {
			t.Errorf("hint shows too much: %q", m.Hint)
		}
	}
}

// A method whose sender is not configured is not offered, and email only
// when it is switched on.
func TestMethodsFollowSenders(t *testing.T) {
	for _, emailOn := range []bool{false, true} {
		cfg := baseConfig()
		cfg.EmailEnabled = emailOn
		eng, err := flow.NewEngine(cfg, flow.Deps{Directory: &fakeDir{users: testUsers()}, Store: memstore.New(),
			SMS: &recSender{}, Email: &recSender{}})
		mustOK(t, err)
		s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
		mustOK(t, s.Identify(bg, "emile", ""))
		want := []flow.MethodID{flow.TextMobile}
		if emailOn {
			want = append(want, flow.EmailAltern)
		}
		if got := methodIDs(s.Methods()); !slices.Equal(got, want) {
			t.Fatalf("email %v: methods %v, want %v", emailOn, got, want)
		}
		mustReason(t, s.Choose(bg, flow.PushApp), flow.ReasonMethodUnknown)
		mustReason(t, s.Choose(bg, "bogus"), flow.ReasonMethodUnknown)
		mustStep(t, s, flow.StepChooseMethod)
	}
}

func TestCodeRules(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, r *rig, s *flow.Session, code string)
	}{
		{"right code verifies", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustOK(t, s.SubmitCode(bg, code))
			// alice has an app: the app is her second step.
			mustStep(t, s, flow.StepChooseMethod)
			if st := s.State(); st.Verification != 2 {
				t.Fatalf("verification %d", st.Verification)
			}
		}},
		{"spaces and dashes are ignored", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustOK(t, s.SubmitCode(bg, " "+code[:3]+"-"+code[3:]+" "))
		}},
		{"letters are not a try", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustReason(t, s.SubmitCode(bg, "12ab56"), flow.ReasonInvalidInput)
			mustReason(t, s.SubmitCode(bg, ""), flow.ReasonInvalidInput)
			if n := flow.CodeAttempts(s, flow.EmailAltern); n != 0 {
				t.Fatalf("attempts %d", n)
			}
			mustOK(t, s.SubmitCode(bg, code))
		}},
		{"valid until the last second", func(t *testing.T, r *rig, s *flow.Session, code string) {
			r.clock.Advance(5 * time.Minute)
			mustOK(t, s.SubmitCode(bg, code))
		}},
		{"expired at 5 min 1 s", func(t *testing.T, r *rig, s *flow.Session, code string) {
			r.clock.Advance(5*time.Minute + time.Second)
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonCodeExpired)
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonCodeExpired)
			mustStep(t, s, flow.StepEnterCode)
			if r.dir.Sets() != nil {
				t.Fatal("directory written")
			}
		}},
		{"five wrong codes end the code and the method", func(t *testing.T, r *rig, s *flow.Session, code string) {
			for i := 1; i <= 4; i++ {
				mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
			}
			fe := mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonTooManyAttempts)
			if fe.Final {
				t.Fatal("closing one method must not end the session")
			}
			mustStep(t, s, flow.StepChooseMethod)
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonOutOfOrder)
			if hasMethod(s.Methods(), flow.EmailAltern) {
				t.Fatal("email still offered")
			}
			r.clock.Advance(2 * time.Minute)
			mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonMethodUnknown)
			if !hasMethod(s.Methods(), flow.TOTPApp) {
				t.Fatal("other methods must stay")
			}
		}},
		{"resend refused at 30 s, allowed at 61 s", func(t *testing.T, r *rig, s *flow.Session, code string) {
			r.clock.Advance(30 * time.Second)
			fe := mustReason(t, s.Resend(bg), flow.ReasonCooldown)
			if !strings.Contains(fe.Message, "30 seconds") || fe.RetryAfter != 30*time.Second {
				t.Errorf("message %q, retry after %v", fe.Message, fe.RetryAfter)
			}
			if r.email.Len() != 1 {
				t.Fatal("sent during cooldown")
			}
			if st := s.State(); !st.ResendAt.Equal(epoch.Add(60 * time.Second)) {
				t.Errorf("ResendAt %v", st.ResendAt)
			}
			r.clock.Advance(31 * time.Second)
			mustOK(t, s.Resend(bg))
			if r.email.Len() != 2 {
				t.Fatal("no new code")
			}
			if codeIn(t, r.email.Last(t)) == code {
				t.Log("new code equals the old one by chance")
			}
		}},
		{"a new code voids the old one", func(t *testing.T, r *rig, s *flow.Session, code string) {
			r.clock.Advance(61 * time.Second)
			mustOK(t, s.Resend(bg))
			fresh := codeIn(t, r.email.Last(t))
			if fresh == code {
				t.Skip("the new code equals the old one by chance")
			}
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonCodeWrong)
			mustOK(t, s.SubmitCode(bg, fresh))
		}},
		{"resend keeps the count of wrong tries", func(t *testing.T, r *rig, s *flow.Session, code string) {
			for i := 0; i < 3; i++ {
				mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
			}
			r.clock.Advance(61 * time.Second)
			mustOK(t, s.Resend(bg))
			fresh := codeIn(t, r.email.Last(t))
			mustReason(t, s.SubmitCode(bg, otherCode(fresh)), flow.ReasonCodeWrong)
			mustReason(t, s.SubmitCode(bg, otherCode(fresh)), flow.ReasonTooManyAttempts)
			if n := flow.CodeAttempts(s, flow.EmailAltern); n != 5 {
				t.Fatalf("attempts %d, want 5", n)
			}
		}},
		{"going back and choosing again keeps the cooldown and the count", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
			mustOK(t, s.Back())
			mustStep(t, s, flow.StepChooseMethod)
			r.clock.Advance(10 * time.Second)
			if fe := mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonCooldown); fe.RetryAfter != 50*time.Second {
				t.Errorf("retry after %v, want 50s", fe.RetryAfter)
			}
			if r.email.Len() != 1 {
				t.Fatalf("Back and Choose sent %d codes inside the cooldown", r.email.Len())
			}
			r.clock.Advance(51 * time.Second)
			mustOK(t, s.Choose(bg, flow.EmailAltern))
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonCodeWrong) // voided by Back
			if n := flow.CodeAttempts(s, flow.EmailAltern); n != 2 {
				t.Fatalf("attempts %d, want 2", n)
			}
			mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		}},
		{"reuse after success is refused", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustOK(t, s.SubmitCode(bg, code))
			mustReason(t, s.SubmitCode(bg, code), flow.ReasonOutOfOrder)
		}},
		{"resend only where a code was sent", func(t *testing.T, r *rig, s *flow.Session, code string) {
			mustOK(t, s.SubmitCode(bg, code))
			mustReason(t, s.Resend(bg), flow.ReasonOutOfOrder)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The account's own limit (5 failures a method) is tested
			// apart; here the code's rules alone.
			r := newRig(t, func(c *flow.Config) { c.Limits.Failures = 10 })
			s, code := r.atCode("alice", flow.EmailAltern)
			d := r.email.Last(t)
			if d.To != aliceEmail || d.SessionID != s.ID() || d.Method != flow.EmailAltern {
				t.Fatalf("delivery %+v", d)
			}
			if len(code) != 8 {
				t.Fatalf("code %q: want 8 digits", code)
			}
			if !d.Expires.Equal(epoch.Add(5 * time.Minute)) {
				t.Fatalf("expires %v", d.Expires)
			}
			tc.run(t, r, s, code)
		})
	}
}

// A code works only in the session that asked for it.
func TestCodeBoundToSession(t *testing.T) {
	r := newRig(t)
	a, codeA := r.atCode("alice", flow.EmailAltern)
	r.clock.Advance(61 * time.Second) // the gap between two sends to one account
	b, codeB := r.atCode("alice", flow.EmailAltern)
	if codeA == codeB {
		t.Skip("two sessions drew the same code by chance")
	}
	mustReason(t, b.SubmitCode(bg, codeA), flow.ReasonCodeWrong)
	e, _ := r.atCode("erin", flow.EmailAltern)
	mustReason(t, e.SubmitCode(bg, codeA), flow.ReasonCodeWrong)
	mustOK(t, a.SubmitCode(bg, codeA))
	mustOK(t, b.SubmitCode(bg, codeB))
	mustReason(t, b.SubmitCode(bg, codeB), flow.ReasonOutOfOrder)
}

func TestTextCodeGoesToStoredNumber(t *testing.T) {
	for _, typed := range []string{"+1 (555) 010-0042", "15550100042", "555-010-0042", "555.010.0042"} {
		t.Run(typed, func(t *testing.T) {
			r := newRig(t)
			s := r.identified("alice")
			mustOK(t, s.Choose(bg, flow.TextMobile))
			mustStep(t, s, flow.StepConfirmNumber)
			if r.sends() != 0 {
				t.Fatal("sent before the number was confirmed")
			}
			mustOK(t, s.ConfirmNumber(bg, typed))
			d := r.sms.Last(t)
			if d.To != aliceMobile {
				t.Fatalf("sent to %q, want the stored %q", d.To, aliceMobile)
			}
			mustOK(t, s.SubmitCode(bg, codeIn(t, d)))
		})
	}
}

// A stored number in any notation reaches the sender in E.164.
func TestDestinationIsE164(t *testing.T) {
	r := newRig(t)
	s := r.identified("bob") // stored as "+1 (555) 010-0013"
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustOK(t, s.ConfirmNumber(bg, "555 010 0013"))
	if to := r.sms.Last(t).To; to != "+15550100013" {
		t.Fatalf("sent to %q", to)
	}
}

func TestNumberMismatch(t *testing.T) {
	r := newRig(t)
	s := r.identified("alice")
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustReason(t, s.ConfirmNumber(bg, ""), flow.ReasonInvalidInput)
	mustReason(t, s.ConfirmNumber(bg, "+15550100043"), flow.ReasonNumberMismatch)
	// the office number is not the mobile
	mustReason(t, s.ConfirmNumber(bg, aliceOffice), flow.ReasonNumberMismatch)
	mustStep(t, s, flow.StepConfirmNumber)
	fe := mustReason(t, s.ConfirmNumber(bg, "+442079460958"), flow.ReasonTooManyAttempts)
	if fe.Final {
		t.Fatal("phone lockout must not end the session")
	}
	mustStep(t, s, flow.StepChooseMethod)
	for _, id := range []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice} {
		if hasMethod(s.Methods(), id) {
			t.Errorf("%s still offered", id)
		}
	}
	if r.sends() != 0 {
		t.Fatalf("%d sends", r.sends())
	}
	if got := flow.Failures(s); got != 3 {
		t.Fatalf("failures %d", got)
	}
	mustOK(t, s.Choose(bg, flow.TOTPApp))
}

// TOTP: 30 s steps, the current one and one either way, each code once.
func TestTOTPWindow(t *testing.T) {
	tests := []struct {
		skew time.Duration
		ok   bool
	}{
		{-60 * time.Second, false},
		{-30 * time.Second, true},
		{0, true},
		{30 * time.Second, true},
		{60 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.skew.String(), func(t *testing.T) {
			r := newRig(t)
			s := r.identified("alice")
			mustOK(t, s.Choose(bg, flow.TOTPApp))
			if st := s.State(); st.Step != flow.StepEnterCode || st.CodeLength != 6 {
				t.Fatalf("state %+v", st)
			}
			if r.sends() != 0 {
				t.Fatal("TOTP sends nothing")
			}
			err := s.SubmitCode(bg, totpCode(t, r.clock.Now().Add(tc.skew)))
			if tc.ok {
				mustOK(t, err)
			} else {
				mustReason(t, err, flow.ReasonCodeWrong)
			}
		})
	}
}

func TestTOTPReplay(t *testing.T) {
	r := newRig(t)
	code := totpCode(t, r.clock.Now())
	a := r.identified("alice")
	mustOK(t, a.Choose(bg, flow.TOTPApp))
	mustOK(t, a.SubmitCode(bg, code))

	b := r.identified("alice")
	mustOK(t, b.Choose(bg, flow.TOTPApp))
	mustReason(t, b.SubmitCode(bg, code), flow.ReasonCodeWrong)
	if !strings.Contains(r.audit.String(), `"reason":"code_replayed"`) {
		t.Error("replay not in the audit log")
	}
	// Still inside the window one step later: still refused.
	r.clock.Advance(30 * time.Second)
	c := r.identified("alice")
	mustOK(t, c.Choose(bg, flow.TOTPApp))
	mustReason(t, c.SubmitCode(bg, code), flow.ReasonCodeWrong)
	// The next code works.
	mustOK(t, c.SubmitCode(bg, totpCode(t, r.clock.Now())))
}

// TestTOTPNoEarlierStep: after a code is accepted, a code of an earlier
// step is refused even though it is still inside the window and was never
// used (RFC 6238 section 5.2); a later step still works.
func TestTOTPNoEarlierStep(t *testing.T) {
	r := newRig(t)
	ahead := totpCode(t, r.clock.Now().Add(30*time.Second)) // a phone whose clock runs ahead
	a := r.identified("alice")
	mustOK(t, a.Choose(bg, flow.TOTPApp))
	mustOK(t, a.SubmitCode(bg, ahead))

	for _, back := range []time.Duration{0, -30 * time.Second} {
		b := r.identified("alice")
		mustOK(t, b.Choose(bg, flow.TOTPApp))
		mustReason(t, b.SubmitCode(bg, totpCode(t, r.clock.Now().Add(back))), flow.ReasonCodeWrong)
	}
	// A step later than the one accepted is fine.
	r.clock.Advance(60 * time.Second)
	c := r.identified("alice")
	mustOK(t, c.Choose(bg, flow.TOTPApp))
	mustOK(t, c.SubmitCode(bg, totpCode(t, r.clock.Now())))
}

func TestTwoGates(t *testing.T) {
	two := func(c *flow.Config) { c.MethodsRequired = 2 }
	t.Run("two different methods", func(t *testing.T) {
		r := newRig(t, two)
		s, code := r.atCode("alice", flow.EmailAltern)
		if got := strings.Join(s.Breadcrumb(), " > "); got != "verification step 1 > verification step 2 > choose a new password" {
			t.Fatalf("breadcrumb %q", got)
		}
		if st := s.State(); st.Verification != 1 || st.MethodsRequired != 2 {
			t.Fatalf("state %+v", st)
		}
		mustOK(t, s.SubmitCode(bg, code))
		mustStep(t, s, flow.StepChooseMethod)
		if st := s.State(); st.Verification != 2 {
			t.Fatalf("verification %d", st.Verification)
		}
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		if hasMethod(s.Methods(), flow.EmailAltern) {
			t.Fatal("email offered twice")
		}
		r.clock.Advance(2 * time.Minute)
		mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonMethodUnknown)
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		mustStep(t, s, flow.StepSetPassword)
		if st := s.State(); st.Verification != 2 {
			t.Fatalf("verification %d", st.Verification)
		}
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
		if len(r.dir.Sets()) != 1 {
			t.Fatal("no write")
		}
	})
	t.Run("text and call to one mobile are one method", func(t *testing.T) {
		r := newRig(t, two)
		s, code := r.atCode("alice", flow.TextMobile)
		mustOK(t, s.SubmitCode(bg, code))
		got := s.Methods()
		if hasMethod(got, flow.CallMobile) || hasMethod(got, flow.TextMobile) {
			t.Fatalf("the same phone offered again: %v", methodIDs(got))
		}
		mustReason(t, s.Choose(bg, flow.CallMobile), flow.ReasonMethodUnknown)
	})
	t.Run("push and authenticator code are one app", func(t *testing.T) {
		r := newRig(t, two)
		s := r.identified("alice")
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		if hasMethod(s.Methods(), flow.PushApp) {
			t.Fatal("the same app offered again")
		}
	})
	t.Run("a user with one phone only takes the decoy path", func(t *testing.T) {
		r := newRig(t, two)
		s := r.identified("bob")
		mustOK(t, s.Choose(bg, flow.TextMobile))
		mustReason(t, s.ConfirmNumber(bg, "+15550100013"), flow.ReasonNumberMismatch)
		if r.sends() != 0 {
			t.Fatal("sent for an ineligible user")
		}
	})
	t.Run("decoys look eligible", func(t *testing.T) {
		r := newRig(t, two)
		for i := 0; i < 200; i++ {
			s := r.identified("nobody" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
			if n := factors(s.Methods()); n < 2 {
				t.Fatalf("decoy %v offers %d independent methods under a two-method policy", methodIDs(s.Methods()), n)
			}
		}
	})
}

// factors counts the independent things behind a method list: the mobile
// phone, the office phone, the authenticator app, the mailbox.
func factors(ms []flow.Method) int {
	seen := map[string]bool{}
	for _, m := range ms {
		switch m.ID {
		case flow.TextMobile, flow.CallMobile:
			seen["mobile"] = true
		case flow.PushApp, flow.TOTPApp:
			seen["app"] = true
		default:
			seen[string(m.ID)] = true
		}
	}
	return len(seen)
}

func TestResetWindow(t *testing.T) {
	t.Run("inside", func(t *testing.T) {
		r := newRig(t)
		s := r.verified()
		r.clock.Advance(10 * time.Minute)
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	})
	t.Run("one second past", func(t *testing.T) {
		r := newRig(t)
		s := r.verified()
		r.clock.Advance(10*time.Minute + time.Second)
		fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonSessionExpired)
		if !fe.Final {
			t.Fatal("not final")
		}
		mustStep(t, s, flow.StepClosed)
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		if r.dir.Sets() != nil {
			t.Fatal("directory written")
		}
	})
	t.Run("configurable", func(t *testing.T) {
		r := newRig(t, func(c *flow.Config) { c.ResetWindow = 5 * time.Minute })
		s := r.verified()
		r.clock.Advance(5*time.Minute + time.Second)
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonSessionExpired)
	})
}

func TestSetPassword(t *testing.T) {
	t.Run("policy refusal keeps the step", func(t *testing.T) {
		r := newRig(t)
		s := r.verified()
		fe := mustReason(t, s.SetPassword(bg, "short", "short"), flow.ReasonPolicy)
		if len(fe.Rules) == 0 || strings.Contains(fe.Message, "short") {
			t.Fatalf("error %+v", fe)
		}
		fe = mustReason(t, s.SetPassword(bg, goodPass, goodPass+"x"), flow.ReasonConfirmMismatch)
		if len(fe.Rules) != 1 || fe.Rules[0].ID != flow.RuleConfirm {
			t.Fatalf("rules %+v", fe.Rules)
		}
		fe = mustReason(t, s.SetPassword(bg, "Alice-Was-Here-2026", "Alice-Was-Here-2026"), flow.ReasonPolicy)
		if len(fe.Rules) != 1 || fe.Rules[0].ID != flow.RuleNoLogin {
			t.Fatalf("rules %+v", fe.Rules)
		}
		mustStep(t, s, flow.StepSetPassword)
		if r.dir.Sets() != nil {
			t.Fatal("directory written")
		}
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
		mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		if n := len(r.dir.Sets()); n != 1 {
			t.Fatalf("%d writes", n)
		}
	})
	t.Run("directory failure is generic and retryable", func(t *testing.T) {
		r := newRig(t)
		s := r.verified()
		r.dir.setErr = errors.New("ldap: result 53 for uid=alice password " + goodPass)
		fe := mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonUnavailable)
		if strings.Contains(fe.Message, goodPass) || strings.Contains(fe.Message, "uid=") {
			t.Fatalf("message leaks: %q", fe.Message)
		}
		mustStep(t, s, flow.StepSetPassword)
		if strings.Contains(r.audit.String(), goodPass) {
			t.Fatal("the password reached the audit log")
		}
		r.dir.setErr = nil
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	})
	t.Run("directory policy refusal keeps the provider's error intact", func(t *testing.T) {
		r := newRig(t)
		shared := &flow.Error{Reason: flow.ReasonDirectoryRefused, Message: "The new password doesn't meet the organisation's password policy."}
		r.dir.setErr = shared
		s1, s2 := r.verified(), r.verified()
		e1 := mustReason(t, s1.SetPassword(bg, goodPass, goodPass), flow.ReasonDirectoryRefused)
		e2 := mustReason(t, s2.SetPassword(bg, goodPass, goodPass), flow.ReasonDirectoryRefused)
		if e1.Ref != s1.Ref() || e2.Ref != s2.Ref() {
			t.Fatalf("refs %q %q, want %q %q", e1.Ref, e2.Ref, s1.Ref(), s2.Ref())
		}
		if shared.Ref != "" {
			t.Fatalf("the directory's error value was changed: Ref %q", shared.Ref)
		}
		mustStep(t, s1, flow.StepSetPassword)
	})
	t.Run("the write goes to the identified entry", func(t *testing.T) {
		r := newRig(t)
		s := r.begin()
		mustOK(t, s.Identify(bg, "  ALICE ", ""))
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		// Identify cannot be replayed to switch the account.
		mustReason(t, s.Identify(bg, "erin", ""), flow.ReasonOutOfOrder)
		mustOK(t, s.SetPassword(bg, goodPass, goodPass))
		if sets := r.dir.Sets(); len(sets) != 1 || sets[0].User.ID != "uid=alice" {
			t.Fatalf("writes %+v", sets)
		}
	})
}

// Check and SetPassword apply the same rules with the same login.
func TestCheckMatchesSetPassword(t *testing.T) {
	candidates := [][2]string{
		{goodPass, goodPass},
		{"short1A", "short1A"},
		{"alllowercase12345", "alllowercase12345"},
		{"ALLUPPERCASE12345", "ALLUPPERCASE12345"},
		{"NoDigitsAtAllHere", "NoDigitsAtAllHere"},
		{"xxALICExx-1234567", "xxALICExx-1234567"},
		{goodPass, "different"},
		{"", ""},
		{strings.Repeat("Ab1", 86), strings.Repeat("Ab1", 86)},             // 258
		{strings.Repeat("Ab1", 85) + "x", strings.Repeat("Ab1", 85) + "x"}, // 256
		{"Pässwörd mit Leerzeichen 2025", "Pässwörd mit Leerzeichen 2025"},
	}
	for _, c := range candidates {
		r := newRig(t)
		s := r.verified()
		rules := s.Check(c[0], c[1])
		allMet := true
		for _, rule := range rules {
			allMet = allMet && rule.Met
		}
		err := s.SetPassword(bg, c[0], c[1])
		if allMet != (err == nil) {
			t.Errorf("%q: Check says %v, SetPassword says %v", c[0], allMet, err)
		}
	}
}

func TestMaxFailuresEndTheSession(t *testing.T) {
	r := newRig(t, func(c *flow.Config) { c.MaxFailures = 6; c.Limits.Failures = 10 })
	s, code := r.atCode("alice", flow.EmailAltern)
	for i := 0; i < 4; i++ {
		mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
	}
	mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonTooManyAttempts)
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	bad := otherCode(totpCode(t, r.clock.Now()))
	fe := mustReason(t, s.SubmitCode(bg, bad), flow.ReasonTooManyAttempts)
	if !fe.Final {
		t.Fatal("the sixth failure must end the session")
	}
	mustStep(t, s, flow.StepClosed)
	mustReason(t, s.Choose(bg, flow.PushApp), flow.ReasonOutOfOrder)
}

func TestDirectoryUnavailable(t *testing.T) {
	r := newRig(t)
	r.dir.lookupErr = errors.New("ldap: dial tcp 10.0.0.5:636: connection refused")
	s := r.begin()
	fe := mustReason(t, s.Identify(bg, "alice", ""), flow.ReasonUnavailable)
	if strings.Contains(fe.Message, "ldap") || strings.Contains(fe.Message, "10.0.0.5") {
		t.Fatalf("message leaks: %q", fe.Message)
	}
	mustStep(t, s, flow.StepIdentify)
	r.dir.lookupErr = nil
	mustOK(t, s.Identify(bg, "alice", ""))
}

func TestDeliveryFailure(t *testing.T) {
	r := newRig(t)
	r.email.SetErr(errors.New("smtp: 554 rejected"))
	s := r.identified("alice")
	fe := mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonUnavailable)
	if strings.Contains(fe.Message, "smtp") {
		t.Fatalf("message leaks: %q", fe.Message)
	}
	mustStep(t, s, flow.StepChooseMethod)
	if st := s.State(); st.Method.ID != "" {
		t.Fatalf("a failed choice stays selected: %+v", st.Method)
	}
	// No cooldown when nothing was sent: neither the session's nor the
	// account's gap between sends.
	r.email.SetErr(nil)
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
}

func TestBack(t *testing.T) {
	r := newRig(t)
	s := r.identified("alice")
	mustReason(t, s.Back(), flow.ReasonOutOfOrder)
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustOK(t, s.Back())
	mustStep(t, s, flow.StepChooseMethod)
	if st := s.State(); st.Method.ID != "" {
		t.Fatalf("method %+v", st.Method)
	}
	mustOK(t, s.Choose(bg, flow.PushApp))
	tok := r.push.Last(t).Token
	mustOK(t, s.Back())
	if err := r.eng.Approve(bg, tok, "11"); !errors.Is(err, flow.ErrNoApproval) {
		t.Fatalf("approve after Back: %v", err)
	}
}

func TestCancel(t *testing.T) {
	r := newRig(t)
	s, code := r.atCode("alice", flow.EmailAltern)
	s.Cancel()
	mustStep(t, s, flow.StepClosed)
	mustReason(t, s.SubmitCode(bg, code), flow.ReasonOutOfOrder)
	s.Cancel() // twice is harmless

	done := r.verified()
	mustOK(t, done.SetPassword(bg, goodPass, goodPass))
	done.Cancel()
	mustStep(t, done, flow.StepDone)
}

func TestIdentifyInput(t *testing.T) {
	r := newRig(t)
	s := r.begin()
	mustReason(t, s.Identify(bg, "   ", ""), flow.ReasonInvalidInput)
	mustReason(t, s.Identify(bg, "\x1b\x00\u200e\t", ""), flow.ReasonInvalidInput)
	mustStep(t, s, flow.StepIdentify)
	if r.dir.Lookups() != 0 {
		t.Fatal("looked up an empty login")
	}
	long := strings.Repeat("a", 10000)
	mustOK(t, s.Identify(bg, long, ""))
	if n := len(s.State().Login); n > flow.MaxLoginLen {
		t.Fatalf("login kept at %d bytes", n)
	}
}

func TestSessionIDs(t *testing.T) {
	r := newRig(t)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		s := r.begin()
		id := s.ID()
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			t.Fatalf("id %q", id)
		}
		seen[id] = true
		if s.Ref() != id[:8] || s.State().Ref != s.Ref() {
			t.Fatal("ref")
		}
	}
}
