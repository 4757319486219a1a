package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// sspr users unlock on OpenLDAP with ppolicy: dave's pwdAccountLockedTime
// goes, his password stays, and the audit trail records it.
func TestUsersUnlockOnLDAP(t *testing.T) {
	srv := slapd.Start(t)
	audit := filepath.Join(t.TempDir(), "audit.log")
	cfg := writeConfig(t, ldapYAML(t, srv, "", "audit:\n  path: "+audit+"\n"))
	if got := srv.Attr(slapd.UserDN("dave"), "pwdAccountLockedTime"); len(got) != 1 {
		t.Fatalf("dave is not locked to begin with: %v", got)
	}
	out, _, err := sspr(t, cfg, "", "users", "unlock", "Dave")
	if err != nil || !strings.Contains(out, "unlocked "+slapd.UserDN("dave")) {
		t.Fatalf("unlock: %q, %v", out, err)
	}
	if got := srv.Attr(slapd.UserDN("dave"), "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("pwdAccountLockedTime still %v", got)
	}
	if !srv.CanBind(slapd.UserDN("dave"), slapd.InitialPassword) {
		t.Fatal("dave cannot bind with his password after the unlock")
	}
	b, err := os.ReadFile(audit)
	if err != nil || !strings.Contains(string(b), `"login":"Dave","step":"admin_unlock","result":"ok"`) || !strings.Contains(string(b), slapd.UserDN("dave")) {
		t.Fatalf("audit: %s, %v", b, err)
	}
	// Again: nothing to do, nothing recorded.
	out, _, err = sspr(t, cfg, "", "users", "unlock", "dave")
	if err != nil || !strings.Contains(out, "is not locked") {
		t.Fatalf("second unlock: %q, %v", out, err)
	}
	// carol is disabled (locked for good), which unlock does not undo.
	_, stderr, err := sspr(t, cfg, "", "users", "unlock", "carol")
	if exitCode(err) != 1 || !strings.Contains(stderr, "disabled, not locked") {
		t.Fatalf("carol: %q, %v", stderr, err)
	}
	if got := srv.Attr(slapd.UserDN("carol"), "pwdAccountLockedTime"); len(got) != 1 {
		t.Fatalf("carol's lock changed: %v", got)
	}
}

// The embedded directory has no lockout: unlock refuses and says so.
func TestUsersUnlockEmbedded(t *testing.T) {
	cfg, _ := adminFixture(t)
	_, _, err := sspr(t, cfg, "", "users", "unlock", "frank")
	if err == nil || !strings.Contains(err.Error(), "the embedded directory has no lockout") {
		t.Fatalf("unlock on the embedded directory: %v", err)
	}
}
