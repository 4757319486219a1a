package ldap_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// debianACL is the access list Debian's slapd package installs.
const debianACL = `access to attrs=userPassword by self write by anonymous auth by * none
access to attrs=shadowLastChange by self write by * read
access to * by * read
`

// The ldapmodify commands of docs/LDAP.md, applied to a slapd with
// Debian's default rules, give the service account what a reset and an
// enrolment need and no more: it resets, unlocks and writes the TOTP
// attribute, and reads no password hash; nobody else reads the TOTP
// attribute (Debian's rules let everyone read everything else).
func TestDocsServiceAccountACL(t *testing.T) {
	doc, err := os.ReadFile("../../docs/LDAP.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\n"
	i := strings.Index(string(doc), start)
	if i < 0 {
		t.Fatal("docs/LDAP.md has no ldapmodify command")
	}
	ldif := string(doc[i+len(start):])
	ldif = ldif[:strings.Index(ldif, "\nEOF\n")+1]

	srv := slapd.StartWith(t, slapd.Options{ACL: debianACL, ConfigAccess: true})
	tool, err := exec.LookPath("ldapmodify")
	if err != nil {
		t.Fatalf("ldapmodify not found (%v): install ldap-utils (scripts/test.sh does)", err)
	}
	cmd := exec.Command(tool, "-Q", "-Y", "EXTERNAL", "-H", srv.LDAPIURL)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the ldapmodify of docs/LDAP.md: %v\n%s\n%s", err, out, ldif)
	}

	// Debian's rule for userPassword was replaced, not shadowed.
	out, err := exec.Command("ldapsearch", "-Q", "-LLL", "-o", "ldif_wrap=no", "-Y", "EXTERNAL", "-H", srv.LDAPIURL,
		"-b", "olcDatabase={1}mdb,cn=config", "-s", "base", "olcAccess").CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch cn=config: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "to attrs=userPassword"); n != 1 {
		t.Fatalf("%d rules for userPassword after the documented change:\n%s", n, out)
	}
	t.Logf("the rules after the documented change:\n%s", out)

	cfg := slapdConfig(srv)
	cfg.TOTPKey = newTOTPKey(t)
	d, _ := slapdDirectory(t, cfg)
	ctx := context.Background()
	u := slapdLookup(t, d, "bob")
	secret := newSecret(t, "bob")
	if err := d.SetTOTPSecret(ctx, u, secret); err != nil {
		t.Fatalf("SetTOTPSecret with the documented rights: %v", err)
	}
	if got := slapdLookup(t, d, "bob"); got.TOTPSecret != secret {
		t.Fatal("the enrolled secret does not come back with the documented rights")
	}
	if err := d.SetPassword(ctx, u, "Docs-ACL-Passw0rd-1"); err != nil {
		t.Fatalf("SetPassword with the documented rights: %v", err)
	}
	if !srv.CanBind(u.ID, "Docs-ACL-Passw0rd-1") {
		t.Fatal("the new password does not bind")
	}
	if err := d.Unlock(ctx, slapdLookup(t, d, "dave")); err != nil {
		t.Fatalf("Unlock with the documented rights: %v", err)
	}
	if !srv.CanBind(slapd.UserDN("dave"), slapd.InitialPassword) {
		t.Fatal("dave is still locked")
	}
	c := serviceConn(t, srv)
	res, err := c.Search(goldap.NewSearchRequest(u.ID, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 5, false,
		"(objectClass=*)", []string{"userPassword"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("service search: %v", err)
	}
	if v := res.Entries[0].GetAttributeValues("userPassword"); len(v) != 0 {
		t.Fatal("with the documented rights the service account reads password hashes")
	}
	// The service account writes no other attribute.
	m := goldap.NewModifyRequest(u.ID, nil)
	m.Replace("mobile", []string{"+1 999 555 0000"})
	if err := c.Modify(m); !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("the service account changing a mobile number: %v, want Insufficient Access Rights", err)
	}
	// Nobody else reads the TOTP attribute: not a person, not even their
	// own, and not an anonymous client.
	for _, who := range []struct{ dn, password string }{
		{slapd.UserDN("alice"), slapd.InitialPassword}, {u.ID, "Docs-ACL-Passw0rd-1"}, {"", ""},
	} {
		other, err := goldap.DialURL(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if who.dn != "" {
			if err := other.Bind(who.dn, who.password); err != nil {
				t.Fatal(err)
			}
		}
		for _, dn := range []string{slapd.UserDN("alice"), u.ID} {
			res, err := other.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 5, false,
				"(objectClass=*)", []string{slapd.TOTPAttribute, "mail"}, nil))
			if err != nil || len(res.Entries) != 1 {
				t.Fatalf("search of %s by %q: %v", dn, who.dn, err)
			}
			if v := res.Entries[0].GetAttributeValues(slapd.TOTPAttribute); len(v) != 0 {
				t.Fatalf("%q reads the %s of %s with the documented rights", who.dn, slapd.TOTPAttribute, dn)
			}
		}
		other.Close()
	}
	// A person still changes their own password (Debian's rule kept).
	self, err := goldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if err := self.Bind(u.ID, "Docs-ACL-Passw0rd-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := self.PasswordModify(goldap.NewPasswordModifyRequest("", "Docs-ACL-Passw0rd-1", "Docs-ACL-Passw0rd-2")); err != nil {
		t.Fatalf("a person changing their own password: %v", err)
	}
}

// The rule docs/LDAP.md adds for "Update my security info", applied after
// the service account's rules to a slapd with Debian's defaults, lets it
// write the mobile and the alternate email, and still no other attribute.
func TestDocsRegistrationACL(t *testing.T) {
	doc, err := os.ReadFile("../../docs/LDAP.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(start, end string) string {
		i := strings.Index(string(doc), start)
		if i < 0 {
			t.Fatalf("docs/LDAP.md has no %q", start)
		}
		ldif := string(doc[i+len(start):])
		return ldif[:strings.Index(ldif, end)+1]
	}
	srv := slapd.StartWith(t, slapd.Options{ACL: debianACL, ConfigAccess: true})
	for _, ldif := range []string{
		block("ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\n", "\nEOF\n"),
		block("ldapmodify -Y EXTERNAL -H ldapi:/// <<'END'\n", "\nEND\n"),
	} {
		cmd := exec.Command("ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", srv.LDAPIURL)
		cmd.Stdin = strings.NewReader(ldif)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the ldapmodify of docs/LDAP.md: %v\n%s\n%s", err, out, ldif)
		}
	}
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "bob")
	if err := d.SetMethods(ctx, u, flow.MethodChanges{Mobile: ptr("+12125550188"), Email: ptr("bob.private@example.org")}); err != nil {
		t.Fatalf("SetMethods with the documented rights: %v", err)
	}
	if got := slapdLookup(t, d, "bob.private@example.org"); got.Mobile != "+12125550188" {
		t.Fatalf("after the change: %+v", got)
	}
	if err := d.SetMethods(ctx, u, flow.MethodChanges{Office: ptr("+12125550199")}); !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("the office phone, not in the rule: %v, want Insufficient Access Rights", err)
	}
	if err := d.SetPassword(ctx, u, "Docs-ACL-Passw0rd-1"); err != nil {
		t.Fatalf("SetPassword with the documented rights: %v", err)
	}
}
