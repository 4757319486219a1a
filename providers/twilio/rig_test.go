package twilio_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	faketwilio "github.com/sspr-project/sspr/internal/fakes/twilio"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/twilio"
	"github.com/sspr-project/sspr/web"
)

// oneUser is a directory of one account, ana, with a mobile and an office
// phone.
type oneUser struct{}

var ana = flow.User{ID: "uid=ana", Login: "ana", DisplayName: "Ana", Mobile: "+1 212 555 0102", Office: "+1 212 555 0103"}

func (oneUser) LookupUser(_ context.Context, login string) (flow.User, error) {
	if login == "ana" {
		return ana, nil
	}
	return flow.User{}, flow.ErrUnknownUser
}

func (oneUser) SetPassword(context.Context, flow.User, string) error { return nil }

// rig is a flow engine whose texts and calls go through the Twilio client
// to the fake, and whose webhooks arrive at a real side listener on a
// loopback port.
type rig struct {
	t      *testing.T
	fake   *faketwilio.Server
	client *twilio.Client
	eng    *flow.Engine
	public string
	// log holds the provider's and the listener's lines, audit the
	// engine's.
	log, audit *testserver.SyncBuffer

	mu      sync.Mutex
	secrets []string
}

type rigOption func(*twilio.Config)

func newRig(t *testing.T, opts ...rigOption) *rig {
	t.Helper()
	sid, token := faketwilio.NewAccountSID(), faketwilio.NewAuthToken()
	fake := faketwilio.New(sid, token)
	t.Cleanup(fake.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, fake: fake, public: "http://" + l.Addr().String(), log: &testserver.SyncBuffer{}, audit: &testserver.SyncBuffer{}, secrets: []string{token}}
	log := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := twilio.Config{
		AccountSID: sid, AuthToken: config.InlineSecret(token), From: "+12125550100", APIURL: fake.URL, PublicURL: r.public,
		Timeout: 2 * time.Second, Log: log,
	}
	for _, o := range opts {
		o(&cfg)
	}
	r.client, err = twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.eng, err = flow.NewEngine(flow.Config{
		CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{9}, 32),
		Limits: flow.Limits{
			SendGap: time.Millisecond, SendsPerAccount: []flow.Rate{{Count: 100, Per: time.Hour}},
			SendsPerDestination: []flow.Rate{{Count: 100, Per: time.Hour}}, Failures: 50,
			IdentifyFloor: time.Millisecond, IdentifyJitter: time.Millisecond, SendFloor: time.Millisecond, SendJitter: time.Millisecond,
		},
	}, flow.Deps{Directory: oneUser{}, Store: memstore.New(), SMS: r.client, Voice: r.client, Audit: flow.NewAuditLogger(r.audit)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Settings: web.Settings{PublicURL: r.public}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount("POST "+twilio.VoicePath+"{token}", r.client.VoiceHandler(r.eng)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Mount("POST "+twilio.StatusPath, r.client.StatusHandler(r.eng)); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		r.noSecretLogged()
	})
	return r
}

// secret notes a value that must never appear in a log line.
func (r *rig) secret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

// noSecretLogged: the auth token, the codes and the approval tokens are in
// no line of the provider's, the listener's or the engine's log.
func (r *rig) noSecretLogged() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	logs := r.log.String() + r.audit.String()
	for _, s := range r.secrets {
		if s != "" && strings.Contains(logs, s) {
			r.t.Errorf("a secret (%d characters) is in the logs:\n%s", len(s), logs)
		}
	}
}

// identified is a session of ana past the identify step, in lang.
func (r *rig) identified(lang string) *flow.Session {
	r.t.Helper()
	ctx := context.Background()
	s, err := r.eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7", Lang: lang})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := s.Identify(ctx, "ana", ""); err != nil {
		r.t.Fatal(err)
	}
	return s
}

// calling is a session waiting on a call to ana's mobile, the call as the
// fake received it and the approval token.
func (r *rig) calling(lang string) (*flow.Session, faketwilio.Call, string) {
	r.t.Helper()
	s := r.identified(lang)
	ctx := context.Background()
	if err := s.Choose(ctx, flow.CallMobile); err != nil {
		r.t.Fatal(err)
	}
	if err := s.ConfirmNumber(ctx, "(212) 555-0102"); err != nil {
		r.t.Fatal(err)
	}
	calls := r.fake.Calls()
	if len(calls) == 0 {
		r.t.Fatal("no call reached the fake")
	}
	c := calls[len(calls)-1]
	u, err := url.Parse(c.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	token := strings.TrimPrefix(u.Path, twilio.VoicePath)
	r.secret(token)
	return s, c, token
}

// waiting runs s.Wait in the background; the channel gets its result.
func waiting(s *flow.Session) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.Wait(ctx)
	}()
	// Let Wait start waiting before the answer comes.
	time.Sleep(20 * time.Millisecond)
	return done
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the session is still waiting")
		return nil
	}
}

var codeRE = regexp.MustCompile(`code is (\d+)`)

// post sends a webhook of our own making, signed with key.
func post(t *testing.T, key, target string, p url.Values) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(p.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", faketwilio.Sign(key, target, p))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// otherNumber is a two-digit number that is not n.
func otherNumber(n string) string {
	if n == "42" {
		return "43"
	}
	return "42"
}
