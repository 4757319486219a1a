package push_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	fakentfy "github.com/sspr-project/sspr/internal/fakes/ntfy"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/push"
)

const ntfyToken = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"

var ntfyKey = []byte("0123456789abcdef0123456789abcdef-ntfy-test-key")

// ntfyRig is the fake ntfy server, sspr's callback listener, an Ntfy
// sender and an engine using it.
type ntfyRig struct {
	*rig
	fake  *fakentfy.Server
	hooks *httptest.Server
	ntfy  *push.Ntfy
	log   *testserver.SyncBuffer
	// events are what Observe was told, one line each.
	events *testserver.SyncBuffer
}

func newNtfyRig(t *testing.T, ttl time.Duration, mod func(*push.NtfyConfig)) *ntfyRig {
	t.Helper()
	fake := fakentfy.New(map[string]string{ntfyToken: "sspr"})
	t.Cleanup(fake.Close)
	var handler atomic.Value
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(hooks.Close)
	log, events := &testserver.SyncBuffer{}, &testserver.SyncBuffer{}
	cfg := push.NtfyConfig{Server: fake.URL, Token: config.InlineSecret(ntfyToken), PublicURL: hooks.URL, Key: ntfyKey, Log: newLogger(log),
		Observe: func(e string) { _, _ = events.Write([]byte(e + "\n")) }}
	if mod != nil {
		mod(&cfg)
	}
	n, err := push.NewNtfy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &ntfyRig{rig: newRig(t, n, ttl), fake: fake, hooks: hooks, ntfy: n, log: log, events: events}
	mux := http.NewServeMux()
	mux.Handle(push.NtfyHookPath, n.CallbackHandler(r.eng.Approve))
	handler.Store(http.Handler(mux))
	return r
}

// pushed chooses the push and returns the message ntfy got.
func (r *ntfyRig) pushed(t *testing.T, s *flow.Session, n int) fakentfy.Message {
	t.Helper()
	if err := s.Choose(context.Background(), flow.PushApp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.fake.Next(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func labels(m fakentfy.Message) []string {
	var out []string
	for _, a := range m.Actions {
		out = append(out, a.Label)
	}
	return out
}

// secrets are what no log line may hold.
func (r *ntfyRig) secrets(ms ...fakentfy.Message) map[string]string {
	out := map[string]string{"access token": ntfyToken, "key": string(ntfyKey), "key (hex)": hex.EncodeToString(ntfyKey), "topic": r.ntfy.Topic("alice")}
	for _, m := range ms {
		for _, a := range m.Actions {
			var cb struct{ MAC string }
			_ = json.Unmarshal([]byte(a.Body), &cb)
			out["mac "+a.Label] = cb.MAC
			out["approval token "+a.Label] = a.URL[strings.LastIndex(a.URL, "/")+1:]
		}
	}
	return out
}

func (r *ntfyRig) logs() map[string]string {
	return map[string]string{"audit": r.audit.String(), "push": r.log.String()}
}

func TestNtfyRightTapVerifies(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, time.Minute, nil)
	s := r.identified(t)
	m := r.pushed(t, s, 0)

	shown := s.State().Show
	if len(m.Actions) != 3 || !slices.Contains(labels(m), shown) {
		t.Fatalf("buttons %v, screen shows %q", labels(m), shown)
	}
	if m.Topic != r.ntfy.Topic("alice") || !strings.HasPrefix(m.Topic, "sspr_") || len(m.Topic) != len("sspr_")+26 {
		t.Errorf("topic %q", m.Topic)
	}
	if m.User != "sspr" || m.Title != "Password reset" || m.Priority != 4 || !strings.Contains(m.Message, "Tap the number shown on your screen") {
		t.Errorf("message %+v", m)
	}
	for _, a := range m.Actions {
		if a.Action != "http" || a.Method != "POST" || !a.Clear || !strings.HasPrefix(a.URL, r.hooks.URL+"/hooks/ntfy/") {
			t.Errorf("action %+v", a)
		}
	}
	done := wait(s)
	status, body, err := r.fake.Tap(context.Background(), m, shown)
	if err != nil || status != http.StatusOK {
		t.Fatalf("tap: %d %q %v", status, body, err)
	}
	if err := within(t, done, 5*time.Second); err != nil {
		t.Fatalf("the right number did not verify: %v", err)
	}
	mustBeVerifiedByPush(t, s)
	// A second tap is a replay.
	if status, _, _ := r.fake.Tap(context.Background(), m, shown); status != http.StatusConflict {
		t.Errorf("replayed tap: %d, want 409", status)
	}
	if !strings.Contains(r.log.String(), "reason=answered_or_expired") {
		t.Errorf("the replay is not logged:\n%s", r.log.String())
	}
	noSecrets(t, r.logs(), r.secrets(m))
}

func TestNtfyWrongTapFailsTheTry(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, time.Minute, nil)
	s := r.identified(t)
	m := r.pushed(t, s, 0)
	var wrong string
	for _, l := range labels(m) {
		if l != s.State().Show {
			wrong = l
		}
	}
	done := wait(s)
	if status, _, err := r.fake.Tap(context.Background(), m, wrong); err != nil || status != http.StatusOK {
		t.Fatalf("tap: %d %v", status, err)
	}
	mustReason(t, within(t, done, 5*time.Second), flow.ReasonApprovalWrong)
	if st := s.State().Step; st != flow.StepChooseMethod {
		t.Fatalf("step %v, want choose_method", st)
	}
	if !strings.Contains(r.audit.String(), `"reason":"approval_wrong"`) {
		t.Errorf("the failed try is not in the audit:\n%s", r.audit.String())
	}
	noSecrets(t, r.logs(), r.secrets(m))
}

func TestNtfyNoTapTimesOut(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, 700*time.Millisecond, nil)
	s := r.identified(t)
	m := r.pushed(t, s, 0)
	shown := s.State().Show
	start := time.Now()
	mustReason(t, within(t, wait(s), 5*time.Second), flow.ReasonApprovalTimeout)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timed out after %v", d)
	}
	// A tap after the timeout lands nowhere.
	if status, _, _ := r.fake.Tap(context.Background(), m, shown); status != http.StatusConflict {
		t.Errorf("late tap: %d, want 409", status)
	}
	noSecrets(t, r.logs(), r.secrets(m))
}

