package ldap_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
)

// setPolicy changes the default password policy of srv as the rootdn.
func setPolicy(srv *slapd.Server, attr, value string) {
	srv.Modify(slapd.PolicyDN, func(r *goldap.ModifyRequest) { r.Replace(attr, []string{value}) })
}

// mustRefuse fails unless err is the directory's refusal for rule, worded
// as flow words it.
func mustRefuse(t *testing.T, err error, rule flow.DirectoryRule) {
	t.Helper()
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Reason != flow.ReasonDirectoryRefused || fe.Rule != rule ||
		fe.Message != flow.DirectoryRefusal(rule, "").Message {
		t.Fatalf("got %v (%+v), want the refusal %q", err, fe, rule)
	}
}

// expire makes every password older than pwdMaxAge (1 s) and waits until
// the current ones have expired.
func expire(t *testing.T, srv *slapd.Server, dn, password string) {
	t.Helper()
	setPolicy(srv, "pwdMaxAge", "1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := srv.Bind(dn, password)
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the password of %s did not expire: %v", dn, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A change as the person on OpenLDAP: the current password checked by a
// bind, a wrong one refused without a write, the change made with the old
// password, the directory's history and minimum age applied to it.
func TestOpenLDAPChangePassword(t *testing.T) {
	srv := slapd.Start(t)
	d, log := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "alice")
	if err := d.CheckPassword(ctx, u, slapd.InitialPassword); err != nil {
		t.Fatalf("CheckPassword with the right password: %v", err)
	}
	if err := d.CheckPassword(ctx, u, "Not-Her-Passw0rd-1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("CheckPassword with a wrong password: %v", err)
	}
	if err := d.ChangePassword(ctx, u, "Not-Her-Passw0rd-1", "Changed-Passw0rd-1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("ChangePassword with a wrong old password: %v", err)
	}
	const changed = "Changed-Passw0rd-1"
	if err := d.ChangePassword(ctx, u, slapd.InitialPassword, changed); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if !srv.CanBind(u.ID, changed) || srv.CanBind(u.ID, slapd.InitialPassword) {
		t.Fatal("the change did not replace the password")
	}
	// A change, not a reset: ppolicy marks no reset.
	if v := srv.Attr(u.ID, "pwdReset"); len(v) != 0 {
		t.Fatalf("pwdReset %v after a change", v)
	}
	mustRefuse(t, d.ChangePassword(ctx, u, changed, slapd.InitialPassword), flow.DirRuleHistory)
	setPolicy(srv, "pwdMinAge", "3600")
	mustRefuse(t, d.ChangePassword(ctx, u, changed, "Too-Soon-Passw0rd-2"), flow.DirRuleTooSoon)
	if !srv.CanBind(u.ID, changed) {
		t.Fatal("a refused change wrote")
	}
	if l := log.String(); strings.Contains(l, changed) || strings.Contains(l, slapd.InitialPassword) {
		t.Fatal("the log holds a password")
	}
	// dave is locked (pwdAccountLockedTime): his right password is
	// refused as a wrong one, ppolicy's reason kept for the audit.
	err := d.CheckPassword(ctx, slapdLookup(t, d, "dave"), slapd.InitialPassword)
	if !errors.Is(err, flow.ErrWrongPassword) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("CheckPassword of a locked account: %v", err)
	}
}

// An expired password with no grace login left cannot bind, yet slapd
// says it is the right one, and it can be changed: the history still
// holds; a wrong password is still wrong.
func TestOpenLDAPChangeExpiredPassword(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "bob")
	// A password set through ppolicy has a pwdChangedTime to age from.
	const start = "Starting-Passw0rd-1"
	if err := d.SetPassword(ctx, u, start); err != nil {
		t.Fatal(err)
	}
	expire(t, srv, u.ID, start)
	if err := d.CheckPassword(ctx, u, start); !errors.Is(err, flow.ErrPasswordExpired) {
		t.Fatalf("CheckPassword of an expired password: %v", err)
	}
	if err := d.CheckPassword(ctx, u, "Not-His-Passw0rd-1"); !errors.Is(err, flow.ErrWrongPassword) {
		t.Fatalf("CheckPassword with a wrong password: %v", err)
	}
	mustRefuse(t, d.ChangePassword(ctx, u, start, slapd.InitialPassword), flow.DirRuleHistory)
	const changed = "Renewed-Passw0rd-1"
	if err := d.ChangePassword(ctx, u, start, changed); err != nil {
		t.Fatalf("ChangePassword of an expired password: %v", err)
	}
	setPolicy(srv, "pwdMaxAge", "0")
	if !srv.CanBind(u.ID, changed) || srv.CanBind(u.ID, start) {
		t.Fatal("the expired password was not replaced")
	}
}

// With grace logins, an expired password binds a few more times: the
// check and the change each spend one, and the change is made as the
// person.
func TestOpenLDAPChangeInGraceLogins(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "alice")
	const start = "Starting-Passw0rd-1"
	if err := d.SetPassword(ctx, u, start); err != nil {
		t.Fatal(err)
	}
	setPolicy(srv, "pwdGraceAuthNLimit", "3")
	setPolicy(srv, "pwdMaxAge", "1")
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Attr(u.ID, "pwdGraceUseTime")) == 0 {
		// A bind in the grace logins records its use.
		_ = srv.Bind(u.ID, start)
		if time.Now().After(deadline) {
			t.Fatal("no grace login was used")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := d.CheckPassword(ctx, u, start); !errors.Is(err, flow.ErrPasswordExpired) {
		t.Fatalf("CheckPassword in the grace logins: %v", err)
	}
	if n := len(srv.Attr(u.ID, "pwdGraceUseTime")); n != 2 {
		t.Fatalf("%d grace logins used, want 2", n)
	}
	const changed = "Graceful-Passw0rd-1"
	if err := d.ChangePassword(ctx, u, start, changed); err != nil {
		t.Fatalf("ChangePassword in the grace logins: %v", err)
	}
	setPolicy(srv, "pwdMaxAge", "0")
	if !srv.CanBind(u.ID, changed) {
		t.Fatal("the new password does not bind")
	}
	if n := len(srv.Attr(u.ID, "pwdGraceUseTime")); n != 0 {
		t.Fatalf("%d grace logins still recorded after the change", n)
	}
}

// A password an administrator set, which ppolicy says must be changed
// (pwdReset with pwdMustChange), binds only to change it: it can be.
func TestOpenLDAPChangeAfterReset(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "bob")
	setPolicy(srv, "pwdMustChange", "TRUE")
	srv.Modify(u.ID, func(r *goldap.ModifyRequest) { r.Replace("pwdReset", []string{"TRUE"}) })
	if err := d.CheckPassword(ctx, u, slapd.InitialPassword); !errors.Is(err, flow.ErrPasswordExpired) {
		t.Fatalf("CheckPassword of a password to change: %v", err)
	}
	const changed = "Own-Choice-Passw0rd-1"
	if err := d.ChangePassword(ctx, u, slapd.InitialPassword, changed); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if !srv.CanBind(u.ID, changed) || len(srv.Attr(u.ID, "pwdReset")) != 0 {
		t.Fatalf("after the change: binds %v, pwdReset %v", srv.CanBind(u.ID, changed), srv.Attr(u.ID, "pwdReset"))
	}
}
