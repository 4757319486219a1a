package storetest

import (
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

func held(t *testing.T, st flow.Store, k string) time.Duration {
	t.Helper()
	d, err := st.Held(ctx(t), k)
	must(t, "Held", err)
	return d
}

func (s *suite) holdTests() []test {
	return []test{
		{"None", func(t *testing.T) {
			st := s.newStore(t)
			if d := held(t, st, key(t, "account")); d != 0 {
				t.Errorf("Held without a hold = %v, want 0", d)
			}
		}},
		{"Remaining", func(t *testing.T) {
			a, b := s.pair(t)
			k := key(t, "account")
			must(t, "Hold", a.Hold(ctx(t), k, 2*time.Second))
			between(t, "Held", held(t, a, k), time.Second, 2*time.Second)
			between(t, "Held on the other instance", held(t, b, k), time.Second, 2*time.Second)
		}},
		{"LongerWins", func(t *testing.T) {
			st := s.newStore(t)
			first, then := key(t, "long-then-short"), key(t, "short-then-long")
			must(t, "Hold", st.Hold(ctx(t), first, 10*time.Second))
			must(t, "Hold", st.Hold(ctx(t), first, time.Second))
			must(t, "Hold", st.Hold(ctx(t), then, time.Second))
			must(t, "Hold", st.Hold(ctx(t), then, 10*time.Second))
			for _, k := range []string{first, then} {
				between(t, "Held", held(t, st, k), 9*time.Second, 10*time.Second)
			}
		}},
		{"Expires", func(t *testing.T) {
			st := s.newStore(t)
			k := key(t, "account")
			const ttl = 500 * time.Millisecond
			must(t, "Hold", st.Hold(ctx(t), k, ttl))
			set := time.Now()
			between(t, "Held", held(t, st, k), time.Nanosecond, ttl)
			sleepUntil(set, ttl+150*time.Millisecond)
			if d := held(t, st, k); d != 0 {
				t.Errorf("Held after the hold ended = %v, want 0", d)
			}
		}},
	}
}

func (s *suite) pingTests() []test {
	return []test{
		{"Answers", func(t *testing.T) {
			a, b := s.pair(t)
			must(t, "Ping", a.Ping(ctx(t)))
			must(t, "Ping", b.Ping(ctx(t)))
		}},
	}
}
