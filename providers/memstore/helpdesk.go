package memstore

import (
	"context"
	"crypto/hmac"
	"slices"
	"strings"

	"github.com/sspr-project/sspr/flow"
)

// The helpdesk codes of this instance (flow.HelpdeskStore). They live in
// the running process: the commands reach them through the admin socket.

func (s *Store) liveCode(key string) (flow.HelpdeskCode, bool) {
	c, ok := s.helpdesk[key]
	if ok && (!s.now().Before(c.Expires) || c.Uses < 1) {
		delete(s.helpdesk, key)
		return flow.HelpdeskCode{}, false
	}
	return c, ok
}

// PutHelpdeskCode keeps c under key until c.Expires.
func (s *Store) PutHelpdeskCode(_ context.Context, key string, c flow.HelpdeskCode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Hash = slices.Clone(c.Hash)
	s.helpdesk[key] = c
	return nil
}

// HelpdeskCode returns the live code under key.
func (s *Store) HelpdeskCode(_ context.Context, key string) (flow.HelpdeskCode, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.liveCode(key)
	c.Hash = slices.Clone(c.Hash)
	return c, ok, nil
}

// UseHelpdeskCode spends one use of the code under key if its hash is hash.
func (s *Store) UseHelpdeskCode(_ context.Context, key string, hash []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.liveCode(key)
	if !ok || !hmac.Equal(c.Hash, hash) {
		return false, nil
	}
	c.Uses--
	if c.Uses < 1 {
		delete(s.helpdesk, key)
	} else {
		s.helpdesk[key] = c
	}
	return true, nil
}

// DeleteHelpdeskCode removes the code under key.
func (s *Store) DeleteHelpdeskCode(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.liveCode(key)
	delete(s.helpdesk, key)
	return ok, nil
}

// HelpdeskCodes lists the live codes by login.
func (s *Store) HelpdeskCodes(context.Context) ([]flow.HelpdeskCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flow.HelpdeskCode
	for k := range s.helpdesk {
		if c, ok := s.liveCode(k); ok {
			c.Hash = slices.Clone(c.Hash)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b flow.HelpdeskCode) int { return strings.Compare(a.Login, b.Login) })
	return out, nil
}

// HelpdeskLive reports whether any code is live.
func (s *Store) HelpdeskLive(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.helpdesk {
		if _, ok := s.liveCode(k); ok {
			return true, nil
		}
	}
	return false, nil
}

var _ flow.HelpdeskStore = (*Store)(nil)
