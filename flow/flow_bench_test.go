package flow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// The CAPTCHA picture of the identify screen, at the size the terminal
// wizard draws it (270x90) before it is mapped onto braille or half blocks.
func BenchmarkSessionCaptcha(b *testing.B) {
	b.ReportAllocs()
	r := newRig(b, func(c *flow.Config) { c.CaptchaDisabled = false })
	s := r.begin()
	for b.Loop() {
		if img := s.Captcha(270, 90); img == nil {
			b.Fatal("no picture")
		}
	}
}

// keystrokeInputs are two candidates of each length that differ in their
// last character, as two successive key presses would: alternating them
// keeps the session's memo of the last score from answering.
var keystrokeInputs = []struct {
	name string
	pw   [2]string
}{
	{"8 chars", [2]string{"Maple-L4", "Maple-L5"}},
	{"20 chars", [2]string{"Maple-Lantern-4821-x", "Maple-Lantern-4821-y"}},
	{"64 chars", [2]string{
		strings.Repeat("Maple-Lantern-4821-", 4)[:63] + "x",
		strings.Repeat("Maple-Lantern-4821-", 4)[:63] + "y"}},
}

// The policy check made on every key press of the password screen, by
// length of the typed password: the package function and the session's
// Check (which adds the lock, the memo and the person from the directory).
// BenchmarkCheckPassword covers longer inputs and the confirmation field.
func BenchmarkKeystrokeCheck(b *testing.B) {
	p := flow.DefaultConfig().Password
	for _, in := range keystrokeInputs {
		b.Run("CheckPassword/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				flow.CheckPassword(p, "alice", in.pw[i&1], "")
				i++
			}
		})
	}
	for _, in := range keystrokeInputs {
		b.Run("Session.Check/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			s := hintsSession(b, p)
			i := 0
			for b.Loop() {
				s.Check(in.pw[i&1], "")
				i++
			}
		})
	}
}

// anyoneDir answers every login with a person of its own, so a benchmark
// can open as many sessions as it likes without meeting the limits per
// account and per destination.
type anyoneDir struct{}

func (anyoneDir) LookupUser(_ context.Context, login string) (flow.User, error) {
	return flow.User{ID: "uid=" + login, Login: login, Email: login + "@example.com"}, nil
}

func (anyoneDir) SetPassword(context.Context, flow.User, string) error { return nil }

// lastCode keeps the code of the latest delivery.
type lastCode struct {
	mu   sync.Mutex
	text string
}

func (l *lastCode) Deliver(_ context.Context, d flow.Delivery) error {
	l.mu.Lock()
	l.text = d.Text
	l.mu.Unlock()
	return nil
}

func (l *lastCode) code(tb testing.TB) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return codeIn(tb, flow.Delivery{Text: l.text})
}

// noWait is the real clock whose timing floors return at once: the floors
// are sleeps, not work.
type noWait struct{}

func (noWait) Now() time.Time                       { return time.Now() }
func (noWait) Sleep(context.Context, time.Duration) {}

// One code issued and verified, on the memory store: begin a session,
// identify, choose the email code, submit it (the operations of the
// store each of these makes, and the code's HMAC). The timing floors are
// skipped and the global send limit is lifted.
func BenchmarkCodeCycle(b *testing.B) {
	b.ReportAllocs()
	cfg := baseConfig()
	cfg.Limits.SendsGlobal = flow.Rate{Count: 1 << 30, Per: time.Hour}
	mail := &lastCode{}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: anyoneDir{}, Store: memstore.New(), TOTP: totp.New(),
		SMS: mail, Voice: mail, Email: mail, Push: mail, Clock: noWait{},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	o := flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"}
	n := 0
	for b.Loop() {
		n++
		s := mustBegin(b, eng, o)
		mustOK(b, s.Identify(ctx, fmt.Sprintf("user%d", n), ""))
		mustOK(b, s.Choose(ctx, flow.EmailAltern))
		mustOK(b, s.SubmitCode(ctx, mail.code(b)))
		s.Cancel()
	}
}
