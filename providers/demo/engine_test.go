package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

type oneUser struct{ u flow.User }

func (d oneUser) LookupUser(_ context.Context, login string) (flow.User, error) {
	if login != d.u.Login {
		return flow.User{}, flow.ErrUnknownUser
	}
	return d.u, nil
}

func (oneUser) SetPassword(context.Context, flow.User, string) error { return nil }

// The demo phone in the engine: a push is answered by tapping the number
// shown on the screen, a text carries the code the screen asks for, and the
// authenticator app shows a code the engine accepts.
func TestPhoneDrivesTheEngine(t *testing.T) {
	const secret = "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"
	alice := flow.User{ID: "alice", Login: "alice", Mobile: "+1 212 555 0101", TOTPSecret: secret}
	phone := demo.New(t.TempDir()+"/outbox.log", map[string]string{"alice": secret})
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, MethodsRequired: 2, SecretKey: []byte(strings.Repeat("k", 32))},
		flow.Deps{Directory: oneUser{alice}, Store: memstore.New(), SMS: phone, Push: phone, TOTP: totp.New()})
	if err != nil {
		t.Fatal(err)
	}
	phone.SetApprover(eng)
	ctx := context.Background()
	s, err := eng.Begin(ctx, flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}

	// Push: tap the number on the screen.
	if err := s.Choose(ctx, flow.PushApp); err != nil {
		t.Fatal(err)
	}
	in := phone.Inbox(s.ID())
	if len(in) != 1 || in[0].Method != flow.PushApp || len(in[0].Choices) != 3 {
		t.Fatalf("inbox after the push: %+v", in)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	if err := phone.Answer(ctx, in[0].Token, s.State().Show); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("push not approved: %v", err)
	}

	// Text: the code in the message.
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmNumber(ctx, "212 555 0101"); err != nil {
		t.Fatal(err)
	}
	in = phone.Inbox(s.ID())
	if len(in) != 2 {
		t.Fatalf("inbox after the text: %+v", in)
	}
	var code string
	for _, w := range strings.Fields(in[1].Text) {
		if w = strings.TrimSuffix(w, "."); len(w) == s.State().CodeLength && strings.Trim(w, "0123456789") == "" {
			code = w
		}
	}
	if err := s.SubmitCode(ctx, code); err != nil {
		t.Fatalf("texted code %q refused: %v", code, err)
	}
	if s.State().Step != flow.StepSetPassword {
		t.Fatalf("step %v, want set_password", s.State().Step)
	}

	// The authenticator app's code is one the engine accepts.
	c, ok := phone.AuthenticatorCode("alice", time.Now())
	if _, valid := totp.New().Validate(secret, c, time.Now()); !ok || !valid {
		t.Errorf("authenticator code %q (%v) not valid", c, ok)
	}
}
