package ldap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/samba"
)

// A user who must change the password at next logon (pwdLastSet 0: bind
// result 49, data 773) changes it with the change form of unicodePwd:
// the old password is checked by the domain, the history holds, and
// afterwards the old password no longer binds and the new one does.
func TestADChangeMustChangeAtNextLogon(t *testing.T) {
	dc := samba.Shared(t)
	d, log := adDirectory(t, adConfig(dc))
	ctx := context.Background()
	su := dc.AddUser(t, samba.NewUser("mustchange"))
	dc.Replace(t, su.DN, "pwdLastSet", "0")
	if got := samba.BindError(dc.Bind(su.DN, su.Password)); got != "773" {
		t.Fatalf("the user binds with data %q, want 773", got)
	}
	u := adLookup(t, d, su.Login)
	if err := d.CheckPassword(ctx, u, su.Password); !errors.Is(err, flow.ErrPasswordExpired) {
		t.Fatalf("CheckPassword: %v", err)
	}
	if err := d.CheckPassword(ctx, u, "Not-The-Passw0rd-1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("CheckPassword with a wrong password: %v", err)
	}
	if err := d.ChangePassword(ctx, u, "Not-The-Passw0rd-2", "Fresh-Passw0rd-A1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("ChangePassword with a wrong old password: %v", err)
	}
	mustRefuse(t, d.ChangePassword(ctx, u, su.Password, su.Password), flow.DirRuleHistory)
	const changed = "Fresh-Passw0rd-A1"
	if err := d.ChangePassword(ctx, u, su.Password, changed); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	mustBind(t, dc, su.DN, changed, "the new password")
	if got := samba.BindError(dc.Bind(su.DN, su.Password)); got != "52e" {
		t.Fatalf("the old password binds with data %q, want 52e (wrong password)", got)
	}
	if err := d.CheckPassword(ctx, u, changed); err != nil {
		t.Fatalf("CheckPassword after the change: %v", err)
	}
	if l := log.String(); strings.Contains(l, changed) || strings.Contains(l, su.Password) {
		t.Fatal("the log holds a password")
	}
}

// The domain's minimum password age holds for a change (not for the
// administrator's reset), and is worded as such.
func TestADChangeMinimumAge(t *testing.T) {
	dc := samba.Shared(t)
	d, _ := adDirectory(t, adConfig(dc))
	ctx := context.Background()
	su := dc.AddUser(t, samba.NewUser("minage"))
	u := adLookup(t, d, su.Login)
	if err := d.CheckPassword(ctx, u, su.Password); err != nil {
		t.Fatalf("CheckPassword: %v", err)
	}
	if out, err := dc.SambaTool("domain", "passwordsettings", "set", "--min-pwd-age=1"); err != nil {
		t.Fatalf("samba-tool: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := dc.SambaTool("domain", "passwordsettings", "set", "--min-pwd-age=0"); err != nil {
			t.Errorf("samba-tool: %v\n%s", err, out)
		}
	})
	err := d.ChangePassword(ctx, u, su.Password, "Too-Soon-Passw0rd-1")
	mustRefuse(t, err, flow.DirRuleTooSoon)
	mustBind(t, dc, su.DN, su.Password, "the password after a refused change")
}
