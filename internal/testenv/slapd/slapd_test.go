package slapd

import (
	"testing"
	"time"
)

// TestStartServesPeopleAndPolicy checks the harness itself: the service
// account binds, a seeded person binds with the initial password, and the
// server comes back on the same port after a kill.
func TestStartServesPeopleAndPolicy(t *testing.T) {
	start := time.Now()
	s := Start(t)
	t.Logf("slapd built and started in %v", time.Since(start))
	if err := s.Bind(ServiceDN, ServicePassword); err != nil {
		t.Fatalf("service bind: %v", err)
	}
	if err := s.Bind(UserDN("alice"), InitialPassword); err != nil {
		t.Fatalf("alice bind: %v", err)
	}
	if s.CanBind(UserDN("alice"), "wrong-password-here") {
		t.Fatal("a wrong password binds")
	}
	if got := s.Attr(UserDN("alice"), "memberOf"); len(got) != 1 || got[0] != GroupDN {
		t.Fatalf("alice memberOf = %v", got)
	}
	s.Kill()
	if s.CanBind(ServiceDN, ServicePassword) {
		t.Fatal("bind works while slapd is down")
	}
	start = time.Now()
	s.Restart()
	t.Logf("restarted in %v", time.Since(start))
	if err := s.Bind(ServiceDN, ServicePassword); err != nil {
		t.Fatalf("service bind after restart: %v", err)
	}
}
