package slapd

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
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
	checkTOTPAccess(t, s)
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

// checkTOTPAccess checks the ACL of the TOTP attribute: the service account
// reads and writes it; a person, even on their own entry, and anonymous
// clients see nothing of it.
func checkTOTPAccess(t *testing.T, s *Server) {
	t.Helper()
	read := func(who, password string) []string {
		c, err := s.dial(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if who != "" {
			if err := c.Bind(who, password); err != nil {
				t.Fatalf("bind as %s: %v", who, err)
			}
		}
		res, err := c.Search(ldap.NewSearchRequest(UserDN("alice"), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 5, false,
			"(objectClass=*)", []string{TOTPAttribute}, nil))
		if err != nil || len(res.Entries) != 1 {
			return nil
		}
		return res.Entries[0].GetAttributeValues(TOTPAttribute)
	}
	if got := read(ServiceDN, ServicePassword); len(got) != 1 || got[0] != People[0].TOTP {
		t.Fatalf("the service account reads %d values of %s", len(got), TOTPAttribute)
	}
	for _, who := range []string{UserDN("alice"), UserDN("bob"), ""} {
		if got := read(who, InitialPassword); len(got) != 0 {
			t.Fatalf("%q reads alice's %s", who, TOTPAttribute)
		}
	}
	c, err := s.dial(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(ServiceDN, ServicePassword); err != nil {
		t.Fatal(err)
	}
	m := ldap.NewModifyRequest(UserDN("bob"), nil)
	m.Replace(TOTPAttribute, []string{"ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"})
	if err := c.Modify(m); err != nil {
		t.Fatalf("the service account writing %s: %v", TOTPAttribute, err)
	}
	if got := s.Attr(UserDN("bob"), TOTPAttribute); len(got) != 1 {
		t.Fatalf("bob's %s after the write: %d values", TOTPAttribute, len(got))
	}
}
