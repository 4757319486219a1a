// Package storetest is the conformance suite of flow.Store: what every
// implementation must do, whatever keeps its data. Each backend's tests call
// Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) flow.Store { return memstore.New() })
//	}
//
// The suite works in real time with short durations (a few hundred
// milliseconds), so it runs against a real server as it does against memory,
// and takes about a second.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// An Option changes how Run reaches the store under test.
type Option func(*suite)

// Shared gives Run two stores on one backend, as two instances of sspr
// sharing it would have (two clients of one Redis). The tests across
// instances and the races use both. Without it they use one store from the
// constructor twice, which is right for a store that lives in one process.
func Shared(pair func(t *testing.T) (a, b flow.Store)) Option {
	return func(s *suite) { s.pair = pair }
}

type suite struct {
	newStore func(t *testing.T) flow.Store
	pair     func(t *testing.T) (a, b flow.Store)
}

// Run runs the conformance suite, its tests all at once. newStore returns
// an empty store, or one whose keys no other call of newStore sees; the
// suite closes nothing, so newStore registers its own cleanup.
func Run(t *testing.T, newStore func(t *testing.T) flow.Store, opts ...Option) {
	s := &suite{newStore: newStore}
	for _, o := range opts {
		o(s)
	}
	if s.pair == nil {
		s.pair = func(t *testing.T) (flow.Store, flow.Store) {
			st := newStore(t)
			return st, st
		}
	}
	groups := []group{
		{"Approval", s.approvalTests()},
		{"UseOnce", s.useOnceTests()},
		{"Window", s.windowTests()},
		{"Hold", s.holdTests()},
		{"Ping", s.pingTests()},
		{"Race", s.raceTests()},
	}
	// The tests mostly sleep, so they all run at once: as goroutines, not
	// with t.Parallel, which -parallel (GOMAXPROCS by default) would throttle
	// to a few at a time on a small machine.
	all(groups, func(g group) {
		t.Run(g.name, func(t *testing.T) {
			all(g.tests, func(tc test) { t.Run(tc.name, tc.run) })
		})
	})
}

// all calls f for every element of s at once and waits for them.
func all[T any](s []T, f func(T)) {
	var wg sync.WaitGroup
	for _, v := range s {
		wg.Go(func() { f(v) })
	}
	wg.Wait()
}

type group struct {
	name  string
	tests []test
}

type test struct {
	name string
	run  func(t *testing.T)
}

// ctx bounds every call of a test, so a store that blocks fails the test
// instead of hanging it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// key returns a key no other test uses, in case the constructor hands out
// stores that share their data.
func key(t *testing.T, name string) string {
	return strings.ReplaceAll(t.Name(), "/", ".") + ":" + name
}

// between fails t unless lo <= d <= hi.
func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s = %v, want between %v and %v", what, d, lo, hi)
	}
}

// prompt bounds how long a store may take to wake a waiter or to answer at
// all; generous, as the race detector on a small, busy machine is slow, and
// still far below the lifetimes (seconds) that a late wake-up would hide
// behind.
const prompt = 2 * time.Second

// sleepUntil sleeps until since+d has passed.
//
// Timing in this suite is anchored so that a slow machine cannot fail it: a
// check that something has expired sleeps from when the write that set it
// returned (the store acted before that), and a check that something still
// holds leaves the store a wide margin.
func sleepUntil(since time.Time, d time.Duration) {
	time.Sleep(time.Until(since.Add(d)))
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func take(t *testing.T, st flow.Store, k string, limit int, window time.Duration) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := st.Take(ctx(t), k, limit, window)
	must(t, fmt.Sprintf("Take(%d, %v)", limit, window), err)
	return ok, retry
}
