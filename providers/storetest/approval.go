package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// resolveLater answers tok on st after d and reports the outcome on the
// returned channel.
func resolveLater(t *testing.T, st flow.Store, tok, answer string, d time.Duration) <-chan error {
	errc := make(chan error, 1)
	c := ctx(t)
	go func() {
		time.Sleep(d)
		errc <- st.ResolveApproval(c, tok, answer)
	}()
	return errc
}

// await waits for tok on st and reports the outcome on the returned channel.
func await(t *testing.T, st flow.Store, tok string) <-chan result {
	res := make(chan result, 1)
	c := ctx(t)
	go func() {
		answer, err := st.AwaitApproval(c, tok)
		res <- result{answer, err}
	}()
	return res
}

type result struct {
	answer string
	err    error
}

// gone checks that tok can be neither awaited nor answered any more.
func gone(t *testing.T, st flow.Store, tok string) {
	t.Helper()
	start := time.Now()
	if answer, err := st.AwaitApproval(ctx(t), tok); !errors.Is(err, flow.ErrNoApproval) {
		t.Errorf("AwaitApproval of a spent token = %q, %v; want ErrNoApproval", answer, err)
	}
	between(t, "AwaitApproval of a spent token took", time.Since(start), 0, prompt)
	if err := st.ResolveApproval(ctx(t), tok, "late"); !errors.Is(err, flow.ErrNoApproval) {
		t.Errorf("ResolveApproval of a spent token = %v, want ErrNoApproval", err)
	}
}

