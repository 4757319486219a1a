package push_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	fakeduo "github.com/sspr-project/sspr/internal/fakes/duo"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/push"
)

const (
	duoIKey = "DIWJ8X6AEYOR5OMC6TQ1"
	duoSKey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
)

type duoRig struct {
	*rig
	fake *fakeduo.Server
	duo  *push.Duo
	log  *testserver.SyncBuffer
}

func newDuoRig(t *testing.T, ttl time.Duration, mod func(*push.DuoConfig)) *duoRig {
	t.Helper()
	fake := fakeduo.New(duoIKey, duoSKey)
	t.Cleanup(fake.Close)
	fake.AddUser("alice", fakeduo.Phone("DPFZRS9FB0D46QFTM891"))
	log := &testserver.SyncBuffer{}
	cfg := push.DuoConfig{Host: fake.Host, IKey: duoIKey, SKey: config.InlineSecret(duoSKey), HTTPClient: fake.Client,
		PollInterval: 20 * time.Millisecond, Log: newLogger(log)}
	if mod != nil {
		mod(&cfg)
	}
	d, err := push.NewDuo(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	r := &duoRig{rig: newRig(t, d, ttl), fake: fake, duo: d, log: log}
	d.SetApprover(r.eng.Approve)
	return r
}

func (r *duoRig) pushed(t *testing.T, s *flow.Session, n int) fakeduo.Push {
	t.Helper()
	if err := s.Choose(context.Background(), flow.PushApp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := r.fake.NextPush(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (r *duoRig) logs() map[string]string {
	return map[string]string{"audit": r.audit.String(), "push": r.log.String()}
}

var duoSecrets = map[string]string{"secret key": duoSKey}

func TestDuoAllowVerifies(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, time.Minute, nil)
	s := r.identified(t)
	p := r.pushed(t, s, 0)
	shown := s.State().Show
	if p.Username != "alice" || p.DisplayUsername != "alice" || p.Type != "Password reset" || p.Device != "DPFZRS9FB0D46QFTM891" {
		t.Errorf("push %+v", p)
	}
	if got := p.Pushinfo.Get("Number on your screen"); got != shown || shown == "" {
		t.Errorf("push details show %q, the screen %q", got, shown)
	}
	// The calls were preauth, then auth with the documented parameters.
	reqs := r.fake.Requests()
	if len(reqs) < 2 || reqs[0].Path != "/auth/v2/preauth" || reqs[1].Path != "/auth/v2/auth" {
		t.Fatalf("requests %+v", reqs)
	}
	a := reqs[1].Params
	if a.Get("factor") != "push" || a.Get("device") != "auto" || a.Get("async") != "1" || a.Get("username") != "alice" {
		t.Errorf("auth parameters %v", a)
	}
	done := wait(s)
	time.Sleep(100 * time.Millisecond) // the poller is long-polling now
	if err := r.fake.Answer(p.Txid, "allow"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, done, 5*time.Second); err != nil {
		t.Fatalf("approve did not verify: %v", err)
	}
	mustBeVerifiedByPush(t, s)
	noSecrets(t, r.logs(), duoSecrets)
}

func TestDuoDenyFailsTheTry(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{"deny"} {
		t.Run(answer, func(t *testing.T) {
			r := newDuoRig(t, time.Minute, nil)
			s := r.identified(t)
			p := r.pushed(t, s, 0)
			done := wait(s)
			if err := r.fake.Answer(p.Txid, answer); err != nil {
				t.Fatal(err)
			}
			mustReason(t, within(t, done, 5*time.Second), flow.ReasonApprovalWrong)
			if st := s.State(); st.Step != flow.StepChooseMethod || st.Verification != 1 {
				t.Fatalf("state %+v", st)
			}
			noSecrets(t, r.logs(), duoSecrets)
		})
	}
}

// Duo's own timeout of an unanswered push reports nothing: the wait ends
// when the approval expires, "no answer", as for a decoy's push, never
// early as a wrong answer.
func TestDuoTimeoutWaitsForTheApproval(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, 1500*time.Millisecond, nil)
	s := r.identified(t)
	start := time.Now()
	p := r.pushed(t, s, 0)
	done := wait(s)
	if err := r.fake.Answer(p.Txid, "timeout"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the wait ended at Duo's timeout (%v after the push): %v", time.Since(start), err)
	case <-time.After(700 * time.Millisecond):
	}
	mustReason(t, within(t, done, 5*time.Second), flow.ReasonApprovalTimeout)
	if !strings.Contains(r.log.String(), `status=timeout`) && !strings.Contains(r.log.String(), `"status":"timeout"`) {
		t.Errorf("Duo's timeout is not logged:\n%s", r.log.String())
	}
}

func TestDuoNoAnswerTimesOut(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, 700*time.Millisecond, nil)
	s := r.identified(t)
	r.pushed(t, s, 0)
	mustReason(t, within(t, wait(s), 5*time.Second), flow.ReasonApprovalTimeout)
	// The poller stopped at the approval's expiry: Close does not wait.
	start := time.Now()
	r.duo.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if !strings.Contains(r.log.String(), "duo push unanswered") {
		t.Errorf("log:\n%s", r.log.String())
	}
}

// Close ends a poll that is waiting on Duo's long poll.
func TestDuoCloseStopsPolls(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, time.Minute, nil)
	s := r.identified(t)
	r.pushed(t, s, 0)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	r.duo.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	err := r.duo.Deliver(context.Background(), flow.Delivery{Method: flow.PushApp, To: "alice", Token: strings.Repeat("ab", 16),
		Choices: []string{"12", "34", "56"}, Shown: "34", Expires: time.Now().Add(time.Minute)})
	if err == nil || len(r.fake.Pushes()) != 1 {
		t.Fatalf("Deliver after Close: %v, %d pushes", err, len(r.fake.Pushes()))
	}
}

