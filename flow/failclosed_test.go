package flow_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// TestStoreFailsClosed: whenever the Store does not answer, the step is
// refused as unavailable, nothing is sent and nothing verifies, the
// session stays where it was, and the same call works once the Store is
// back. Each step is tried with the whole Store down, then with each
// Store operation it uses failing alone.
func TestStoreFailsClosed(t *testing.T) {
	const msg = "The service is temporarily unavailable. Please try again in a few minutes."
	r := newRig(t)
	// down makes call fail once per outage in outages ("" is the whole
	// Store) and checks that nothing changed.
	down := func(s *flow.Session, call func() error, ops ...string) {
		t.Helper()
		for _, op := range append([]string{""}, ops...) {
			var before flow.State
			var methods []flow.Method
			var failures int
			if s != nil {
				before, methods, failures = s.State(), s.Methods(), flow.Failures(s)
			}
			sends, lookups := r.sends(), r.dir.Lookups()
			if op == "" {
				r.store.Down(true)
			} else {
				r.store.DownOn(op)
			}
			err := call()
			r.store.Down(false)
			fe := mustReason(t, err, flow.ReasonUnavailable)
			if fe.Message != msg {
				t.Fatalf("%s down: message %q", op, fe.Message)
			}
			if r.sends() != sends {
				t.Fatalf("%s down: sent", op)
			}
			if s == nil {
				continue
			}
			if fe.Final {
				t.Fatalf("%s down: the session ended", op)
			}
			after := s.State()
			if after.Step == flow.StepIdentify {
				before.Login, after.Login = "", "" // the login as typed is kept for the log
				if r.dir.Lookups() != lookups && op != "Held" {
					t.Fatalf("%s down: the directory was asked", op)
				}
			}
			if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(methods, s.Methods()) {
				t.Fatalf("%s down: state changed:\n%+v\n%+v", op, before, after)
			}
			if flow.Failures(s) != failures {
				t.Fatalf("%s down: a failure was counted", op)
			}
		}
	}

	// Begin: no session.
	down(nil, func() error {
		_, err := r.eng.Begin(bg, flow.Origin{Channel: flow.Local})
		return err
	}, "Take")
	// Identify, for a known and an unknown login.
	for _, login := range []string{"alice", "zed"} {
		x := r.begin()
		down(x, func() error { return x.Identify(bg, login, "") }, "Take", "Held")
		mustOK(t, x.Identify(bg, login, ""))
	}
	s := r.identified("alice")

	// A send: nothing goes out, and no cooldown is left behind.
	down(s, func() error { return s.Choose(bg, flow.EmailAltern) }, "Held", "Take")
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	code := codeIn(t, r.email.Last(t))

	// A code: not checked, not counted; the right one works after.
	down(s, func() error { return s.SubmitCode(bg, otherCode(code)) }, "Held", "Add")
	down(s, func() error { return s.SubmitCode(bg, code) }, "Held", "Add")
	if n := flow.CodeAttempts(s, flow.EmailAltern); n != 0 {
		t.Fatalf("attempts %d", n)
	}
	mustOK(t, s.SubmitCode(bg, code))

	// An authenticator code: the replay cache too.
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	down(s, func() error { return s.SubmitCode(bg, totpCode(t, r.clock.Now())) }, "Held", "Add", "UseOnce")
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustStep(t, s, flow.StepSetPassword)

	// A phone number, for a known and an unknown login.
	for _, login := range []string{"alice", "zed"} {
		x := r.identified(login)
		mustOK(t, x.Choose(bg, flow.CallMobile))
		down(x, func() error { return x.ConfirmNumber(bg, "+15550109999") }, "Held", "Add")
		if login == "alice" {
			down(x, func() error { return x.ConfirmNumber(bg, aliceMobile) }, "Held", "Take", "CreateApproval")
		}
	}

	// A push.
	p := r.identified("alice")
	down(p, func() error { return p.Choose(bg, flow.PushApp) }, "Held", "Take", "CreateApproval")
	mustOK(t, p.Choose(bg, flow.PushApp))

	if !strings.Contains(r.audit.String(), `"store failed"`) {
		t.Fatal("store failures not logged")
	}
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
}
