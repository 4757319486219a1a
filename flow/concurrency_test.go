package flow_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// parallel runs f n times at once, released together, and collects errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func countOK(errs []error) int {
	n := 0
	for _, e := range errs {
		if e == nil {
			n++
		}
	}
	return n
}

func TestParallelRightCodes(t *testing.T) {
	r := newRig(t)
	s, code := r.atCode("alice", flow.EmailAltern)
	errs := parallel(50, func(int) error { return s.SubmitCode(bg, code) })
	if n := countOK(errs); n != 1 {
		t.Fatalf("%d of 50 parallel right codes verified, want exactly 1", n)
	}
	for _, e := range errs {
		if e != nil && flow.ReasonOf(e) != flow.ReasonOutOfOrder {
			t.Fatalf("loser got %v", e)
		}
	}
	if st := s.State(); st.Step != flow.StepChooseMethod || st.Verification != 2 {
		t.Fatalf("state %+v: want the second verification", st)
	}
}

func TestParallelRightTOTP(t *testing.T) {
	r := newRig(t)
	code := totpCode(t, r.clock.Now())
	// Twenty sessions of one account race with one authenticator code.
	var ss []*flow.Session
	for i := 0; i < 20; i++ {
		s := r.identified("alice")
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		ss = append(ss, s)
	}
	errs := parallel(len(ss), func(i int) error { return ss[i].SubmitCode(bg, code) })
	if n := countOK(errs); n != 1 {
		t.Fatalf("%d sessions accepted one TOTP code", n)
	}
}

func TestParallelWrongCodes(t *testing.T) {
	r := newRig(t)
	s, code := r.atCode("alice", flow.EmailAltern)
	errs := parallel(50, func(int) error { return s.SubmitCode(bg, otherCode(code)) })
	byReason := map[flow.Reason]int{}
	for _, e := range errs {
		byReason[flow.ReasonOf(e)]++
	}
	// The fifth wrong code ends the code and, being the account's fifth
	// failure of the method within the hour, suspends the account.
	want := map[flow.Reason]int{flow.ReasonCodeWrong: 4, flow.ReasonSuspended: 1, flow.ReasonOutOfOrder: 45}
	if fmt.Sprint(byReason) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", byReason, want)
	}
	if n := flow.CodeAttempts(s, flow.EmailAltern); n != 5 {
		t.Fatalf("attempts %d", n)
	}
	if n := flow.Failures(s); n != 5 {
		t.Fatalf("failures %d", n)
	}
}

func TestParallelApprove(t *testing.T) {
	r := newRig(t)
	s, d := r.waiting(flow.PushApp)
	show := s.State().Show
	errs := parallel(50, func(int) error { return r.eng.Approve(bg, d.Token, show) })
	if n := countOK(errs); n != 1 {
		t.Fatalf("%d approvals accepted", n)
	}
	for _, e := range errs {
		if e != nil && !errors.Is(e, flow.ErrNoApproval) {
			t.Fatal(e)
		}
	}
	mustOK(t, s.Wait(bg))
}

// Different answers race: whichever lands first decides, once.
func TestParallelApproveMixed(t *testing.T) {
	for round := 0; round < 20; round++ {
		r := newRig(t)
		s, d := r.waiting(flow.PushApp)
		show := s.State().Show
		answers := append([]string(nil), d.Choices...)
		errs := parallel(len(answers), func(i int) error { return r.eng.Approve(bg, d.Token, answers[i]) })
		if countOK(errs) != 1 {
			t.Fatalf("round %d: %d answers accepted", round, countOK(errs))
		}
		err := s.Wait(bg)
		var winner string
		for i, e := range errs {
			if e == nil {
				winner = answers[i]
			}
		}
		if (winner == show) != (err == nil) {
			t.Fatalf("round %d: winning answer %q, shown %q, wait %v", round, winner, show, err)
		}
	}
}

func TestParallelWaits(t *testing.T) {
	r := newRig(t)
	s, d := r.waiting(flow.CallMobile)
	show := s.State().Show
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := s.Wait(bg); {
			case err == nil:
				ok.Add(1)
			case flow.ReasonOf(err) == flow.ReasonOutOfOrder:
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	mustOK(t, r.eng.Approve(bg, d.Token, show))
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 9 {
		t.Fatalf("%d verified, %d refused", ok.Load(), refused.Load())
	}
}

func TestParallelSetPassword(t *testing.T) {
	r := newRig(t)
	s := r.verified()
	errs := parallel(20, func(int) error { return s.SetPassword(bg, goodPass, goodPass) })
	if countOK(errs) != 1 || len(r.dir.Sets()) != 1 {
		t.Fatalf("%d successes, %d writes", countOK(errs), len(r.dir.Sets()))
	}
}

// Many people at once on one engine; run with -race.
func TestParallelSessions(t *testing.T) {
	r := newRig(t, func(c *flow.Config) { c.Limits.Failures = 100 })
	errs := parallel(40, func(i int) error {
		s := r.begin()
		login := "alice"
		if i%2 == 1 {
			login = fmt.Sprintf("ghost%d", i)
		}
		if err := s.Identify(bg, login, ""); err != nil {
			return err
		}
		_ = s.Methods()
		_ = s.State()
		_ = s.Check(goodPass, goodPass)
		if hasMethod(s.Methods(), flow.TOTPApp) {
			if err := s.Choose(bg, flow.TOTPApp); err != nil {
				return err
			}
			_ = s.SubmitCode(bg, "000000")
		}
		s.Cancel()
		return nil
	})
	for _, e := range errs {
		mustOK(t, e)
	}
}
