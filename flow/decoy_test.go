package flow_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// unknown is zed (no entry), carol (disabled) and frank (no methods).
var noAccount = []string{"zed", "carol", "frank", "zed@example.com", "nobody.at.all"}

func TestDecoyLooksReal(t *testing.T) {
	hintRE := regexp.MustCompile(`^(\*{5}\d{2}|[a-z]\*\*\*@[a-z0-9.-]+|)$`)
	for _, login := range noAccount {
		t.Run(login, func(t *testing.T) {
			r := newRig(t)
			s := r.identified(login)
			mustStep(t, s, flow.StepChooseMethod)
			ms := s.Methods()
			if len(ms) == 0 {
				t.Fatal("empty decoy list")
			}
			for _, m := range ms {
				if m.Label != m.ID.Label() || !hintRE.MatchString(m.Hint) {
					t.Errorf("decoy method %+v", m)
				}
			}
			// Text and call to one mobile show the same digits, as for a real user.
			var sms, call string
			for _, m := range ms {
				switch m.ID {
				case flow.TextMobile:
					sms = m.Hint
				case flow.CallMobile:
					call = m.Hint
				}
			}
			if sms != call {
				t.Errorf("text %q and call %q hints differ", sms, call)
			}
			if st := s.State(); st.Login != login {
				t.Errorf("login %q", st.Login)
			}
		})
	}
}

// The decoy list is the same in every session and at every try, and
// spelling variants of one login give the same list.
func TestDecoyStable(t *testing.T) {
	r := newRig(t)
	for _, login := range noAccount {
		want := r.identified(login).Methods()
		for _, variant := range []string{login, strings.ToUpper(login), "  " + login + " "} {
			if got := r.identified(variant).Methods(); !reflect.DeepEqual(got, want) {
				t.Errorf("%q: %v, want %v", variant, got, want)
			}
		}
		// Another engine with the same key (another instance) agrees.
		if got := newRig(t).identified(login).Methods(); !reflect.DeepEqual(got, want) {
			t.Errorf("%q differs across instances", login)
		}
	}
}

// Decoy lists keep the order of a real list, under either policy.
func TestDecoyOrder(t *testing.T) {
	order := map[flow.MethodID]int{flow.TextMobile: 0, flow.CallMobile: 1, flow.CallOffice: 2, flow.PushApp: 3, flow.TOTPApp: 4, flow.EmailAltern: 5}
	for _, required := range []int{1, 2} {
		r := newRig(t, func(c *flow.Config) { c.MethodsRequired = required })
		for i := 0; i < 200; i++ {
			ms := r.identified(fmt.Sprintf("ghost%d", i)).Methods()
			for j := 1; j < len(ms); j++ {
				if order[ms[j-1].ID] >= order[ms[j].ID] {
					t.Fatalf("policy %d: decoy out of order: %v", required, methodIDs(ms))
				}
			}
			// The app comes with both its methods, as for a real account.
			if hasMethod(ms, flow.PushApp) != hasMethod(ms, flow.TOTPApp) {
				t.Fatalf("policy %d: decoy %v", required, methodIDs(ms))
			}
		}
	}
}

func TestDecoysDiffer(t *testing.T) {
	r := newRig(t)
	lists, hints := map[string]bool{}, map[string]bool{}
	for i := 0; i < 100; i++ {
		ms := r.identified(fmt.Sprintf("user%03d", i)).Methods()
		lists[fmt.Sprint(methodIDs(ms))] = true
		hints[ms[0].Hint] = true
	}
	if len(lists) < 3 || len(hints) < 30 {
		t.Fatalf("decoys hardly vary: %d lists, %d hints over 100 logins", len(lists), len(hints))
	}
}

// No verification ever succeeds for a decoy, and nothing is sent for it.
func TestDecoyNeverVerifies(t *testing.T) {
	for _, login := range noAccount {
		t.Run(login, func(t *testing.T) {
			r := newRig(t, shortApproval, func(c *flow.Config) { c.MaxFailures = 100; c.Limits.Failures = 100 })
			for _, m := range r.identified(login).Methods() {
				s := r.identified(login)
				mustOK(t, s.Choose(bg, m.ID))
				switch m.ID {
				case flow.TextMobile, flow.CallMobile, flow.CallOffice:
					for _, typed := range []string{aliceMobile, "+15550100099"} {
						mustReason(t, s.ConfirmNumber(bg, typed), flow.ReasonNumberMismatch)
					}
					mustReason(t, s.ConfirmNumber(bg, "555-010-0013"), flow.ReasonTooManyAttempts)
				case flow.TOTPApp:
					for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
						mustReason(t, s.SubmitCode(bg, totpCode(t, r.clock.Now().Add(d))), flow.ReasonCodeWrong)
					}
				case flow.EmailAltern:
					mustStep(t, s, flow.StepEnterCode)
					for i := 0; i < 4; i++ {
						mustReason(t, s.SubmitCode(bg, fmt.Sprintf("%08d", i)), flow.ReasonCodeWrong)
					}
					mustReason(t, s.SubmitCode(bg, "99999999"), flow.ReasonTooManyAttempts)
				case flow.PushApp:
					mustStep(t, s, flow.StepWaiting)
					if s.State().Show == "" {
						t.Fatal("a decoy push shows no number")
					}
					mustReason(t, s.Wait(bg), flow.ReasonApprovalTimeout)
				}
				if st := s.State().Step; st == flow.StepSetPassword || st == flow.StepDone {
					t.Fatalf("decoy reached %s", st)
				}
			}
			if n := r.sends(); n != 0 {
				t.Fatalf("%d sends for a decoy", n)
			}
			if len(r.dir.Sets()) != 0 {
				t.Fatal("directory written")
			}
		})
	}
}

// A decoy's refusals read exactly like a real account's.
func TestDecoyMessagesMatchReal(t *testing.T) {
	r := newRig(t)
	real, code := r.atCode("alice", flow.EmailAltern)
	decoy := r.identified("zed@example.com")
	if !hasMethod(decoy.Methods(), flow.EmailAltern) {
		// Pick a login whose decoy offers email.
		for i := 0; ; i++ {
			decoy = r.identified(fmt.Sprintf("zed%d@example.com", i))
			if hasMethod(decoy.Methods(), flow.EmailAltern) {
				break
			}
		}
	}
	mustOK(t, decoy.Choose(bg, flow.EmailAltern))
	bad := otherCode(code)
	for i := 0; i < 5; i++ {
		e1, e2 := real.SubmitCode(bg, bad), decoy.SubmitCode(bg, bad)
		f1, f2 := e1.(*flow.Error), e2.(*flow.Error)
		if f1.Reason != f2.Reason || f1.Message != f2.Message || f1.Final != f2.Final {
			t.Fatalf("try %d: real %+v, decoy %+v", i, f1, f2)
		}
	}
	if real.State().Step != decoy.State().Step {
		t.Fatal("steps differ")
	}
}