func (s *suite) approvalTests() []test {
	return []test{
		{"AnswerReachesWaiter", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			errc := resolveLater(t, st, tok, "42", 50*time.Millisecond)
			start := time.Now()
			answer, err := st.AwaitApproval(ctx(t), tok)
			if err != nil || answer != "42" {
				t.Fatalf("AwaitApproval = %q, %v; want 42", answer, err)
			}
			between(t, "AwaitApproval took", time.Since(start), 40*time.Millisecond, prompt)
			must(t, "ResolveApproval", <-errc)
			gone(t, st, tok)
		}},
		{"AnsweredBeforeAwait", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			must(t, "ResolveApproval", st.ResolveApproval(ctx(t), tok, "7"))
			if answer, err := st.AwaitApproval(ctx(t), tok); err != nil || answer != "7" {
				t.Fatalf("AwaitApproval = %q, %v; want 7", answer, err)
			}
			gone(t, st, tok)
		}},
		{"ResolveOnce", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			must(t, "first ResolveApproval", st.ResolveApproval(ctx(t), tok, "first"))
			if err := st.ResolveApproval(ctx(t), tok, "second"); !errors.Is(err, flow.ErrNoApproval) {
				t.Errorf("second ResolveApproval = %v, want ErrNoApproval", err)
			}
			if answer, err := st.AwaitApproval(ctx(t), tok); err != nil || answer != "first" {
				t.Fatalf("AwaitApproval = %q, %v; want the first answer", answer, err)
			}
		}},
		{"AnswerKeptAsGiven", func(t *testing.T) {
			st := s.newStore(t)
			for i, answer := range []string{"", "p", "a", "pending", "1 2 3", "ünï\x00côde", "line\nbreak"} {
				tok := key(t, string(rune('a'+i)))
				must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
				must(t, "ResolveApproval", st.ResolveApproval(ctx(t), tok, answer))
				if got, err := st.AwaitApproval(ctx(t), tok); err != nil || got != answer {
					t.Errorf("AwaitApproval = %q, %v; want %q", got, err, answer)
				}
			}
		}},
		{"UnknownToken", func(t *testing.T) {
			st := s.newStore(t)
			gone(t, st, key(t, "never-created"))
			must(t, "DeleteApproval of an unknown token", st.DeleteApproval(ctx(t), key(t, "never-created")))
		}},
		{"Expires", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			const ttl = 300 * time.Millisecond
			start := time.Now()
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, ttl))
			if answer, err := st.AwaitApproval(ctx(t), tok); !errors.Is(err, flow.ErrNoApproval) {
				t.Fatalf("AwaitApproval of an approval nobody answers = %q, %v; want ErrNoApproval", answer, err)
			}
			between(t, "AwaitApproval until expiry took", time.Since(start), ttl-50*time.Millisecond, ttl+2*time.Second)
			gone(t, st, tok)
		}},
		{"ResolveAfterExpiry", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 150*time.Millisecond))
			sleepUntil(time.Now(), 300*time.Millisecond)
			if err := st.ResolveApproval(ctx(t), tok, "late"); !errors.Is(err, flow.ErrNoApproval) {
				t.Errorf("ResolveApproval after expiry = %v, want ErrNoApproval", err)
			}
			gone(t, st, tok)
		}},
		{"DeleteVoids", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "waited")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			res := await(t, st, tok)
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			must(t, "DeleteApproval", st.DeleteApproval(ctx(t), tok))
			r := <-res
			if !errors.Is(r.err, flow.ErrNoApproval) {
				t.Errorf("AwaitApproval of a deleted approval = %q, %v; want ErrNoApproval", r.answer, r.err)
			}
			between(t, "AwaitApproval after DeleteApproval took", time.Since(start), 0, prompt)
			gone(t, st, tok)

			tok = key(t, "not-waited")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			must(t, "DeleteApproval", st.DeleteApproval(ctx(t), tok))
			gone(t, st, tok)
		}},
		{"ContextEnds", func(t *testing.T) {
			st := s.newStore(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", st.CreateApproval(ctx(t), tok, 5*time.Second))
			c, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			if answer, err := st.AwaitApproval(c, tok); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("AwaitApproval past its deadline = %q, %v; want context.DeadlineExceeded", answer, err)
			}
			between(t, "AwaitApproval with a deadline took", time.Since(start), 100*time.Millisecond, prompt)

			c, cancel = context.WithCancel(context.Background())
			cancel()
			if answer, err := st.AwaitApproval(c, tok); !errors.Is(err, context.Canceled) {
				t.Errorf("AwaitApproval with a cancelled context = %q, %v; want context.Canceled", answer, err)
			}
			// The approval is still there for a later waiter.
			must(t, "ResolveApproval", st.ResolveApproval(ctx(t), tok, "yes"))
			if answer, err := st.AwaitApproval(ctx(t), tok); err != nil || answer != "yes" {
				t.Errorf("AwaitApproval = %q, %v; want yes", answer, err)
			}
		}},
		{"AcrossInstances", func(t *testing.T) {
			// A call or push is waited for on one instance and answered by a
			// webhook that lands on the other.
			a, b := s.pair(t)
			tok := key(t, "waiting")
			must(t, "CreateApproval", a.CreateApproval(ctx(t), tok, 5*time.Second))
			res := await(t, a, tok)
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			must(t, "ResolveApproval on the other instance", b.ResolveApproval(ctx(t), tok, "a-to-b"))
			if r := <-res; r.err != nil || r.answer != "a-to-b" {
				t.Errorf("AwaitApproval = %q, %v; want the answer given on the other instance", r.answer, r.err)
			}
			between(t, "AwaitApproval after the answer took", time.Since(start), 0, prompt)
			gone(t, b, tok)

			tok = key(t, "answered")
			must(t, "CreateApproval", a.CreateApproval(ctx(t), tok, 5*time.Second))
			must(t, "ResolveApproval on the other instance", b.ResolveApproval(ctx(t), tok, "b"))
			if answer, err := a.AwaitApproval(ctx(t), tok); err != nil || answer != "b" {
				t.Errorf("AwaitApproval = %q, %v; want b", answer, err)
			}

			tok = key(t, "voided")
			must(t, "CreateApproval", a.CreateApproval(ctx(t), tok, 5*time.Second))
			res = await(t, a, tok)
			time.Sleep(100 * time.Millisecond)
			must(t, "DeleteApproval on the other instance", b.DeleteApproval(ctx(t), tok))
			if r := <-res; !errors.Is(r.err, flow.ErrNoApproval) {
				t.Errorf("AwaitApproval of an approval voided on the other instance = %q, %v; want ErrNoApproval", r.answer, r.err)
			}
		}},
	}
}