// Forged callbacks: a wrong MAC, a button's body sent to another
// approval's URL, a made-up token, the wrong method. None verifies, each
// is logged without the secrets it carried.
func TestNtfyForgedCallbacksRefused(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, time.Minute, nil)
	s := r.identified(t)
	m := r.pushed(t, s, 0)
	shown := s.State().Show
	var right fakentfy.Action
	for _, a := range m.Actions {
		if a.Label == shown {
			right = *a
		}
	}
	var cb struct{ Answer, MAC string }
	if err := json.Unmarshal([]byte(right.Body), &cb); err != nil {
		t.Fatal(err)
	}
	token := right.URL[strings.LastIndex(right.URL, "/")+1:]
	flip := []byte(cb.MAC)
	if flip[0] == '0' {
		flip[0] = '1'
	} else {
		flip[0] = '0'
	}
	forge := func(url, body string) *fakentfy.Action {
		a := right
		a.URL, a.Body = url, body
		return &a
	}
	other := strings.Repeat("ab", 16)
	cases := []struct {
		name   string
		action *fakentfy.Action
		status int
		reason string
	}{
		{"bad mac", forge(right.URL, `{"answer":"`+shown+`","mac":"`+string(flip)+`"}`), 403, "bad_mac"},
		{"mac of another number", forge(right.URL, `{"answer":"`+shown+`","mac":"`+strings.Repeat("0", 64)+`"}`), 403, "bad_mac"},
		{"no mac", forge(right.URL, `{"answer":"`+shown+`"}`), 403, "bad_mac"},
		{"wrong token", forge(r.hooks.URL+"/hooks/ntfy/"+other, right.Body), 403, "bad_mac"},
		{"malformed token", forge(r.hooks.URL+"/hooks/ntfy/"+token+"x", right.Body), 404, "malformed_token"},
		{"not json", forge(right.URL, "answer="+shown), 400, "malformed_body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fakentfy.Message{Actions: []*fakentfy.Action{c.action}}
			c.action.Label = "x"
			status, _, err := r.fake.Tap(context.Background(), m, "x")
			if err != nil || status != c.status {
				t.Fatalf("status %d (%v), want %d", status, err, c.status)
			}
			if !strings.Contains(r.log.String(), "reason="+c.reason) {
				t.Errorf("not logged as %s:\n%s", c.reason, r.log.String())
			}
		})
	}
	resp, err := http.Get(right.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	// None of it answered the approval: the real tap still verifies.
	done := wait(s)
	if status, _, _ := r.fake.Tap(context.Background(), m, shown); status != http.StatusOK {
		t.Fatalf("the real tap after the forgeries: %d", status)
	}
	if err := within(t, done, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := r.events.String(), "bad_mac\nbad_mac\nbad_mac\nbad_mac\nmalformed_token\nmalformed_body\nanswered\n"; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
	noSecrets(t, r.logs(), r.secrets(m))
	if strings.Contains(r.log.String(), other) {
		t.Error("a presented token is in the log")
	}
}

// A failing or silent ntfy server makes Deliver fail fast; flow offers the
// method again at once, and nothing is lost when the server is back.
func TestNtfyServerErrorsFailFast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		breakIt func(*fakentfy.Server)
		fix     func(*fakentfy.Server)
	}{
		{"500", func(f *fakentfy.Server) { f.Fail(500) }, func(f *fakentfy.Server) { f.Fail(0) }},
		{"429", func(f *fakentfy.Server) { f.Fail(429) }, func(f *fakentfy.Server) { f.Fail(0) }},
		{"timeout", func(f *fakentfy.Server) { f.Stall(10 * time.Second) }, func(f *fakentfy.Server) { f.Stall(0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newNtfyRig(t, time.Minute, func(c *push.NtfyConfig) { c.Timeout = 400 * time.Millisecond })
			s := r.identified(t)
			c.breakIt(r.fake)
			start := time.Now()
			mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
			took := time.Since(start)
			t.Logf("Choose failed after %v", took)
			if took > 2*time.Second {
				t.Errorf("Deliver took %v", took)
			}
			if st := s.State().Step; st != flow.StepChooseMethod {
				t.Fatalf("step %v, want choose_method", st)
			}
			if !strings.Contains(r.audit.String(), "delivery failed") {
				t.Errorf("no delivery failure in the audit:\n%s", r.audit.String())
			}
			c.fix(r.fake)
			m := r.pushed(t, s, 0)
			done := wait(s)
			if status, _, _ := r.fake.Tap(context.Background(), m, s.State().Show); status != http.StatusOK {
				t.Fatalf("tap: %d", status)
			}
			if err := within(t, done, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			noSecrets(t, r.logs(), r.secrets(m))
		})
	}
}

func TestNtfyWrongAccessToken(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, time.Minute, func(c *push.NtfyConfig) { c.Token = config.InlineSecret("tk_wrongwrongwrongwrongwrongwrong") })
	err := r.ntfy.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "40101") {
		t.Fatalf("check with a wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "tk_wrong") {
		t.Fatalf("the token is in the error: %v", err)
	}
	s := r.identified(t)
	mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
	if len(r.fake.Messages()) != 0 {
		t.Fatal("published with a wrong token")
	}
	if strings.Contains(r.audit.String(), "tk_wrong") {
		t.Fatal("the token is in the audit")
	}
}

