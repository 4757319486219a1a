package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// racers is how many goroutines race in each test, half on each instance.
const racers = 50

// race runs f once in each of racers goroutines, released together, the
// even ones on a and the odd ones on b, and waits for them all.
func race(t *testing.T, a, b flow.Store, f func(c context.Context, i int, st flow.Store)) {
	c := ctx(t)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		st := a
		if i%2 == 1 {
			st = b
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(c, i, st)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func (s *suite) raceTests() []test {
	return []test{
		{"Take", func(t *testing.T) {
			// Parallel guesses on two instances must not slip past a limit.
			a, b := s.pair(t)
			const limit, rounds = 5, 10
			most := 0
			for round := range rounds {
				k := key(t, fmt.Sprint(round))
				var mu sync.Mutex
				taken := 0
				var errs []error
				race(t, a, b, func(c context.Context, _ int, st flow.Store) {
					ok, retry, err := st.Take(c, k, limit, 10*time.Second)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case ok:
						taken++
					case retry <= 0:
						errs = append(errs, fmt.Errorf("refused with retryAfter %v", retry))
					}
				})
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("round %d: Take: %v", round, err)
				}
				most = max(most, taken)
				if taken != limit {
					t.Errorf("round %d: %d of %d racing Takes succeeded against a limit of %d", round, taken, racers, limit)
				}
			}
			t.Logf("at most %d of %d racing Takes succeeded against a limit of %d, over %d rounds", most, racers, limit, rounds)
		}},
		{"Add", func(t *testing.T) {
			a, b := s.pair(t)
			k := key(t, "sends")
			const window = 10 * time.Second
			counts := make([]int, racers)
			errs := make([]error, racers)
			race(t, a, b, func(c context.Context, i int, st flow.Store) {
				counts[i], errs[i] = st.Add(c, k, window)
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("Add: %v", err)
			}
			// Each Add saw the window with every earlier one in it: the
			// counts are 1 to racers, each once.
			slices.Sort(counts)
			for i, n := range counts {
				if n != i+1 {
					t.Fatalf("racing Adds returned %v, want 1 to %d each once", counts, racers)
				}
			}
			if ok, _ := take(t, a, k, racers, window); ok {
				t.Errorf("Take with a limit of %d after %d racing Adds succeeded", racers, racers)
			}
			if ok, _ := take(t, b, k, racers+1, window); !ok {
				t.Errorf("Take with a limit of %d after %d racing Adds refused", racers+1, racers)
			}
		}},
		{"UseOnce", func(t *testing.T) {
			a, b := s.pair(t)
			k := key(t, "code")
			fresh := make([]bool, racers)
			errs := make([]error, racers)
			race(t, a, b, func(c context.Context, i int, st flow.Store) {
				fresh[i], errs[i] = st.UseOnce(c, k, 10*time.Second)
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("UseOnce: %v", err)
			}
			if n := count(fresh, true); n != 1 {
				t.Errorf("%d of %d racing UseOnce calls were first, want 1", n, racers)
			}
		}},
		{"Resolve", func(t *testing.T) {
			a, b := s.pair(t)
			tok := key(t, "tok")
			must(t, "CreateApproval", a.CreateApproval(ctx(t), tok, 5*time.Second))
			errs := make([]error, racers)
			race(t, a, b, func(c context.Context, i int, st flow.Store) {
				errs[i] = st.ResolveApproval(c, tok, fmt.Sprint(i))
			})
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("racing ResolveApproval: %d and %d both answered", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, flow.ErrNoApproval):
					t.Errorf("racing ResolveApproval: %v", err)
				}
			}
			if winner < 0 {
				t.Fatal("no racing ResolveApproval answered")
			}
			if answer, err := b.AwaitApproval(ctx(t), tok); err != nil || answer != fmt.Sprint(winner) {
				t.Errorf("AwaitApproval = %q, %v; want %d, the one answer accepted", answer, err, winner)
			}
		}},
		{"Hold", func(t *testing.T) {
			a, b := s.pair(t)
			k := key(t, "account")
			errs := make([]error, racers)
			race(t, a, b, func(c context.Context, i int, st flow.Store) {
				errs[i] = st.Hold(c, k, time.Duration(i+1)*time.Second)
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("Hold: %v", err)
			}
			between(t, "Held after racing Holds", held(t, a, k), (racers-1)*time.Second, racers*time.Second)
		}},
	}
}

func count[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
