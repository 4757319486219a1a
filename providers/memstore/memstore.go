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
	now       func() time.Time
}

// New returns an empty Store.
func New() *Store {
	return &Store{approvals: map[string]*approval{}, once: map[string]time.Time{}, now: time.Now}
}

// sweep drops expired entries; the caller holds mu.
func (s *Store) sweep(now time.Time) {
	for k, a := range s.approvals {
		if now.After(a.expires) && !a.answered {
			delete(s.approvals, k)
			close(a.done)
		}
	}
	for k, exp := range s.once {
		if now.After(exp) {
			delete(s.once, k)
		}
	}
}

// CreateApproval implements flow.Store.
func (s *Store) CreateApproval(_ context.Context, token string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
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
	s.mu.Unlock()
	if !ok {
		return "", flow.ErrNoApproval
	}
	timer := time.NewTimer(time.Until(a.expires))
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
	if exp, ok := s.once[key]; ok && !now.After(exp) {
		return false, nil
	}
	s.once[key] = now.Add(ttl)
	return true, nil
}

var _ flow.Store = (*Store)(nil)
