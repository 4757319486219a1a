package flow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

func shortApproval(c *flow.Config) { c.ApprovalTTL = 150 * time.Millisecond }

// waiting returns alice's session waiting on a call or a push, and the
// delivery that started it.
func (r *rig) waiting(m flow.MethodID) (*flow.Session, flow.Delivery) {
	r.t.Helper()
	s := r.identified("alice")
	mustOK(r.t, s.Choose(bg, m))
	var d flow.Delivery
	switch m {
	case flow.CallMobile:
		mustOK(r.t, s.ConfirmNumber(bg, aliceMobile))
		d = r.voice.Last(r.t)
	case flow.CallOffice:
		mustOK(r.t, s.ConfirmNumber(bg, aliceOffice))
		d = r.voice.Last(r.t)
	case flow.PushApp:
		d = r.push.Last(r.t)
	}
	mustStep(r.t, s, flow.StepWaiting)
	return s, d
}

func TestApprovalDeliveries(t *testing.T) {
	r := newRig(t)
	s, d := r.waiting(flow.PushApp)
	show := s.State().Show
	if len(d.Token) != 32 || d.To != "alice" || d.SessionID != s.ID() {
		t.Fatalf("push %+v", d)
	}
	if len(d.Choices) != 3 || !slices.Contains(d.Choices, show) {
		t.Fatalf("choices %v, screen shows %q", d.Choices, show)
	}
	seen := map[string]bool{}
	for _, c := range d.Choices {
		if len(c) != 2 || c < "10" || c > "99" || seen[c] {
			t.Fatalf("choices %v", d.Choices)
		}
		seen[c] = true
	}

	c, call := r.waiting(flow.CallOffice)
	if call.To != aliceOffice || len(call.Choices) != 0 {
		t.Fatalf("call %+v", call)
	}
	if n := c.State().Show; len(n) != 2 || strings.Contains(call.Text, n) {
		t.Fatalf("number %q must be on the screen only, call says %q", n, call.Text)
	}
}

