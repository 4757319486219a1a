package memstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) flow.Store { return New() })
}

// TestConformanceSkewedClock runs the suite on stores whose clock is far
// from the system's: nothing may mix the two.
func TestConformanceSkewedClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{-365 * 24 * time.Hour, 365 * 24 * time.Hour} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(*testing.T) flow.Store {
				return New().WithClock(func() time.Time { return time.Now().Add(skew) })
			})
		})
	}
}

// fakeClock is moved by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func (s *Store) entries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.approvals) + len(s.once) + len(s.windows) + len(s.holds)
}

// TestSweepBoundsMemory fills the store with short-lived entries of every
// kind and checks that they are gone once they have expired and a sweep ran,
// whichever calls keep the store busy afterwards.
func TestSweepBoundsMemory(t *testing.T) {
	const n = 10000
	ctx := context.Background()
	tests := []struct {
		name string
		// then is the one call made after the entries expired.
		then func(s *Store) error
	}{
		{"Take", func(s *Store) error { _, _, err := s.Take(ctx, "next", 1, time.Second); return err }},
		{"Add", func(s *Store) error { _, err := s.Add(ctx, "next", time.Second); return err }},
		{"UseOnce", func(s *Store) error { _, err := s.UseOnce(ctx, "next", time.Second); return err }},
		{"Hold", func(s *Store) error { return s.Hold(ctx, "next", time.Second) }},
		{"CreateApproval", func(s *Store) error { return s.CreateApproval(ctx, "next", time.Second) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			s := New().WithClock(clock.Now)
			for i := range n {
				k := fmt.Sprint("k", i)
				if _, _, err := s.Take(ctx, k, 5, time.Second); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Add(ctx, "a"+k, time.Second); err != nil {
					t.Fatal(err)
				}
				if _, err := s.UseOnce(ctx, k, time.Second); err != nil {
					t.Fatal(err)
				}
				if err := s.Hold(ctx, k, time.Second); err != nil {
					t.Fatal(err)
				}
				if err := s.CreateApproval(ctx, k, time.Second); err != nil {
					t.Fatal(err)
				}
				// An answered approval nobody collects must go too.
				if i%2 == 0 {
					if err := s.ResolveApproval(ctx, k, "yes"); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := s.entries(); got < 5*n {
				t.Fatalf("%d entries after filling, want at least %d", got, 5*n)
			}
			clock.Advance(2 * time.Minute)
			if err := tc.then(s); err != nil {
				t.Fatal(err)
			}
			if got := s.entries(); got > 1 {
				t.Errorf("%d entries left after they expired and %s swept, want at most 1 (its own)", got, tc.name)
			}
		})
	}
}

// TestAwaitUsesStoreClock waits on an approval under a clock an hour ahead:
// it must expire after its own ttl, not an hour late or at once.
func TestAwaitUsesStoreClock(t *testing.T) {
	s := New().WithClock(func() time.Time { return time.Now().Add(time.Hour) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.CreateApproval(ctx, "tok", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.AwaitApproval(ctx, "tok"); err != flow.ErrNoApproval {
		t.Fatalf("AwaitApproval = %v, want ErrNoApproval", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("AwaitApproval expired after %v, want about 200ms", took)
	}
}

func TestHelpdeskConformance(t *testing.T) {
	t.Parallel()
	storetest.RunHelpdesk(t, func(*testing.T) (a, b flow.HelpdeskStore) {
		st := New()
		return st, st
	})
}
