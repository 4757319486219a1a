package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// ssh change@ through the built binary, OpenSSH in tmux, with people in a
// real slapd with ppolicy: an expired password (no grace login) signs in
// and is changed, a password from the history is refused in plain words,
// and the minimum age holds for the next change.
func TestEndToEndLDAPChangeOverOpenSSH(t *testing.T) {
	srv := slapd.Start(t)
	bin := buildBinary(t)
	port := freePort(t)
	yaml := ldapYAML(t, srv, "", fmt.Sprintf("ssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\nsignin_url: https://login.example.com\n", port))
	cfg := writeConfig(t, yaml)
	dataDir := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(yaml, "\n", 2)[0], "data_dir:"))
	bob := slapd.UserDN("bob")

	// bob's password, set through ppolicy (so it ages), then expired.
	const expired = "Expired-Passw0rd-Of-Bob"
	svc, err := goldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Bind(slapd.ServiceDN, slapd.ServicePassword); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PasswordModify(goldap.NewPasswordModifyRequest(bob, "", expired)); err != nil {
		t.Fatal(err)
	}
	policy := func(attr, value string) {
		srv.Modify(slapd.PolicyDN, func(r *goldap.ModifyRequest) { r.Replace(attr, []string{value}) })
	}
	policy("pwdMaxAge", "1")
	deadline := time.Now().Add(10 * time.Second)
	for srv.CanBind(bob, expired) {
		if time.Now().After(deadline) {
			t.Fatal("bob's password did not expire")
		}
		time.Sleep(200 * time.Millisecond)
	}

	served := serveBinary(t, bin, cfg, port)
	ssh := fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t change@127.0.0.1; sleep 60", port)
	tm := newTmux(t, ssh)
	tm.waitFor("Current password")
	tm.text("bob@example.com")
	tm.keys("Tab")
	tm.text(expired)
	tm.keys("Enter")
	tm.waitFor("Your password has expired. Choose a new one.")

	// A password of bob's history: slapd refuses it, in plain words.
	tm.text(slapd.InitialPassword)
	tm.keys("Enter")
	tm.text(slapd.InitialPassword)
	tm.keys("Enter")
	tm.waitFor("because it was used recently")
	clear := func() {
		for range len(slapd.InitialPassword) + 2 {
			tm.keys("BSpace")
		}
	}
	clear()
	tm.keys("Tab")
	clear()
	tm.keys("BTab")
	const changed = "Slapd-Changed-Passw0rd-42"
	tm.text(changed)
	tm.keys("Enter")
	tm.text(changed)
	tm.keys("Enter")
	tm.waitFor("Your password has been changed")
	policy("pwdMaxAge", "0")
	if err := srv.Bind(bob, changed); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if srv.CanBind(bob, expired) {
		t.Fatal("the expired password still binds")
	}

	// The minimum age: a second change right away is refused.
	policy("pwdMinAge", "3600")
	tm2 := newTmux(t, ssh)
	tm2.waitFor("Current password")
	tm2.text("bob")
	tm2.keys("Tab")
	tm2.text(changed)
	tm2.keys("Enter")
	tm2.waitFor("Differs from your current password")
	const again = "Slapd-Again-Passw0rd-43"
	tm2.text(again)
	tm2.keys("Enter")
	tm2.text(again)
	tm2.keys("Enter")
	tm2.waitFor("changed too recently")
	if !srv.CanBind(bob, changed) {
		t.Fatal("the refused change touched the password")
	}

	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"step":"sign_in","result":"ok"`, `"step":"set_password","result":"ok"`,
		`Password is in history of old passwords`, `Password is too young to change`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("no %s in the audit:\n%s", want, audit)
		}
	}
	for _, secret := range []string{expired, changed, again, slapd.InitialPassword, slapd.ServicePassword} {
		if strings.Contains(string(audit), secret) || strings.Contains(served.Log(), secret) ||
			strings.Contains(tm.history(), secret) || strings.Contains(tm2.history(), secret) {
			t.Fatal("the audit trail, the server log or a terminal holds a password")
		}
	}
}
