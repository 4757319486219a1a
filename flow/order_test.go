package flow_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// state builds a session of alice standing on one step.
type state struct {
	name  string
	step  flow.Step
	build func(r *rig) *flow.Session
}

var states = []state{
	{"identify", flow.StepIdentify, func(r *rig) *flow.Session { return r.begin() }},
	{"choose", flow.StepChooseMethod, func(r *rig) *flow.Session { return r.identified("alice") }},
	{"confirm number", flow.StepConfirmNumber, func(r *rig) *flow.Session {
		s := r.identified("alice")
		mustOK(r.t, s.Choose(bg, flow.TextMobile))
		return s
	}},
	{"enter code", flow.StepEnterCode, func(r *rig) *flow.Session {
		s, _ := r.atCode("alice", flow.TextMobile)
		return s
	}},
	{"enter totp", flow.StepEnterCode, func(r *rig) *flow.Session {
		s := r.identified("alice")
		mustOK(r.t, s.Choose(bg, flow.TOTPApp))
		return s
	}},
	{"waiting", flow.StepWaiting, func(r *rig) *flow.Session {
		s, _ := r.waiting(flow.PushApp)
		return s
	}},
	{"set password", flow.StepSetPassword, func(r *rig) *flow.Session { return r.verified() }},
	{"done", flow.StepDone, func(r *rig) *flow.Session {
		s := r.verified()
		mustOK(r.t, s.SetPassword(bg, goodPass, goodPass))
		return s
	}},
	{"cancelled", flow.StepClosed, func(r *rig) *flow.Session {
		s := r.identified("alice")
		s.Cancel()
		return s
	}},
	{"cancelled after verification", flow.StepClosed, func(r *rig) *flow.Session {
		s := r.verified()
		s.Cancel()
		return s
	}},
	{"decoy choose", flow.StepChooseMethod, func(r *rig) *flow.Session { return r.identified("zed") }},
}

// call is one entry point of a Session, and the steps where it belongs.
type call struct {
	name    string
	allowed []flow.Step
	do      func(r *rig, s *flow.Session) error
}

var calls = []call{
	{"Identify", []flow.Step{flow.StepIdentify}, func(r *rig, s *flow.Session) error {
		return s.Identify(bg, "erin", flow.CaptchaAnswer(s))
	}},
	{"ReloadCaptcha", []flow.Step{flow.StepIdentify}, func(r *rig, s *flow.Session) error { return s.ReloadCaptcha() }},
	{"Choose", []flow.Step{flow.StepChooseMethod}, func(r *rig, s *flow.Session) error { return s.Choose(bg, flow.TOTPApp) }},
	{"ConfirmNumber", []flow.Step{flow.StepConfirmNumber}, func(r *rig, s *flow.Session) error {
		return s.ConfirmNumber(bg, aliceMobile)
	}},
	{"SubmitCode", []flow.Step{flow.StepEnterCode}, func(r *rig, s *flow.Session) error {
		return s.SubmitCode(bg, totpCode(r.t, r.clock.Now()))
	}},
	{"Resend", []flow.Step{flow.StepEnterCode}, func(r *rig, s *flow.Session) error { return s.Resend(bg) }},
	{"Wait", []flow.Step{flow.StepWaiting}, func(r *rig, s *flow.Session) error { return s.Wait(bg) }},
	{"Back", []flow.Step{flow.StepConfirmNumber, flow.StepEnterCode, flow.StepWaiting}, func(r *rig, s *flow.Session) error {
		return s.Back()
	}},
	{"SetPassword", []flow.Step{flow.StepSetPassword}, func(r *rig, s *flow.Session) error {
		return s.SetPassword(bg, goodPass, goodPass)
	}},
}

// TestOutOfOrder calls every entry point in every step where it does not
// belong: each is refused and changes nothing, and nothing is sent or written.
func TestOutOfOrder(t *testing.T) {
	for _, st := range states {
		for _, c := range calls {
			allowed := false
			for _, a := range c.allowed {
				allowed = allowed || a == st.step
			}
			if allowed {
				continue
			}
			t.Run(st.name+"/"+c.name, func(t *testing.T) {
				r := newRig(t)
				s := st.build(r)
				mustStep(t, s, st.step)
				before, methods := s.State(), s.Methods()
				sends, writes := r.sends(), len(r.dir.Sets())
				lookups, failures := r.dir.Lookups(), flow.Failures(s)

				mustReason(t, c.do(r, s), flow.ReasonOutOfOrder)

				if after := s.State(); !reflect.DeepEqual(before, after) {
					t.Errorf("state changed:\n%+v\n%+v", before, after)
				}
				if !reflect.DeepEqual(methods, s.Methods()) {
					t.Error("methods changed")
				}
				if r.sends() != sends || len(r.dir.Sets()) != writes || r.dir.Lookups() != lookups {
					t.Error("sent, wrote or looked up")
				}
				if flow.Failures(s) != failures {
					t.Error("counted a failure")
				}
			})
		}
	}
}

// TestNoWriteWithoutVerification tries SetPassword at every step short of
// the password step, for a known and for an unknown login.
func TestNoWriteWithoutVerification(t *testing.T) {
	for _, login := range []string{"alice", "zed", "carol", "frank"} {
		r := newRig(t)
		s := r.begin()
		try := func() {
			t.Helper()
			mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonOutOfOrder)
		}
		try()
		mustOK(t, s.Identify(bg, login, ""))
		try()
		for _, m := range s.Methods() {
			if m.ID == flow.PushApp || m.ID == flow.CallMobile || m.ID == flow.CallOffice {
				continue
			}
			r.clock.Advance(61 * time.Second)
			if err := s.Choose(bg, m.ID); err != nil {
				continue
			}
			try()
			if s.State().Step == flow.StepConfirmNumber {
				_ = s.ConfirmNumber(bg, aliceMobile)
				try()
			}
			if s.State().Step == flow.StepEnterCode {
				_ = s.SubmitCode(bg, "12345678")
				try()
			}
			if s.State().Step != flow.StepChooseMethod {
				_ = s.Back()
			}
		}
		if len(r.dir.Sets()) != 0 {
			t.Fatalf("%s: directory written", login)
		}
	}
}