func TestApprovals(t *testing.T) {
	methods := []flow.MethodID{flow.CallMobile, flow.CallOffice, flow.PushApp}
	tests := []struct {
		name string
		cfg  func(*flow.Config)
		run  func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery)
	}{
		{"right number verifies", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			mustOK(t, r.eng.Approve(bg, d.Token, s.State().Show))
			mustOK(t, s.Wait(bg))
			// alice has an app: on to her second step.
			mustStep(t, s, flow.StepChooseMethod)
			if st := s.State(); st.Verification != 2 {
				t.Fatalf("verification %d", st.Verification)
			}
			if err := r.eng.Approve(bg, d.Token, s.State().Show); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("second answer: %v", err)
			}
		}},
		{"answer while waiting", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			show := s.State().Show
			go func() {
				time.Sleep(20 * time.Millisecond)
				_ = r.eng.Approve(bg, d.Token, show)
			}()
			mustOK(t, s.Wait(bg))
		}},
		{"wrong number fails", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			wrong := "10"
			if s.State().Show == wrong {
				wrong = "11"
			}
			mustOK(t, r.eng.Approve(bg, d.Token, wrong))
			mustReason(t, s.Wait(bg), flow.ReasonApprovalWrong)
			mustStep(t, s, flow.StepChooseMethod)
			if flow.Failures(s) != 1 {
				t.Fatalf("failures %d", flow.Failures(s))
			}
			if st := s.State(); st.Show != "" {
				t.Fatalf("number still shown: %q", st.Show)
			}
		}},
		{"bare approval without a number fails", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			mustOK(t, r.eng.Approve(bg, d.Token, ""))
			mustReason(t, s.Wait(bg), flow.ReasonApprovalWrong)
		}},
		{"no answer times out", shortApproval, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			start := time.Now()
			mustReason(t, s.Wait(bg), flow.ReasonApprovalTimeout)
			if time.Since(start) > 5*time.Second {
				t.Fatal("waited far beyond the approval lifetime")
			}
			mustStep(t, s, flow.StepChooseMethod)
			if err := r.eng.Approve(bg, d.Token, s.State().Show); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("late answer: %v", err)
			}
			if flow.Failures(s) != 1 {
				t.Fatal("a timeout is a failed try")
			}
		}},
		{"an answer after expiry is refused", shortApproval, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			show := s.State().Show
			time.Sleep(200 * time.Millisecond)
			if err := r.eng.Approve(bg, d.Token, show); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("late answer: %v", err)
			}
			mustReason(t, s.Wait(bg), flow.ReasonApprovalTimeout)
		}},
		{"cancel voids the pending approval", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			show := s.State().Show
			s.Cancel()
			if err := r.eng.Approve(bg, d.Token, show); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("approve after cancel: %v", err)
			}
			mustReason(t, s.Wait(bg), flow.ReasonOutOfOrder)
			mustStep(t, s, flow.StepClosed)
		}},
		{"cancel ends a running wait", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			show := s.State().Show
			errc := make(chan error, 1)
			go func() { errc <- s.Wait(bg) }()
			time.Sleep(20 * time.Millisecond)
			s.Cancel()
			select {
			case err := <-errc:
				mustReason(t, err, flow.ReasonOutOfOrder)
			case <-time.After(5 * time.Second):
				t.Fatal("Wait still blocked after Cancel")
			}
			if err := r.eng.Approve(bg, d.Token, show); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("approve after cancel: %v", err)
			}
		}},
		{"a cancelled context leaves the approval pending", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			if err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("wait: %v", err)
			}
			mustStep(t, s, flow.StepWaiting)
			mustOK(t, r.eng.Approve(bg, d.Token, s.State().Show))
			mustOK(t, s.Wait(bg))
		}},
		{"unknown tokens", nil, func(t *testing.T, r *rig, s *flow.Session, d flow.Delivery) {
			for _, tok := range []string{"", "short", strings.Repeat("0", 32), d.Token + "x"} {
				if err := r.eng.Approve(bg, tok, s.State().Show); !errors.Is(err, flow.ErrNoApproval) {
					t.Fatalf("token %q: %v", tok, err)
				}
			}
			mustStep(t, s, flow.StepWaiting)
		}},
	}
	for _, m := range methods {
		for _, tc := range tests {
			t.Run(string(m)+"/"+tc.name, func(t *testing.T) {
				var r *rig
				if tc.cfg != nil {
					r = newRig(t, tc.cfg)
				} else {
					r = newRig(t)
				}
				s, d := r.waiting(m)
				tc.run(t, r, s, d)
			})
		}
	}
}

// A second call or push right after a failed one waits for the cooldown:
// no flood of prompts to the person's phone.
func TestApprovalCooldown(t *testing.T) {
	r := newRig(t)
	s, d := r.waiting(flow.PushApp)
	mustOK(t, r.eng.Approve(bg, d.Token, "00"))
	mustReason(t, s.Wait(bg), flow.ReasonApprovalWrong)
	mustReason(t, s.Choose(bg, flow.PushApp), flow.ReasonCooldown)
	if r.push.Len() != 1 {
		t.Fatalf("%d pushes", r.push.Len())
	}
	r.clock.Advance(61 * time.Second)
	mustOK(t, s.Choose(bg, flow.PushApp))
	if r.push.Len() != 2 {
		t.Fatalf("%d pushes", r.push.Len())
	}
}

// TestApprovalUnreachable: a provider that could not reach the phone or the
// app (no answer, busy, a machine) ends the wait at once with "we couldn't
// reach you", back on the method list, and the try counts as failed, as an
// unanswered call must.
func TestApprovalUnreachable(t *testing.T) {
	r := newRig(t)
	s, d := r.waiting(flow.CallMobile)
	mustOK(t, r.eng.Approve(bg, d.Token, flow.AnswerUnreachable))
	fe := mustReason(t, s.Wait(bg), flow.ReasonApprovalTimeout)
	if fe.Final || !strings.Contains(fe.Message, "couldn't reach") {
		t.Fatalf("error %+v", fe)
	}
	mustStep(t, s, flow.StepChooseMethod)
	if !strings.Contains(r.audit.String(), `"step":"verify","result":"refused","reason":"approval_timeout"`) {
		t.Fatalf("the unanswered call was not counted as a failed try:\n%s", r.audit)
	}
}
