package ldap_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

func authorizedLine(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))) + " " + comment
}

// sshPublicKey (openssh-lpk) is read by default, bounded in count and in
// length.
func TestOpenLDAPSSHKeys(t *testing.T) {
	srv := slapd.Start(t)
	bobKeys := []string{authorizedLine(t, "bob@laptop"), `no-pty ` + authorizedLine(t, "bob@desk")}
	srv.Modify(slapd.UserDN("bob"), func(m *goldap.ModifyRequest) {
		m.Add("objectClass", []string{"ldapPublicKey"})
		m.Add(slapd.SSHKeyAttribute, bobKeys)
	})
	var many []string
	for i := 0; i < flow.MaxSSHKeys+3; i++ {
		many = append(many, authorizedLine(t, "alice"))
	}
	many = append(many, authorizedLine(t, strings.Repeat("x", flow.MaxSSHKeyLine)))
	srv.Modify(slapd.UserDN("alice"), func(m *goldap.ModifyRequest) {
		m.Add("objectClass", []string{"ldapPublicKey"})
		m.Add(slapd.SSHKeyAttribute, many)
	})

	d, log := slapdDirectory(t, slapdConfig(srv))
	if got := slapdLookup(t, d, "bob").SSHKeys; strings.Join(got, "|") != strings.Join(bobKeys, "|") {
		t.Fatalf("bob's keys %q, want %q", got, bobKeys)
	}
	got := slapdLookup(t, d, "alice").SSHKeys
	if len(got) != flow.MaxSSHKeys {
		t.Fatalf("alice's keys: %d, want the first %d", len(got), flow.MaxSSHKeys)
	}
	for _, k := range got {
		if len(k) > flow.MaxSSHKeyLine {
			t.Fatal("an overlong value was read")
		}
	}
	if l := log.String(); !strings.Contains(l, "SSH keys left out") || !strings.Contains(l, "longer_than_max=1") {
		t.Fatalf("the log does not say what was left out:\n%s", l)
	}
	if keys := slapdLookup(t, d, "carol").SSHKeys; keys != nil {
		t.Fatalf("carol lists no key, got %q", keys)
	}
}
