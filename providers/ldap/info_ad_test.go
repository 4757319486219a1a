package ldap_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/samba"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// "Update my security info" on the Samba AD DC, through a real
// flow.Engine: the sign-in binds as the person (a wrong password is
// refused in the words of a change), the texted code proves the mobile,
// and a new mobile, proved by the code texted to it, reaches the domain,
// where the service account may write mobile.
func TestADSecurityInfo(t *testing.T) {
	dc := samba.Shared(t)
	su := dc.AddUser(t, samba.NewUser("infoad"))
	out, err := dc.SambaTool("user", "show", samba.ServiceLogin, "--attributes=objectSid")
	if err != nil {
		t.Fatal(err)
	}
	sid := strings.Fields(strings.TrimSpace(out[strings.Index(out, "objectSid:")+len("objectSid:"):]))[0]
	if out, err := dc.SambaTool("dsacl", "set", "--objectdn="+su.DN, "--sddl=(OA;;RPWP;"+mobileAttrGUID+";;"+sid+")"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d, log := adDirectory(t, adConfig(dc))
	ctx := context.Background()
	sms := &textCapture{}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte("k"), 32)},
		flow.Deps{Directory: d, Store: memstore.New(), SMS: sms, TOTP: totp.New()})
	if err != nil {
		t.Fatal(err)
	}
	if !eng.Offers(flow.TaskInfo) {
		t.Fatal("the security info is not offered on Active Directory")
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
	if err := s.SignIn(ctx, su.Login, "Not-The-Passw0rd-1", ""); !errors.As(err, &fe) || fe.Reason != flow.ReasonPasswordWrong {
		t.Fatalf("a wrong password: %v", err)
	}
	s = begin()
	if err := s.SignIn(ctx, su.Login, su.Password, ""); err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	for i, f := range []func() error{
		func() error { return s.Choose(ctx, flow.TextMobile) },
		func() error { return s.ConfirmNumber(ctx, su.Mobile) },
		func() error { return s.SubmitCode(ctx, sms.lastCode(8)) },
		func() error { return s.AddContact(ctx, flow.RegMobile, "+12125550166", flow.TextMobile) },
		func() error { return s.SubmitCode(ctx, sms.lastCode(8)) },
	} {
		if err := f(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if st := s.State(); st.Step != flow.StepManage || st.Saved != 1 {
		t.Fatalf("after the new mobile: %+v", st)
	}
	if got := adLookup(t, d, su.Login).Mobile; got != "+12125550166" {
		t.Fatalf("mobile in the domain: %q", got)
	}
	if strings.Contains(log.String(), su.Password) {
		t.Fatal("the log holds a password")
	}
}
