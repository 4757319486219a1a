package storetest

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// Bench times the store's operations one at a time, as a session makes
// them: the sliding-window limits (Take, Add), the replay cache (UseOnce)
// and a pending approval created, answered and collected.
func Bench(b *testing.B, s flow.Store) {
	ctx := context.Background()
	b.Run("Take", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			// 1,000 keys of 5 events an hour: most calls are refused,
			// as for a window that is full.
			if _, _, err := s.Take(ctx, "take:"+strconv.Itoa(i%1000), 5, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Add", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Add(ctx, "add:"+strconv.Itoa(i%1000), time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UseOnce", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if ok, err := s.UseOnce(ctx, "once:"+strconv.Itoa(i), time.Minute); err != nil || !ok {
				b.Fatalf("UseOnce: %v %v", ok, err)
			}
		}
	})
	b.Run("Approval", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			token := "tok" + strconv.Itoa(i)
			if err := s.CreateApproval(ctx, token, time.Minute); err != nil {
				b.Fatal(err)
			}
			if err := s.ResolveApproval(ctx, token, "42"); err != nil {
				b.Fatal(err)
			}
			if got, err := s.AwaitApproval(ctx, token); err != nil || got != "42" {
				b.Fatalf("AwaitApproval: %q %v", got, err)
			}
		}
	})
}

// BenchCodeCycle times one code issued and verified through an engine on
// store s: begin a session, identify, choose the email code, submit it. The
// timing floors are skipped (they are waiting, not work) and the limits
// that would refuse a benchmark's many sessions are lifted; each session
// uses a login of its own.
func BenchCodeCycle(b *testing.B, s flow.Store) {
	b.ReportAllocs()
	l := flow.DefaultLimits()
	l.SessionsPerSource = flow.Rate{Count: 1 << 30, Per: time.Second}
	l.IdentifyPerSource = flow.Rate{Count: 1 << 30, Per: time.Second}
	l.SendsGlobal = flow.Rate{Count: 1 << 30, Per: time.Hour}
	mail := &lastText{}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, EmailEnabled: true,
		SecretKey: []byte("0123456789abcdef0123456789abcdef"), Limits: l}, flow.Deps{
		Directory: anyoneDir{}, Store: s, TOTP: totp.New(),
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
		sess, err := eng.Begin(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := sess.Identify(ctx, "user"+strconv.Itoa(n), ""); err != nil {
			b.Fatal(err)
		}
		if err := sess.Choose(ctx, flow.EmailAltern); err != nil {
			b.Fatal(err)
		}
		code, ok := mail.code()
		if !ok {
			b.Fatal("no code in the email")
		}
		if err := sess.SubmitCode(ctx, code); err != nil {
			b.Fatal(err)
		}
		sess.Cancel()
	}
}

// anyoneDir answers every login with a person of its own, so the limits
// per account and per destination never refuse.
type anyoneDir struct{}

func (anyoneDir) LookupUser(_ context.Context, login string) (flow.User, error) {
	return flow.User{ID: "uid=" + login, Login: login, Email: login + "@example.com"}, nil
}

func (anyoneDir) SetPassword(context.Context, flow.User, string) error { return nil }

// lastText keeps the text of the latest delivery.
type lastText struct {
	mu   sync.Mutex
	text string
}

func (l *lastText) Deliver(_ context.Context, d flow.Delivery) error {
	l.mu.Lock()
	l.text = d.Text
	l.mu.Unlock()
	return nil
}

var codeRE = regexp.MustCompile(`code is (\d+)\.`)

func (l *lastText) code() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := codeRE.FindStringSubmatch(l.text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// noWait is the real clock whose timing floors return at once.
type noWait struct{}

func (noWait) Now() time.Time                       { return time.Now() }
func (noWait) Sleep(context.Context, time.Duration) {}
