package redisstore

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/storetest"
	"github.com/sspr-project/sspr/providers/totp"
)

// benchRedis starts a redis-server for one benchmark through the same
// helper as the tests (startRedis wants a *testing.T).
func benchRedis(b *testing.B) *Store {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Fatalf("redis-server not found (%v): these benchmarks need a real Redis", err)
	}
	r := &redisServer{bin: bin, dir: b.TempDir()}
	b.Cleanup(r.Kill)
	for attempt := 0; ; {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		r.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		portsMu.Lock()
		taken := ports[r.port]
		ports[r.port] = true
		portsMu.Unlock()
		if taken {
			continue
		}
		if err = r.start(); err == nil {
			break
		}
		if attempt++; attempt == 5 {
			b.Fatalf("redis-server: %v\n%s", err, r.out)
		}
	}
	st, err := New(Config{Addrs: []string{r.Addr()}, Prefix: uniquePrefix()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if err := st.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st
}

// The store's operations against a real redis-server on loopback, one at
// a time: each is one round trip (a script or a command), plus the
// subscription for an approval.
func BenchmarkStore(b *testing.B) { storetest.Bench(b, benchRedis(b)) }

// anyoneDir answers every login with a person of its own, so that the
// limits per account and per destination never refuse.
type anyoneDir struct{}

func (anyoneDir) LookupUser(_ context.Context, login string) (flow.User, error) {
	return flow.User{ID: "uid=" + login, Login: login, Email: login + "@example.com"}, nil
}

func (anyoneDir) SetPassword(context.Context, flow.User, string) error { return nil }

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

// noWait is the real clock whose timing floors return at once.
type noWait struct{}

func (noWait) Now() time.Time                       { return time.Now() }
func (noWait) Sleep(context.Context, time.Duration) {}

var benchCodeRE = regexp.MustCompile(`code is (\d+)\.`)

// One code issued and verified with Redis as the store: begin a session,
// identify, choose the email code, submit it. Compare with
// BenchmarkCodeCycle in flow (the memory store).
func BenchmarkCodeCycle(b *testing.B) {
	b.ReportAllocs()
	st := benchRedis(b)
	l := flow.DefaultLimits()
	l.SessionsPerSource = flow.Rate{Count: 1 << 30, Per: time.Second}
	l.IdentifyPerSource = flow.Rate{Count: 1 << 30, Per: time.Second}
	l.SendsGlobal = flow.Rate{Count: 1 << 30, Per: time.Hour}
	mail := &lastText{}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, EmailEnabled: true,
		SecretKey: []byte("0123456789abcdef0123456789abcdef"), Limits: l}, flow.Deps{
		Directory: anyoneDir{}, Store: st, TOTP: totp.New(),
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
		s, err := eng.Begin(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Identify(ctx, "user"+strconv.Itoa(n), ""); err != nil {
			b.Fatal(err)
		}
		if err := s.Choose(ctx, flow.EmailAltern); err != nil {
			b.Fatal(err)
		}
		mail.mu.Lock()
		m := benchCodeRE.FindStringSubmatch(mail.text)
		mail.mu.Unlock()
		if m == nil {
			b.Fatalf("no code in %q", mail.text)
		}
		if err := s.SubmitCode(ctx, m[1]); err != nil {
			b.Fatal(err)
		}
		s.Cancel()
	}
}