// A wrong secret key is refused by Duo (the fake checks the signature
// itself), and so is a wrong integration key.
func TestDuoWrongKeysRefused(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		mod  func(*push.DuoConfig)
		code string
	}{
		"wrong skey": {func(c *push.DuoConfig) { c.SKey = config.InlineSecret(strings.Repeat("x", 40)) }, "40103"},
		"wrong ikey": {func(c *push.DuoConfig) { c.IKey = "DIXXXXXXXXXXXXXXXXXX" }, "40102"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newDuoRig(t, time.Minute, c.mod)
			err := r.duo.Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.code) {
				t.Fatalf("check: %v, want %s", err, c.code)
			}
			s := r.identified(t)
			mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
			if len(r.fake.Requests()) != 0 || len(r.fake.Pushes()) != 0 {
				t.Fatal("the fake accepted a request")
			}
			if !strings.Contains(r.audit.String(), c.code) {
				t.Errorf("the audit does not say why:\n%s", r.audit.String())
			}
			noSecrets(t, r.logs(), map[string]string{"secret key": strings.Repeat("x", 40), "right secret key": duoSKey})
		})
	}
}

func TestDuoCheck(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, time.Minute, nil)
	if err := r.duo.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := r.fake.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/auth/v2/check" || len(r.fake.Pushes()) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
}

// Users Duo would let through without a push, or cannot push to, are
// refused at Deliver: flow offers another method.
func TestDuoPreauthRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		set  func(*fakeduo.Server)
		want string
	}{
		{"bypass", func(f *fakeduo.Server) { f.SetPreauth("alice", "allow") }, "bypass"},
		{"denied", func(f *fakeduo.Server) { f.SetPreauth("alice", "deny") }, "deny"},
		{"not enrolled", func(f *fakeduo.Server) { f.RemoveUser("alice") }, "not enrolled"},
		{"no push device", func(f *fakeduo.Server) {
			f.AddUser("alice", fakeduo.Device{Device: "DP1", Type: "landline", Capabilities: []string{"phone"}})
		}, "no device"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newDuoRig(t, time.Minute, nil)
			c.set(r.fake)
			s := r.identified(t)
			mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
			if len(r.fake.Pushes()) != 0 {
				t.Fatal("pushed anyway")
			}
			if !strings.Contains(r.audit.String(), c.want) {
				t.Errorf("audit does not say %q:\n%s", c.want, r.audit.String())
			}
		})
	}
}

// A failing or silent Duo makes Deliver fail fast, and flow offers the
// push again as soon as Duo answers.
func TestDuoServerErrorsFailFast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		breakIt func(*fakeduo.Server)
		fix     func(*fakeduo.Server)
	}{
		{"500", func(f *fakeduo.Server) { f.Fail(500) }, func(f *fakeduo.Server) { f.Fail(0) }},
		{"429", func(f *fakeduo.Server) { f.Fail(429) }, func(f *fakeduo.Server) { f.Fail(0) }},
		{"timeout", func(f *fakeduo.Server) { f.Stall(10 * time.Second) }, func(f *fakeduo.Server) { f.Stall(0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newDuoRig(t, time.Minute, func(c *push.DuoConfig) { c.Timeout = 400 * time.Millisecond })
			s := r.identified(t)
			c.breakIt(r.fake)
			start := time.Now()
			mustReason(t, s.Choose(context.Background(), flow.PushApp), flow.ReasonUnavailable)
			took := time.Since(start)
			t.Logf("Choose failed after %v", took)
			if took > 2*time.Second {
				t.Errorf("Deliver took %v", took)
			}
			c.fix(r.fake)
			p := r.pushed(t, s, 0)
			done := wait(s)
			if err := r.fake.Answer(p.Txid, "allow"); err != nil {
				t.Fatal(err)
			}
			if err := within(t, done, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			mustBeVerifiedByPush(t, s)
			noSecrets(t, r.logs(), duoSecrets)
		})
	}
}

func TestDuoConfigRefused(t *testing.T) {
	t.Parallel()
	good := push.DuoConfig{Host: "api-1234abcd.duosecurity.com", IKey: duoIKey, SKey: config.InlineSecret(duoSKey)}
	for name, mod := range map[string]func(*push.DuoConfig){
		"scheme":    func(c *push.DuoConfig) { c.Host = "https://api-1234abcd.duosecurity.com" },
		"no ikey":   func(c *push.DuoConfig) { c.IKey = "" },
		"short key": func(c *push.DuoConfig) { c.SKey = config.InlineSecret("short") },
	} {
		c := good
		mod(&c)
		if _, err := push.NewDuo(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), duoSKey) {
			t.Errorf("%s: the secret key is in the error", name)
		}
	}
	d, err := push.NewDuo(good)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

// auth_status failing for a while (Duo down after the push went out) is
// retried: the answer given later still verifies.
func TestDuoPollRetriesFailures(t *testing.T) {
	t.Parallel()
	r := newDuoRig(t, time.Minute, nil)
	s := r.identified(t)
	p := r.pushed(t, s, 0)
	r.fake.Fail(500)
	done := wait(s)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.log.String(), "duo auth_status failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed poll logged:\n%s", r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.fake.Fail(0)
	if err := r.fake.Answer(p.Txid, "allow"); err != nil {
		t.Fatal(err)
	}
	if err := within(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	mustBeVerifiedByPush(t, s)
	noSecrets(t, r.logs(), duoSecrets)
}
