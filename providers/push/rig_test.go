package push_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// oneUser is a directory of one person who has enrolled the app.
type oneUser struct{ u flow.User }

func (d oneUser) LookupUser(_ context.Context, login string) (flow.User, error) {
	if login != d.u.Login {
		return flow.User{}, flow.ErrUnknownUser
	}
	return d.u, nil
}

func (oneUser) SetPassword(context.Context, flow.User, string) error { return nil }

// alice has the app and an email address: with an app, flow asks for two
// proofs, one of them the app.
var alice = flow.User{ID: "alice", Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com",
	TOTPSecret: "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"}

// mailbox takes emails and drops them.
type mailbox struct{}

func (mailbox) Deliver(context.Context, flow.Delivery) error { return nil }

// rig is a real engine (memory store) with push as its only sender.
type rig struct {
	eng   *flow.Engine
	audit *testserver.SyncBuffer
}

func newRig(t *testing.T, push flow.Sender, ttl time.Duration) *rig {
	t.Helper()
	r := &rig{audit: &testserver.SyncBuffer{}}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, MethodsRequired: 1, EmailEnabled: true, SecretKey: []byte(strings.Repeat("k", 32)), ApprovalTTL: ttl},
		flow.Deps{Directory: oneUser{alice}, Store: memstore.New(), Push: push, Email: mailbox{}, TOTP: totp.New(), Audit: flow.NewAuditLogger(r.audit)})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	return r
}

// identified begins a session and names alice.
func (r *rig) identified(t *testing.T) *flow.Session {
	t.Helper()
	ctx := context.Background()
	s, err := r.eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// wait runs s.Wait in the background.
func wait(s *flow.Session) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Wait(context.Background()) }()
	return done
}

// mustBeVerifiedByPush fails unless the push was the first proof: the
// session is at the second verification, where the app is used up.
func mustBeVerifiedByPush(t *testing.T, s *flow.Session) {
	t.Helper()
	st := s.State()
	if st.Step != flow.StepChooseMethod || st.Verification != 2 {
		t.Fatalf("step %v, verification %d: want choose_method for the second proof", st.Step, st.Verification)
	}
	for _, m := range s.Methods() {
		if m.ID == flow.PushApp || m.ID == flow.TOTPApp {
			t.Fatalf("the app is still offered after it was proved: %+v", s.Methods())
		}
	}
}

func within(t *testing.T, ch <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("no result within %v", d)
		return nil
	}
}

func reason(err error) flow.Reason {
	var fe *flow.Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return ""
}

func mustReason(t *testing.T, err error, want flow.Reason) {
	t.Helper()
	if got := reason(err); got != want {
		t.Fatalf("got %v (reason %q), want reason %q", err, got, want)
	}
}

func newLogger(w *testserver.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// noSecrets fails when any secret appears in any of the logs.
func noSecrets(t *testing.T, logs map[string]string, secrets map[string]string) {
	t.Helper()
	for lname, text := range logs {
		for sname, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the %s log holds the %s:\n%s", lname, sname, text)
			}
		}
	}
}
