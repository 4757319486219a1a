package ldap_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/samba"
)

// The schemaIDGUIDs of the attributes docs/ACTIVE-DIRECTORY.md grants for
// "Update my security info".
const (
	mobileAttrGUID       = "f0f8ffa3-1191-11d0-a060-00aa006c33ed"
	otherMailboxAttrGUID = "0296c123-40da-11d1-a9c0-0000f80367c1"
)

// On Active Directory, with read and write of mobile and otherMailbox (the
// alternate email mapped there), a person's changes are written in one
// Modify; without them nothing is.
func TestADSetMethods(t *testing.T) {
	dc := samba.Shared(t)
	granted := dc.AddUser(t, samba.NewUser("setmeth"))
	other := dc.AddUser(t, samba.NewUser("nometh"))
	out, err := dc.SambaTool("user", "show", samba.ServiceLogin, "--attributes=objectSid")
	if err != nil {
		t.Fatal(err)
	}
	sid := strings.TrimSpace(out[strings.Index(out, "objectSid:")+len("objectSid:"):])
	sid = strings.Fields(sid)[0]
	// On the one user object here; the guide grants them on the OU,
	// inherited by users, as for lockoutTime.
	sddl := "(OA;;RPWP;" + mobileAttrGUID + ";;" + sid + ")(OA;;RPWP;" + otherMailboxAttrGUID + ";;" + sid + ")"
	if out, err := dc.SambaTool("dsacl", "set", "--objectdn="+granted.DN, "--sddl="+sddl); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg := adConfig(dc)
	cfg.Attributes.Email = "otherMailbox"
	d, _ := adDirectory(t, cfg)
	ctx := context.Background()
	u := adLookup(t, d, granted.Login)
	// sspr check says what the service account may write.
	var out1, out2 bytes.Buffer
	if err := d.Check(ctx, granted.Login, &out1); err != nil {
		t.Fatalf("Check: %v\n%s", err, out1.String())
	}
	if !strings.Contains(out1.String(), "writable: mobile (mobile), email (otherMailbox); not writable: office phone (telephoneNumber)") {
		t.Errorf("check with the rights:\n%s", out1.String())
	}
	_ = d.Check(ctx, other.Login, &out2)
	if !strings.Contains(out2.String(), "writable: none; not writable: mobile (mobile), office phone (telephoneNumber), email (otherMailbox)") {
		t.Errorf("check without the rights:\n%s", out2.String())
	}
	if err := d.SetMethods(ctx, u, flow.MethodChanges{Mobile: ptr("+12125550177"), Email: ptr("private@example.org")}); err != nil {
		t.Fatalf("SetMethods with the rights: %v", err)
	}
	got := adLookup(t, d, granted.Login)
	if got.Mobile != "+12125550177" || got.Email != "private@example.org" || got.Office != u.Office {
		t.Fatalf("after the change: %+v", got)
	}
	if err := d.SetMethods(ctx, got, flow.MethodChanges{Mobile: ptr("")}); err != nil {
		t.Fatalf("removing the mobile: %v", err)
	}
	if got := adLookup(t, d, granted.Login); got.Mobile != "" || got.Email != "private@example.org" {
		t.Fatalf("after removing the mobile: %+v", got)
	}

	o := adLookup(t, d, other.Login)
	err = d.SetMethods(ctx, o, flow.MethodChanges{Mobile: ptr("+12125550177")})
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("without the rights: %v, want Insufficient Access Rights", err)
	}
	if adLookup(t, d, other.Login).Mobile != o.Mobile {
		t.Fatal("written without the rights")
	}
}
