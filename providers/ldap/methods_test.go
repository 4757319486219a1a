package ldap_test

import (
	"context"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/totp"
)

// registrationACL is the harness's access list with the rule docs/LDAP.md
// adds for "Update my security info": the service account writes the
// mobile and the alternate email of the people.
var registrationACL = strings.Replace(slapd.ACL, `access to dn.subtree="`+slapd.PeopleDN+`"
  by dn.exact=`, `access to dn.subtree="`+slapd.PeopleDN+`" attrs=mobile,mail
  by dn.exact="`+slapd.ServiceDN+`" write
  by self read
  by * break
access to dn.subtree="`+slapd.PeopleDN+`"
  by dn.exact=`, 1)

func ptr(s string) *string { return &s }

// A person's changes reach the mapped attributes in one Modify: new values
// replace the old, an empty one removes the attribute, the app's secret is
// sealed for the entry, and the rest of the entry stays.
func TestOpenLDAPSetMethods(t *testing.T) {
	if registrationACL == slapd.ACL {
		t.Fatal("the registration rule was not placed")
	}
	srv := slapd.StartWith(t, slapd.Options{ACL: registrationACL})
	cfg := slapdConfig(srv)
	key := newTOTPKey(t)
	cfg.TOTPKey = key
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()
	bob := slapdLookup(t, d, "bob")
	secret := newSecret(t, "bob")
	err := d.SetMethods(ctx, bob, flow.MethodChanges{Mobile: ptr("+12125550188"), Email: ptr("bob.private@example.org"), TOTPSecret: ptr(secret)})
	if err != nil {
		t.Fatalf("SetMethods: %v", err)
	}
	got := slapdLookup(t, d, "bob")
	if got.Mobile != "+12125550188" || got.Email != "bob.private@example.org" || got.TOTPSecret != secret || got.Office != bob.Office {
		t.Fatalf("bob after the change: %+v", got)
	}
	if raw := rawTOTP(t, srv, bob.ID); !strings.HasPrefix(raw, totp.SealedPrefix+key.ID()+":") || strings.Contains(raw, secret) {
		t.Fatal("the secret is not sealed at rest")
	}
	if err := d.SetMethods(ctx, got, flow.MethodChanges{Mobile: ptr("")}); err != nil {
		t.Fatalf("removing the mobile: %v", err)
	}
	if v := srv.Attr(bob.ID, "mobile"); len(v) != 0 {
		t.Fatalf("the mobile is still there: %q", v)
	}
	// Removing what is not there is no error.
	if err := d.SetMethods(ctx, got, flow.MethodChanges{Mobile: ptr("")}); err != nil {
		t.Fatalf("removing the mobile again: %v", err)
	}
	if strings.Contains(log.String(), secret) {
		t.Fatal("the log holds the secret")
	}
}

// Without the right to write one of the attributes, nothing of the change
// is written: the app's secret, which the service account may write,
// stays as it was.
func TestOpenLDAPSetMethodsWithoutRights(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	bob := slapdLookup(t, d, "bob")
	secret := newSecret(t, "bob")
	err := d.SetMethods(ctx, bob, flow.MethodChanges{Mobile: ptr("+12125550188"), TOTPSecret: ptr(secret)})
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("SetMethods without the right: %v, want Insufficient Access Rights", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("the error holds the secret")
	}
	got := slapdLookup(t, d, "bob")
	if got.Mobile != bob.Mobile || got.TOTPSecret != "" {
		t.Fatalf("a refused change was written in part: %+v", got)
	}
	// An attribute mapped to none cannot be written.
	cfg := slapdConfig(srv)
	cfg.Attributes.Office = "-"
	d2, _ := slapdDirectory(t, cfg)
	if err := d2.SetMethods(ctx, bob, flow.MethodChanges{Office: ptr("+12125550199")}); err == nil || !strings.Contains(err.Error(), "attributes.office") {
		t.Fatalf("office mapped to none: %v", err)
	}
}
