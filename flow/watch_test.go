package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// watch runs WatchDelivery in the background.
func watch(s *flow.Session) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.WatchDelivery(ctx) }()
	return cancel, errc
}

func within(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("WatchDelivery did not return")
		return nil
	}
}

// TestWatchDelivery: a text the provider reports undelivered ends the code
// step: the code stops working, the person is back on the method list with
// "we couldn't reach you", and it is not a failed try.
func TestWatchDelivery(t *testing.T) {
	t.Run("undelivered", func(t *testing.T) {
		r := newRig(t)
		s, code := r.atCode("alice", flow.TextMobile)
		d := r.sms.Last(t)
		if len(d.Token) != 32 {
			t.Fatalf("the text has no watch: %+v", d)
		}
		cancel, errc := watch(s)
		defer cancel()
		mustOK(t, r.eng.Approve(bg, d.Token, flow.AnswerUnreachable))
		fe := mustReason(t, within(t, errc), flow.ReasonUnavailable)
		if fe.Final || fe.Message == "" {
			t.Fatalf("error %+v", fe)
		}
		mustStep(t, s, flow.StepChooseMethod)
		mustReason(t, s.SubmitCode(bg, code), flow.ReasonOutOfOrder)
		if r.audit.String() == "" || containsAny(r.audit.String(), `"reason":"code_wrong"`) != "" {
			t.Fatalf("counted as a failed try:\n%s", r.audit)
		}
	})
	t.Run("a resent code is watched in turn", func(t *testing.T) {
		r := newRig(t)
		s, _ := r.atCode("alice", flow.TextMobile)
		first := r.sms.Last(t).Token
		cancel, errc := watch(s)
		defer cancel()
		r.clock.Advance(61 * time.Second)
		mustOK(t, s.Resend(bg))
		second := r.sms.Last(t).Token
		if second == first || len(second) != 32 {
			t.Fatalf("watch tokens %q then %q", first, second)
		}
		if err := r.eng.Approve(bg, first, flow.AnswerUnreachable); !errors.Is(err, flow.ErrNoApproval) {
			t.Fatalf("the first text's watch still open: %v", err)
		}
		mustOK(t, r.eng.Approve(bg, second, flow.AnswerUnreachable))
		mustReason(t, within(t, errc), flow.ReasonUnavailable)
	})
	t.Run("a verified code ends the watch", func(t *testing.T) {
		r := newRig(t)
		s, code := r.atCode("alice", flow.TextMobile)
		d := r.sms.Last(t)
		cancel, errc := watch(s)
		mustOK(t, s.SubmitCode(bg, code))
		if err := r.eng.Approve(bg, d.Token, flow.AnswerUnreachable); !errors.Is(err, flow.ErrNoApproval) {
			t.Fatalf("the watch outlived the code: %v", err)
		}
		select {
		case err := <-errc:
			t.Fatalf("WatchDelivery returned %v before its context ended", err)
		case <-time.After(100 * time.Millisecond):
		}
		cancel()
		if err := within(t, errc); !errors.Is(err, context.Canceled) {
			t.Fatalf("WatchDelivery: %v", err)
		}
		if st := s.State().Step; st == flow.StepChooseMethod && s.State().Verification == 1 {
			t.Fatalf("the session went back: %+v", s.State())
		}
	})
	t.Run("email has no watch", func(t *testing.T) {
		r := newRig(t)
		r.atCode("alice", flow.EmailAltern)
		if tok := r.email.Last(t).Token; tok != "" {
			t.Fatalf("an email carries a watch %q", tok)
		}
	})
}
