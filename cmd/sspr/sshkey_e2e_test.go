package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// A reset proved by the SSH key alone: bob's entry in a real slapd lists
// his key (sshPublicKey, openssh-lpk), he connects with it through the
// real OpenSSH client in tmux, and one method of proof is enough. The same
// key proves nobody else, and shows nothing for an unknown login.
func TestEndToEndSSHKeyResetOverOpenSSH(t *testing.T) {
	srv := slapd.Start(t)
	keys := t.TempDir()
	key, line := keygen(t, keys, "bob")
	srv.Modify(slapd.UserDN("bob"), func(m *goldap.ModifyRequest) {
		m.Add("objectClass", []string{"ldapPublicKey"})
		// As an administrator would paste it: with options and a comment.
		m.Add(slapd.SSHKeyAttribute, []string{`from="127.0.0.1",no-pty ` + line})
	})
	bin := buildBinary(t)
	port := freePort(t)
	yaml := ldapYAML(t, srv, "", fmt.Sprintf("ssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\npolicy:\n  ssh_key:\n    enabled: true\n", port))
	cfg := writeConfig(t, yaml)
	dataDir := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(yaml, "\n", 2)[0], "data_dir:"))
	served := serveBinary(t, bin, cfg, port)

	connect := func() *tmuxTerm {
		tm := newTmux(t, fmt.Sprintf("ssh -p %d -i %s -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port, key))
		tm.waitFor("Email or Username")
		return tm
	}
	const choice = "Use the SSH key you connected with"

	// The same key for another account, and for a login nobody has.
	for _, login := range []string{"alice", "nobody"} {
		tm := connect()
		tm.text(login)
		tm.keys("Enter")
		tm.waitFor("Please choose the contact method we should use for verification:")
		if s := tm.screen(); strings.Contains(s, choice) {
			t.Fatalf("bob's key is offered for %s:\n%s", login, s)
		}
	}

	tm := connect()
	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor(choice)
	tm.keys("Enter") // the first choice: nothing to type, nothing sent
	tm.waitFor("Enter new password")
	const newPassword = "Key-Proved-Passw0rd-4711"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")
	if err := srv.Bind(slapd.UserDN("bob"), newPassword); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if srv.CanBind(slapd.UserDN("bob"), slapd.InitialPassword) {
		t.Fatal("the old password still binds")
	}

	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	fp := fingerprint(t, key)
	var verify []string
	for _, l := range strings.Split(string(audit), "\n") {
		if strings.Contains(l, `"step":"verify"`) {
			verify = append(verify, l)
		}
	}
	if len(verify) != 1 || !strings.Contains(verify[0], `"method":"ssh_key","step":"verify","result":"ok"`) || !strings.Contains(verify[0], `"key":"`+fp+`"`) {
		t.Fatalf("one verification by the key %s expected; the audit has:\n%s", fp, strings.Join(verify, "\n"))
	}
	if !strings.Contains(string(audit), `"login":"bob","method":"","step":"set_password","result":"ok"`) {
		t.Fatalf("no reset of bob in the audit:\n%s", audit)
	}
	// The server's log names the key of each connection, by fingerprint.
	if strings.Count(served.Log(), fp) < 3 {
		t.Fatalf("the server log does not name the key of the three connections:\n%s", served.Log())
	}
	blob := strings.Fields(line)[1]
	if strings.Contains(string(audit), blob) || strings.Contains(served.Log(), blob) {
		t.Fatal("the audit or the log holds the key itself")
	}
	if h := tm.history(); strings.Contains(h, newPassword) {
		t.Fatalf("the password is left on the terminal:\n%s", h)
	}
}
