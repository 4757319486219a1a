package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/internal/testenv/samba"
)

// ssh change@ through the built binary, OpenSSH in tmux, with people in a
// Samba AD DC over LDAPS configured as docs/ACTIVE-DIRECTORY.md says: a
// user who must change the password at next logon (bind data 773) signs
// in with it and changes it; then the new password binds and the old one
// no longer does.
func TestEndToEndActiveDirectoryChangeOverOpenSSH(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("sshchange"))
	dc.Replace(t, u.DN, "pwdLastSet", "0")
	if got := samba.BindError(dc.Bind(u.DN, u.Password)); got != "773" {
		t.Fatalf("the new user binds with data %q, want 773", got)
	}
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
ssh:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
signin_url: https://login.example.com
`, dataDir, dc.LDAPSURL(), dc.CAFile, samba.ServiceDN, pwFile, samba.UsersOU, port))
	srv := serveBinary(t, bin, cfg, port)

	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t change@127.0.0.1; sleep 60", port))
	tm.waitFor("Current password")
	tm.text(u.UPN)
	tm.keys("Tab")
	tm.text(u.Password)
	tm.keys("Enter")
	tm.waitFor("Your password has expired. Choose a new one.")
	const changed = "Samba-Changed-Passw0rd-7"
	tm.text(changed)
	tm.keys("Enter")
	tm.text(changed)
	tm.keys("Enter")
	tm.waitFor("Your password has been changed")

	if err := dc.Bind(u.DN, changed); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if got := samba.BindError(dc.Bind(u.DN, u.Password)); got != "52e" {
		t.Fatalf("the old password binds with data %q, want 52e (wrong password)", got)
	}
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(audit), `"step":"set_password","result":"ok"`) {
		t.Fatalf("no successful change in the audit:\n%s", audit)
	}
	for _, secret := range []string{u.Password, changed, samba.ServicePassword} {
		if strings.Contains(string(audit), secret) || strings.Contains(srv.Log(), secret) || strings.Contains(tm.history(), secret) {
			t.Fatal("the audit trail, the server log or the terminal holds a password")
		}
	}
}