func TestNtfyCheck(t *testing.T) {
	t.Parallel()
	r := newNtfyRig(t, time.Minute, nil)
	before := len(r.fake.Messages())
	if err := r.ntfy.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.fake.Messages()) != before {
		t.Fatal("check published a message")
	}
	// Anonymous: the server cannot tell who publishes; check passes, the
	// deny-all fake refuses the publish with 403.
	anon := newNtfyRig(t, time.Minute, func(c *push.NtfyConfig) { c.Token = config.Secret{} })
	if err := anon.ntfy.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := anon.identified(t)
	mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
	if !strings.Contains(anon.audit.String(), "40301") {
		t.Errorf("the 403 is not in the audit:\n%s", anon.audit.String())
	}
}

func TestNtfyConfigRefused(t *testing.T) {
	t.Parallel()
	good := push.NtfyConfig{Server: "https://ntfy.example.com", PublicURL: "https://reset.example.com", Key: ntfyKey}
	for name, mod := range map[string]func(*push.NtfyConfig){
		"short key":     func(c *push.NtfyConfig) { c.Key = []byte("short") },
		"no server":     func(c *push.NtfyConfig) { c.Server = "" },
		"server scheme": func(c *push.NtfyConfig) { c.Server = "ftp://ntfy.example.com" },
		"public query":  func(c *push.NtfyConfig) { c.PublicURL = "https://reset.example.com/?x=1" },
		"prefix":        func(c *push.NtfyConfig) { c.TopicPrefix = "bad/prefix" },
		"priority":      func(c *push.NtfyConfig) { c.Priority = 9 },
	} {
		c := good
		mod(&c)
		if _, err := push.NewNtfy(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := push.NewNtfy(good); err != nil {
		t.Fatal(err)
	}
}

// Topics differ per user and per key, fit ntfy's rule, and do not reveal
// the login.
func TestNtfyTopic(t *testing.T) {
	t.Parallel()
	a := push.NtfyTopic(ntfyKey, "", "alice")
	b := push.NtfyTopic(ntfyKey, "", "bob")
	c := push.NtfyTopic([]byte(strings.Repeat("z", 32)), "", "alice")
	if a == b || a == c || strings.Contains(a, "alice") {
		t.Fatalf("topics %q %q %q", a, b, c)
	}
	for _, tp := range []string{a, b, c} {
		if len(tp) > 64 || strings.Trim(tp, "abcdefghijklmnopqrstuvwxyz234567_") != "" {
			t.Errorf("topic %q breaks ntfy's rule", tp)
		}
	}
}
