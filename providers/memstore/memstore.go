// Package memstore is the in-process flow.Store: pending approvals and the
// TOTP replay cache of one sspr instance.
package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/sspr-project/sspr/flow"
)

type approval struct {
	expires  time.Time
	answer   string
	answered bool
	done     chan struct{}
}

// Store keeps its entries in memory; expired ones are swept as it goes.
type Store struct {
	mu        sync.Mutex
	approvals map[string]*approval
	once      map[string]time.Time
	windows   map[string]*window
	holds     map[string]time.Time
	helpdesk  map[string]flow.HelpdeskCode
	now       func() time.Time
	sweptAt   time.Time
}

// window is a sliding window: the times of its events, oldest first.
type window struct {
	events []time.Time
	length time.Duration
}

// New returns an empty Store.
func New() *Store {
	return &Store{approvals: map[string]*approval{}, once: map[string]time.Time{},
		windows: map[string]*window{}, holds: map[string]time.Time{}, helpdesk: map[string]flow.HelpdeskCode{}, now: time.Now}
}

// WithClock makes the store tell time by now; tests move a fake clock.
func (s *Store) WithClock(now func() time.Time) *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	return s
}

// sweep drops expired entries; the caller holds mu. An answered approval
// nobody collected goes too: its waiter, if any, was woken when it was
// answered.
func (s *Store) sweep(now time.Time) {
	for k, a := range s.approvals {
		if now.After(a.expires) {
			delete(s.approvals, k)
			if !a.answered {
				close(a.done)
			}
		}
	}
	for k, exp := range s.once {
		if now.After(exp) {
			delete(s.once, k)
		}
	}
	for k, w := range s.windows {
		if w.trim(now); len(w.events) == 0 {
			delete(s.windows, k)
		}
	}
	for k, until := range s.holds {
		if !now.Before(until) {
			delete(s.holds, k)
		}
	}
}

// maybeSweep sweeps at most once a minute, so every call stays cheap. Every
// call that adds an entry calls it, so what the store holds is bounded by
// what was added in the last minute and what has not expired yet.
func (s *Store) maybeSweep(now time.Time) {
	if now.Sub(s.sweptAt) >= time.Minute {
		s.sweptAt = now
		s.sweep(now)
	}
}

// trim drops the events that have left the window.
func (w *window) trim(now time.Time) {
	i := 0
	for i < len(w.events) && !w.events[i].After(now.Add(-w.length)) {
		i++
	}
	w.events = w.events[i:]
}

func (s *Store) window(key string, length time.Duration, now time.Time) *window {
	w, ok := s.windows[key]
	if !ok {
		w = &window{}
		s.windows[key] = w
	}
	if length > w.length {
		w.length = length
	}
	w.trim(now)
	return w
}

// Take implements flow.Store.
func (s *Store) Take(_ context.Context, key string, limit int, length time.Duration) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	w := s.window(key, length, now)
	if len(w.events) >= limit {
		if limit < 1 || len(w.events) == 0 {
			return false, length, nil
		}
		return false, w.events[len(w.events)-limit].Add(length).Sub(now), nil
	}
	w.events = append(w.events, now)
	return true, 0, nil
}

// Add implements flow.Store.
func (s *Store) Add(_ context.Context, key string, length time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	w := s.window(key, length, now)
	w.events = append(w.events, now)
	return len(w.events), nil
}

// Forget implements flow.Store.
func (s *Store) Forget(_ context.Context, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.windows, k)
		delete(s.holds, k)
		delete(s.once, k)
	}
	return nil
}

// Hold implements flow.Store.
func (s *Store) Hold(_ context.Context, key string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	until := now.Add(ttl)
	if cur, ok := s.holds[key]; !ok || until.After(cur) {
		s.holds[key] = until
	}
	return nil
}

// Held implements flow.Store.
func (s *Store) Held(_ context.Context, key string) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.holds[key]; ok {
		if left := until.Sub(s.now()); left > 0 {
			return left, nil
		}
		delete(s.holds, key)
	}
	return 0, nil
}

// Ping implements flow.Store; memory always answers.
func (s *Store) Ping(context.Context) error { return nil }

// CreateApproval implements flow.Store.
func (s *Store) CreateApproval(_ context.Context, token string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	s.approvals[token] = &approval{expires: now.Add(ttl), done: make(chan struct{})}
	return nil
}

// ResolveApproval implements flow.Store.
func (s *Store) ResolveApproval(_ context.Context, token, answer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.approvals[token]
	if !ok || a.answered || s.now().After(a.expires) {
		return flow.ErrNoApproval
	}
	a.answer, a.answered = answer, true
	close(a.done)
	return nil
}

// AwaitApproval implements flow.Store.
func (s *Store) AwaitApproval(ctx context.Context, token string) (string, error) {
	s.mu.Lock()
	a, ok := s.approvals[token]
	var left time.Duration
	if ok {
		// The store's clock, not the system's: the two may differ.
		left = a.expires.Sub(s.now())
	}
	s.mu.Unlock()
	if !ok {
		return "", flow.ErrNoApproval
	}
	timer := time.NewTimer(left)
	defer timer.Stop()
	select {
	case <-a.done:
	case <-timer.C:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.approvals[token]; ok && cur == a {
		delete(s.approvals, token)
	}
	if !a.answered {
		return "", flow.ErrNoApproval
	}
	return a.answer, nil
}

// DeleteApproval implements flow.Store.
func (s *Store) DeleteApproval(_ context.Context, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.approvals[token]; ok {
		delete(s.approvals, token)
		if !a.answered {
			close(a.done)
		}
	}
	return nil
}

// UseOnce implements flow.Store.
func (s *Store) UseOnce(_ context.Context, key string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	if exp, ok := s.once[key]; ok && !now.After(exp) {
		return false, nil
	}
	s.once[key] = now.Add(ttl)
	return true, nil
}

var _ flow.Store = (*Store)(nil)
