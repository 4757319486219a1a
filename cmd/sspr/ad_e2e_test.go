package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/samba"
)

// Full resets through the built binary over SSH (OpenSSH in tmux), with
// people in a real Active Directory (a Samba AD DC) over LDAPS, configured
// as docs/ACTIVE-DIRECTORY.md says. The person is locked out after failed
// sign-ins. In the first test the domain refuses a first password that
// sspr's own policy accepts (not complex enough for AD), the person picks
// another, and the domain then takes the new password, lifts the lockout,
// and no longer takes the old one. In the second the person only unlocks.

// adSession is one person verified over SSH against Samba AD, standing on
// the screen that offers to unlock the account or choose a new password.
type adSession struct {
	dc      *samba.DC
	u       samba.User
	tm      *tmuxTerm
	dataDir string
	srv     *servedBinary
	code    string
}

// startADSession locks out a new AD user, serves the built binary with
// directory.ldap as docs/ACTIVE-DIRECTORY.md configures it, and walks the
// person through identification and a texted code in OpenSSH.
func startADSession(t *testing.T, mobile, hint, typed, destination string) *adSession {
	t.Helper()
	dc := samba.Shared(t)
	u := samba.NewUser("sshreset")
	u.Mobile = mobile
	u = dc.AddUser(t, u)
	dc.LockOut(t, u)

	bin := buildBinary(t)
	port := freePort(t)
	dataDir := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "ad-service-password")
	if err := os.WriteFile(pwFile, []byte(samba.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
directory:
  ldap:
    flavor: ad
    urls: [%s]
    ca_file: %s
    bind_dn: %s
    bind_password_file: %s
    base_dn: %s
    user_filter: "(|(sAMAccountName={login})(userPrincipalName={login})(mail={login}))"
    attributes:
      login: sAMAccountName
      display_name: displayName
      email: mail
      mobile: mobile
      office: telephoneNumber
      groups: memberOf
policy:
  password:
    upper: false
    digit: false
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
signin_url: https://login.example.com
`, dataDir, dc.LDAPSURL(), dc.CAFile, samba.ServiceDN, pwFile, samba.UsersOU, port))

	// sspr check as an operator runs it: every step ok, the person found
	// and seen as locked.
	out, err := exec.Command(bin, "--config", cfg, "check", u.UPN).CombinedOutput()
	if err != nil {
		t.Fatalf("sspr check: %v\n%s", err, out)
	}
	for _, want := range []string{"ok    bind as " + samba.ServiceDN, "ok    lookup \"" + u.UPN + "\"", "locked"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("sspr check output lacks %q:\n%s", want, out)
		}
	}

	srv := serveBinary(t, bin, cfg, port)

	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text(u.UPN)
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if s := tm.screen(); !strings.Contains(s, "Text my mobile phone") || !strings.Contains(s, "Call my office phone") {
		t.Fatalf("methods of an AD user with mobile and telephoneNumber:\n%s", s)
	}
	tm.keys("Enter")
	tm.waitFor(hint)
	tm.text(typed)
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	code := lastCode(t, filepath.Join(dataDir, "outbox.log"), destination)
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Unlock my account and keep my password")
	return &adSession{dc: dc, u: u, tm: tm, dataDir: dataDir, srv: srv, code: code}
}

// secretsKept fails the test when the audit trail, the server log or the
// terminal holds one of secrets.
func (s *adSession) secretsKept(t *testing.T, secrets ...string) {
	t.Helper()
	audit, err := os.ReadFile(filepath.Join(s.dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, s.u.Password, s.code, samba.ServicePassword)
	for _, secret := range secrets {
		if strings.Contains(string(audit), secret) || strings.Contains(s.srv.Log(), secret) || strings.Contains(s.tm.history(), secret) {
			t.Fatal("the audit trail, the server log or the terminal holds a secret")
		}
	}
}

func TestEndToEndActiveDirectoryResetOverOpenSSH(t *testing.T) {
	s := startADSession(t, "+1 212 555 0177", "*****77", "(212) 555-0177", "+12125550177")
	dc, u, tm, code := s.dc, s.u, s.tm, s.code
	tm.keys("Down")
	tm.keys("Enter")
	tm.waitFor("Enter new password")

	// Long and strong for sspr's policy (upper and digit rules off), but
	// only two kinds of character: the domain's complexity rule refuses it.
	const simple = "velvet-quasar-ostrich-gizmo-plank"
	tm.text(simple)
	tm.keys("Enter")
	tm.text(simple)
	tm.keys("Enter")
	tm.waitFor("refused this password as too simple")
	if !dc.Locked(t, u) {
		t.Fatal("the refused reset lifted the lockout")
	}

	clear := func() {
		for range len(simple) + 2 {
			tm.keys("BSpace")
		}
	}
	clear()
	tm.keys("Tab")
	clear()
	tm.keys("BTab")
	const newPassword = "Samba-Brand-New-Passw0rd-88"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	start := time.Now()
	tm.keys("Enter")
	took := tm.waitFor("Your password has been reset")
	t.Logf("from the last Enter to \"Your password has been reset\" (Samba AD over LDAPS): %v (measured at %v)", took, time.Since(start))
	if s := tm.screen(); !strings.Contains(s, "https://login.example.com") {
		t.Fatalf("no sign-in URL on the last screen:\n%s", s)
	}
	if h := tm.history(); strings.Contains(h, newPassword) || strings.Contains(h, simple) || strings.Contains(h, code) {
		t.Fatalf("a secret is left on the terminal:\n%s", h)
	}

	// The domain takes the new password (so the lockout is gone too) and
	// refuses the old one.
	if err := dc.Bind(u.UPN, newPassword); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if dc.Locked(t, u) {
		t.Fatal("still locked after the reset")
	}
	if err := dc.Bind(u.UPN, u.Password); samba.BindError(err) != "52e" {
		t.Fatalf("bind with the old password: %v, want data 52e", err)
	}

	audit, err := os.ReadFile(filepath.Join(s.dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"step":"set_password","result":"ok"`, `0000052D`, `complexity`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("no %s in the audit:\n%s", want, audit)
		}
	}
	s.secretsKept(t, newPassword, simple)
}

// The same person, verified, keeps the password and only has the lockout
// lifted (flow.Unlocker on AD: lockoutTime set to 0).
func TestEndToEndActiveDirectoryUnlockOverOpenSSH(t *testing.T) {
	s := startADSession(t, "+1 212 555 0188", "*****88", "(212) 555-0188", "+12125550188")
	dc, u, tm := s.dc, s.u, s.tm
	if err := dc.Bind(u.UPN, u.Password); samba.BindError(err) != "775" {
		t.Fatalf("bind while locked: %v, want data 775", err)
	}
	tm.keys("Enter")
	tm.waitFor("Your account has been unlocked")
	if dc.Locked(t, u) {
		t.Fatalf("still locked (lockoutTime %s)", dc.Attr(t, u.DN, "lockoutTime"))
	}
	if err := dc.Bind(u.UPN, u.Password); err != nil {
		t.Fatalf("bind with the kept password: %v", err)
	}
	audit, err := os.ReadFile(filepath.Join(s.dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(audit), `"step":"unlock","result":"ok"`) {
		t.Errorf("no successful unlock in the audit:\n%s", audit)
	}
	s.secretsKept(t)
}
