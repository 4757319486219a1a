package ldap_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// "Update my security info" on OpenLDAP, through a real flow.Engine: the
// task is offered, the sign-in checks the password by a bind as the
// person (a wrong one is refused in the words of a change), the texted
// code proves the mobile, and a new mobile, proved by the code texted to
// it, reaches slapd.
func TestOpenLDAPSecurityInfo(t *testing.T) {
	srv := slapd.StartWith(t, slapd.Options{ACL: registrationACL})
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	sms := &textCapture{}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte("k"), 32)},
		flow.Deps{Directory: d, Store: memstore.New(), SMS: sms, TOTP: totp.New()})
	if err != nil {
		t.Fatal(err)
	}
	if !eng.Offers(flow.TaskInfo) {
		t.Fatal("the security info is not offered on OpenLDAP")
	}
	bob := slapdLookup(t, d, "bob")
	if bob.Mobile == "" {
		t.Fatalf("bob has no mobile: %+v", bob)
	}
	begin := func() *flow.Session {
		s, err := eng.BeginTask(ctx, flow.Origin{Channel: flow.Local}, flow.TaskInfo)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := begin()
	var fe *flow.Error
	if err := s.SignIn(ctx, "bob", "Not-His-Passw0rd-1", ""); !errors.As(err, &fe) || fe.Reason != flow.ReasonPasswordWrong {
		t.Fatalf("a wrong password: %v", err)
	}
	s = begin()
	if err := s.SignIn(ctx, "bob", slapd.InitialPassword, ""); err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if st := s.State(); st.Step != flow.StepChooseMethod || st.Task != flow.TaskInfo {
		t.Fatalf("after the sign-in: %+v", st)
	}
	steps := []func() error{
		func() error { return s.Choose(ctx, flow.TextMobile) },
		func() error { return s.ConfirmNumber(ctx, bob.Mobile) },
		func() error { return s.SubmitCode(ctx, sms.lastCode(8)) },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatalf("proof, step %d: %v", i, err)
		}
	}
	if st := s.State(); st.Step != flow.StepManage {
		t.Fatalf("after the proof: %+v", st)
	}
	const newMobile = "+12125550177"
	if err := s.AddContact(ctx, flow.RegMobile, newMobile, flow.TextMobile); err != nil {
		t.Fatalf("AddContact: %v", err)
	}
	if err := s.SubmitCode(ctx, sms.lastCode(8)); err != nil {
		t.Fatalf("the code of the new mobile: %v", err)
	}
	if st := s.State(); st.Step != flow.StepManage || st.Saved != 1 {
		t.Fatalf("after the new mobile: %+v", st)
	}
	if v := srv.Attr(bob.ID, "mobile"); len(v) != 1 || v[0] != newMobile {
		t.Fatalf("mobile in slapd: %q", v)
	}
}
