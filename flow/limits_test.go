package flow_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// wrongTOTP is one wrong authenticator code for login in a new session.
func (r *rig) wrongTOTP(login string) error {
	r.t.Helper()
	s := r.identified(login)
	mustOK(r.t, s.Choose(bg, flow.TOTPApp))
	return s.SubmitCode(bg, otherCode(totpCode(r.t, r.clock.Now())))
}

// wrongNumber is one wrong phone number for login in a new session.
func (r *rig) wrongNumber(login string) error {
	r.t.Helper()
	s := r.identified(login)
	mustOK(r.t, s.Choose(bg, flow.TextMobile))
	return s.ConfirmNumber(bg, "+15550109999")
}

// TestFailuresSuspendTheAccount: five failed verifications of one method
// in an hour, in any sessions, pause self-service reset for the account
// for 24 hours, and say so plainly; the directory is not touched.
func TestFailuresSuspendTheAccount(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	fe := mustReason(t, r.wrongTOTP("alice"), flow.ReasonSuspended)
	if !fe.Final || fe.RetryAfter != 24*time.Hour {
		t.Fatalf("suspension %+v", fe)
	}
	want := "Too many attempts. Self-service reset is paused for this account until 09:26 UTC on 15 March. Try again then, or call the helpdesk."
	if fe.Message != want {
		t.Fatalf("message %q\nwant    %q", fe.Message, want)
	}
	// Identify says the same, and stays on its step.
	s := r.begin()
	fe = mustReason(t, s.Identify(bg, "ALICE", ""), flow.ReasonSuspended)
	if fe.Final || fe.Message != want {
		t.Fatalf("identify: %+v", fe)
	}
	mustStep(t, s, flow.StepIdentify)
	// Another login still works.
	mustOK(t, s.Identify(bg, "erin", ""))
	// Nothing verifies meanwhile, and nothing is sent.
	r.clock.Advance(23 * time.Hour)
	mustReason(t, r.begin().Identify(bg, "alice", ""), flow.ReasonSuspended)
	if r.sends() != 0 || len(r.dir.Sets()) != 0 {
		t.Fatal("sent or wrote for a suspended account")
	}
	if !strings.Contains(r.audit.String(), `"step":"suspend","result":"held"`) {
		t.Fatalf("no suspension in the audit:\n%s", r.audit.String())
	}
	r.clock.Advance(time.Hour)
	mustOK(t, r.begin().Identify(bg, "alice", ""))
}

// TestFailureWindow: failures older than the window no longer count.
func TestFailureWindow(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	r.clock.Advance(time.Hour + time.Second)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	mustReason(t, r.wrongTOTP("alice"), flow.ReasonSuspended)
}

// TestFailuresCountPerMethod: wrong numbers, codes and approvals each count
// against their own method; any one reaching the limit suspends.
func TestFailuresCountPerMethod(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
		mustReason(t, r.wrongNumber("alice"), flow.ReasonNumberMismatch)
	}
	mustReason(t, r.wrongNumber("alice"), flow.ReasonSuspended)
}

// countingTOTP counts the codes it is asked to check.
type countingTOTP struct {
	flow.TOTP
	n atomic.Int64
}

func (c *countingTOTP) Validate(secret, code string, at time.Time) (int64, bool) {
	c.n.Add(1)
	return c.TOTP.Validate(secret, code, at)
}

// TestParallelGuessesAcrossEngines: 50 goroutines in 50 sessions on two
// engines sharing one store (two instances) guess alice's authenticator
// code at once. No more than five guesses are ever checked before the
// account is suspended.
func TestParallelGuessesAcrossEngines(t *testing.T) {
	for round := 0; round < 5; round++ {
		r := newRig(t)
		counter := &countingTOTP{TOTP: totp.New()}
		engines := make([]*flow.Engine, 2)
		for i := range engines {
			eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: r.dir, Store: r.store, TOTP: counter,
				SMS: r.sms, Email: r.email, Push: r.push, Clock: r.clock})
			mustOK(t, err)
			engines[i] = eng
		}
		sessions := make([]*flow.Session, 50)
		for i := range sessions {
			s := mustBegin(t, engines[i%2], flow.Origin{Channel: flow.SSH, Remote: fmt.Sprintf("198.51.100.%d:22", i)})
			mustOK(t, s.Identify(bg, "alice", ""))
			mustOK(t, s.Choose(bg, flow.TOTPApp))
			sessions[i] = s
		}
		wrong := otherCode(totpCode(t, r.clock.Now()))
		errs := parallel(len(sessions), func(i int) error { return sessions[i].SubmitCode(bg, wrong) })
		byReason := map[flow.Reason]int{}
		for _, e := range errs {
			byReason[flow.ReasonOf(e)]++
		}
		if n := counter.n.Load(); n > 5 {
			t.Fatalf("round %d: %d guesses were checked, at most 5 may be (outcomes %v)", round, n, byReason)
		}
		if byReason[flow.ReasonCodeWrong] > 4 || byReason[flow.ReasonSuspended] < 46 {
			t.Fatalf("round %d: outcomes %v", round, byReason)
		}
		// Even the right code is refused now, on either engine.
		s := mustBegin(t, engines[1], flow.Origin{Channel: flow.Local})
		mustReason(t, s.Identify(bg, "alice", ""), flow.ReasonSuspended)
		t.Logf("round %d: %d guesses checked, outcomes %v", round, counter.n.Load(), byReason)
	}
}

// TestSuccessfulResetClearsFailures: four failures, then a reset with other
// methods, then four more failures: no suspension, since the reset cleared
// the account's counts. A suspended account cannot reach a reset at all, so
// this is the only way a count is cleared.
func TestSuccessfulResetClearsFailures(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongNumber("alice"), flow.ReasonNumberMismatch)
	}
	s, code := r.atCode("alice", flow.EmailAltern)
	mustOK(t, s.SubmitCode(bg, code))
	mustOK(t, s.Choose(bg, flow.PushApp))
	mustOK(t, r.eng.Approve(bg, r.push.Last(t).Token, s.State().Show))
	mustOK(t, s.Wait(bg))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongNumber("alice"), flow.ReasonNumberMismatch)
	}
	mustReason(t, r.wrongNumber("alice"), flow.ReasonSuspended)
}

// TestConsecutiveFailures: failures in a row of one authenticator are
// bounded whatever their pace, and a success starts the count again.
func TestConsecutiveFailures(t *testing.T) {
	slow := func(c *flow.Config) {
		c.Limits.FailureWindow = time.Minute
		c.Limits.ConsecutiveFailures = 7
	}
	r := newRig(t, slow)
	for i := 0; i < 6; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
		r.clock.Advance(2 * time.Minute) // far apart: the window never fills
	}
	s := r.identified("alice")
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	for i := 0; i < 6; i++ {
		r.clock.Advance(2 * time.Minute)
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	r.clock.Advance(2 * time.Minute)
	mustReason(t, r.wrongTOTP("alice"), flow.ReasonSuspended)
}

// TestDecoySuspendedLikeReal: an unknown login is counted and suspended
// exactly like a real account: same refusals, same words, same times.
func TestDecoySuspendedLikeReal(t *testing.T) {
	type outcome struct {
		Reason     flow.Reason
		Message    string
		Final      bool
		RetryAfter time.Duration
	}
	run := func(login string) []outcome {
		r := newRig(t)
		var out []outcome
		note := func(err error) {
			fe, _ := err.(*flow.Error)
			if fe == nil {
				out = append(out, outcome{})
				return
			}
			out = append(out, outcome{fe.Reason, fe.Message, fe.Final, fe.RetryAfter})
		}
		for i := 0; i < 6; i++ {
			s := r.begin()
			err := s.Identify(bg, login, "")
			note(err)
			if err != nil {
				continue
			}
			mustOK(t, s.Choose(bg, flow.TextMobile))
			note(s.ConfirmNumber(bg, "+15550109999"))
			r.clock.Advance(time.Minute)
		}
		if r.sends() != 0 {
			t.Fatalf("%s: sent", login)
		}
		return out
	}
	real, decoy := run("alice"), run("zed")
	if fmt.Sprint(real) != fmt.Sprint(decoy) {
		t.Fatalf("outcomes differ:\nreal  %v\ndecoy %v", real, decoy)
	}
	if real[len(real)-1].Reason != flow.ReasonSuspended {
		t.Fatalf("never suspended: %v", real)
	}
}

// decoyWith returns an unknown login whose decoy offers m.
func decoyWith(t *testing.T, ms ...flow.MethodID) string {
	t.Helper()
	r := newRig(t)
	for i := 0; i < 100; i++ {
		login := fmt.Sprintf("zed%d@example.com", i)
		got := r.identified(login).Methods()
		if !slices.ContainsFunc(ms, func(m flow.MethodID) bool { return !hasMethod(got, m) }) {
			return login
		}
	}
	t.Fatalf("no decoy offers %v", ms)
	return ""
}

// sendEmail has login's session send a code by email, returning the error.
func (r *rig) sendEmail(eng *flow.Engine, login string) error {
	r.t.Helper()
	s := mustBegin(r.t, eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:1"})
	mustOK(r.t, s.Identify(bg, login, ""))
	return s.Choose(bg, flow.EmailAltern)
}

// TestAccountSendBudget: 60 s between sends, 3 in 15 minutes and 10 a day
// per account and channel, across sessions; an unknown login gets the same
// answers, and nothing reaches a provider when refused.
func TestAccountSendBudget(t *testing.T) {
	type outcome struct {
		Reason  flow.Reason
		Message string
		After   time.Duration
	}
	run := func(login string) []outcome {
		r := newRig(t)
		var out []outcome
		try := func() {
			err := r.sendEmail(r.eng, login)
			fe, _ := err.(*flow.Error)
			if fe == nil {
				out = append(out, outcome{})
				return
			}
			out = append(out, outcome{fe.Reason, fe.Message, fe.RetryAfter})
		}
		try()                             // 1
		r.clock.Advance(30 * time.Second) // inside the gap
		try()
		r.clock.Advance(31 * time.Second)
		try() // 2
		r.clock.Advance(61 * time.Second)
		try() // 3
		r.clock.Advance(61 * time.Second)
		try() // over 3 in 15 minutes
		r.clock.Advance(15 * time.Minute)
		for i := 0; i < 8; i++ { // 4 to 10, then over 10 a day
			try()
			r.clock.Advance(16 * time.Minute)
		}
		if login == "alice" {
			if n := r.email.Len(); n != 10 {
				t.Fatalf("%d emails sent, want 10", n)
			}
		} else if r.sends() != 0 {
			t.Fatal("a decoy sent")
		}
		return out
	}
	real := run("alice")
	want := []flow.Reason{"", flow.ReasonCooldown, "", "", flow.ReasonRateLimited, "", "", "", "", "", "", "", flow.ReasonRateLimited}
	for i, o := range real {
		if o.Reason != want[i] {
			t.Fatalf("try %d: %+v, want %q (all: %v)", i+1, o, want[i], real)
		}
	}
	if o := real[1]; o.After != 30*time.Second || o.Message != "You can use this method again in 30 seconds." {
		t.Errorf("gap: %+v", o)
	}
	if o := real[4]; o.After != 15*time.Minute-183*time.Second ||
		o.Message != "Too many messages were sent for this account recently. You can ask for another in 12 minutes, or choose another method." {
		t.Errorf("15 minutes: %+v", o)
	}
	if decoy := run(decoyWith(t, flow.EmailAltern)); fmt.Sprint(decoy) != fmt.Sprint(real) {
		t.Fatalf("decoy differs:\nreal  %v\ndecoy %v", real, decoy)
	}
}

// TestDestinationSendBudget: two accounts that share one mobile number, on
// two engines sharing one store, share the number's budget.
func TestDestinationSendBudget(t *testing.T) {
	r := newRig(t)
	const shared = "+15550100088"
	r.dir.users["twin1"] = flow.User{ID: "uid=twin1", Login: "twin1", Mobile: shared}
	r.dir.users["twin2"] = flow.User{ID: "uid=twin2", Login: "twin2", Mobile: "+1 555 010 0088"}
	other, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: r.dir, Store: r.store, SMS: r.sms, Clock: r.clock})
	mustOK(t, err)
	text := func(eng *flow.Engine, login string) error {
		s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
		mustOK(t, s.Identify(bg, login, ""))
		mustOK(t, s.Choose(bg, flow.TextMobile))
		return s.ConfirmNumber(bg, shared)
	}
	mustOK(t, text(r.eng, "twin1"))
	r.clock.Advance(30 * time.Second)
	mustReason(t, text(other, "twin2"), flow.ReasonCooldown) // the number's gap
	r.clock.Advance(31 * time.Second)
	mustOK(t, text(other, "twin2"))
	r.clock.Advance(61 * time.Second)
	mustOK(t, text(r.eng, "twin1"))
	r.clock.Advance(61 * time.Second)
	fe := mustReason(t, text(other, "twin2"), flow.ReasonRateLimited)
	if !strings.Contains(fe.Message, "Too many messages were sent for this account recently") {
		t.Fatalf("message %q", fe.Message)
	}
	if n := r.sms.Len(); n != 3 {
		t.Fatalf("%d texts to one number in 15 minutes, want 3", n)
	}
	for _, d := range r.sms.All() {
		if d.To != shared {
			t.Fatalf("sent to %q", d.To)
		}
	}
}

// TestGlobalSendBudget: when the hourly budget of all sends is spent,
// every send is refused, real or decoy, on every engine, and one alert is
// logged.
func TestGlobalSendBudget(t *testing.T) {
	budget := func(c *flow.Config) { c.Limits.SendsGlobal = flow.Rate{Count: 3, Per: time.Hour} }
	r := newRig(t, budget)
	cfg := baseConfig()
	budget(&cfg)
	other, err := flow.NewEngine(cfg, flow.Deps{Directory: r.dir, Store: r.store, SMS: r.sms, Email: r.email,
		Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
	mustOK(t, err)
	mustOK(t, r.sendEmail(r.eng, "alice"))
	mustOK(t, r.sendEmail(other, "erin"))
	mustOK(t, r.sendEmail(r.eng, "emile"))
	// Decoys spend nothing of it.
	zed := decoyWith(t, flow.EmailAltern)
	mustOK(t, r.sendEmail(other, zed))
	r.clock.Advance(10 * time.Minute)
	want := "We can't send messages right now. Please try again in 50 minutes, or call the helpdesk."
	for _, try := range []struct {
		eng   *flow.Engine
		login string
	}{{r.eng, "alice"}, {other, "erin"}, {r.eng, zed}} {
		fe := mustReason(t, r.sendEmail(try.eng, try.login), flow.ReasonRateLimited)
		if fe.Message != want || fe.RetryAfter != 50*time.Minute {
			t.Fatalf("%s: %+v", try.login, fe)
		}
	}
	if n := r.email.Len(); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
	alerts := 0
	for _, m := range auditLines(t, r.audit.String()) {
		if str(m, "alert") == "send_budget_spent" {
			alerts++
			if str(m, "level") != "ERROR" {
				t.Errorf("alert at level %q", str(m, "level"))
			}
		}
	}
	if alerts != 1 {
		t.Fatalf("%d alerts, want 1", alerts)
	}
	r.clock.Advance(50 * time.Minute)
	mustOK(t, r.sendEmail(r.eng, "alice"))
}

// TestSessionsPerSource: ten new sessions in ten seconds per address; a
// trusted range and a kiosk have limits of their own.
func TestSessionsPerSource(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.Limits = flow.Limits{TrustedSources: []string{"198.51.100.0/24", "Kiosk-Lobby"},
			TrustedSessions: flow.Rate{Count: 20, Per: 10 * time.Second}}
	})
	begin := func(ch flow.Channel, remote string) error {
		_, err := r.eng.Begin(bg, flow.Origin{Channel: ch, Remote: remote})
		return err
	}
	for i := 0; i < 10; i++ {
		mustOK(t, begin(flow.SSH, fmt.Sprintf("192.0.2.7:%d", 40000+i)))
	}
	err := begin(flow.SSH, "192.0.2.7:50000")
	var fe *flow.Error
	if flow.ReasonOf(err) != flow.ReasonRateLimited || !flow.IsFinal(err) {
		t.Fatalf("11th session: %v", err)
	}
	fe = err.(*flow.Error)
	if fe.Message != "Too many new sessions from your address. Please try again in 10 seconds." || fe.RetryAfter != 10*time.Second || fe.Ref == "" {
		t.Fatalf("refusal %+v", fe)
	}
	mustOK(t, begin(flow.SSH, "192.0.2.8:50000")) // another address
	for i := 0; i < 20; i++ {
		mustOK(t, begin(flow.SSH, fmt.Sprintf("198.51.100.9:%d", i)))
		mustOK(t, begin(flow.Kiosk, "kiosk-lobby"))
	}
	mustReason(t, begin(flow.SSH, "198.51.100.9:99"), flow.ReasonRateLimited)
	mustReason(t, begin(flow.Kiosk, "kiosk-lobby"), flow.ReasonRateLimited)
	r.clock.Advance(10 * time.Second)
	mustOK(t, begin(flow.SSH, "192.0.2.7:50001"))
	if !strings.Contains(r.audit.String(), `"limit":"sessions_per_source"`) {
		t.Fatal("refusal not in the audit")
	}
}

// TestIdentifyPerSource: twenty identify attempts an hour per address,
// wrong CAPTCHA answers included; the next is refused before the CAPTCHA
// is read or the directory asked.
func TestIdentifyPerSource(t *testing.T) {
	r := newRig(t, captchaOn, func(c *flow.Config) {
		c.Limits = flow.Limits{SessionsPerSource: flow.Rate{Count: 100, Per: time.Second}}
		c.CaptchaMaxFailures = 10
	})
	s := r.begin()
	for i := 0; i < 10; i++ {
		mustReason(t, s.Identify(bg, "alice", wrongAnswer(s)), flow.ReasonCaptchaWrong)
	}
	for i := 0; i < 10; i++ {
		x := r.begin()
		mustOK(t, x.Identify(bg, fmt.Sprintf("user%d", i), flow.CaptchaAnswer(x)))
	}
	lookups := r.dir.Lookups()
	x := r.begin()
	answer := flow.CaptchaAnswer(x)
	fe := mustReason(t, x.Identify(bg, "alice", answer), flow.ReasonRateLimited)
	if fe.Message != "Too many attempts from your address. Please try again in 60 minutes." || fe.RetryAfter != time.Hour {
		t.Fatalf("refusal %+v", fe)
	}
	if r.dir.Lookups() != lookups {
		t.Fatal("the directory was asked")
	}
	if flow.CaptchaAnswer(x) != answer {
		t.Fatal("the refusal used up the picture")
	}
	r.clock.Advance(time.Hour)
	y := r.begin()
	mustOK(t, y.Identify(bg, "alice", flow.CaptchaAnswer(y)))
}

// TestStoreKeysCarryNoLogin: no login, number or address appears in the
// name of any key the limits use.
func TestStoreKeysCarryNoLogin(t *testing.T) {
	r := newRig(t)
	rec := &keyRecorder{testStore: r.store}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: r.dir, Store: rec, SMS: r.sms, Email: r.email,
		Push: r.push, TOTP: totp.New(), Clock: r.clock})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:5"})
	mustOK(t, s.Identify(bg, "alice", ""))
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustReason(t, s.ConfirmNumber(bg, "+15550109999"), flow.ReasonNumberMismatch)
	mustOK(t, s.ConfirmNumber(bg, aliceMobile))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.sms.Last(t))))
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	z := mustBegin(t, eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:6"})
	mustOK(t, z.Identify(bg, "zed", ""))
	keys := rec.all()
	if len(keys) < 10 {
		t.Fatalf("only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if leak := containsAny(strings.ToLower(k), "alice", "uid=", "zed", "5550100042", "192.0.2", "example.com"); leak != "" {
			t.Fatalf("key %q carries %q", k, leak)
		}
	}
}

// keyRecorder notes every key the engine uses.
type keyRecorder struct {
	*testStore
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) note(keys ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, keys...)
}

func (k *keyRecorder) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...)
}

func (k *keyRecorder) Take(ctx context.Context, key string, limit int, w time.Duration) (bool, time.Duration, error) {
	k.note(key)
	return k.testStore.Take(ctx, key, limit, w)
}

func (k *keyRecorder) Add(ctx context.Context, key string, w time.Duration) (int, error) {
	k.note(key)
	return k.testStore.Add(ctx, key, w)
}

func (k *keyRecorder) Hold(ctx context.Context, key string, ttl time.Duration) error {
	k.note(key)
	return k.testStore.Hold(ctx, key, ttl)
}

func (k *keyRecorder) Held(ctx context.Context, key string) (time.Duration, error) {
	k.note(key)
	return k.testStore.Held(ctx, key)
}

func (k *keyRecorder) Forget(ctx context.Context, keys ...string) error {
	k.note(keys...)
	return k.testStore.Forget(ctx, keys...)
}

func (k *keyRecorder) UseOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	k.note(key)
	return k.testStore.UseOnce(ctx, key, ttl)
}

// TestLimitsValidate: every limit out of bounds is refused, naming its key.
func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		set   func(*flow.Config)
		field string
	}{
		{func(c *flow.Config) { c.Limits.Failures = -1 }, "limits.failures"},
		{func(c *flow.Config) { c.Limits.FailureWindow = -time.Hour }, "limits.failure_window"},
		{func(c *flow.Config) { c.Limits.Suspension = -time.Hour }, "limits.suspension"},
		{func(c *flow.Config) { c.Limits.ConsecutiveFailures = -1 }, "limits.consecutive_failures"},
		{func(c *flow.Config) { c.Limits.SendGap = -time.Second }, "limits.send_gap"},
		{func(c *flow.Config) { c.Limits.SendsPerAccount = []flow.Rate{} }, "limits.sends_per_account"},
		{func(c *flow.Config) { c.Limits.SendsPerAccount = []flow.Rate{{Count: 0, Per: time.Hour}} }, "limits.sends_per_account[0]"},
		{func(c *flow.Config) { c.Limits.SendsPerDestination = []flow.Rate{{Count: 3, Per: -time.Hour}} }, "limits.sends_per_destination[0]"},
		{func(c *flow.Config) { c.Limits.SendsGlobal = flow.Rate{Count: -1, Per: time.Hour} }, "limits.sends_global"},
		{func(c *flow.Config) { c.Limits.AudioPerSource = flow.Rate{Count: 0, Per: -time.Hour} }, "limits.audio_per_source"},
		{func(c *flow.Config) { c.Limits.TrustedSources = []string{"10.0.0.0/99"} }, "limits.trusted_sources[0]"},
		{func(c *flow.Config) { c.Limits.TrustedSources = []string{"kiosk one"} }, "limits.trusted_sources[0]"},
		{func(c *flow.Config) { c.Limits.IdentifyFloor = -time.Second }, "limits.identify_floor"},
		{func(c *flow.Config) { c.Limits.SendJitter = -time.Millisecond }, "limits.send_jitter"},
		{func(c *flow.Config) { c.Privileged.Mode = "sometimes" }, "privileged.mode"},
		{func(c *flow.Config) { c.Privileged.Groups = []string{" "} }, "privileged.groups[0]"},
		{func(c *flow.Config) { c.Notices.Admins = []string{"root"} }, "notices.admins[0]"},
		{func(c *flow.Config) { c.Notices.Helpdesk = "call\x1b[31m" }, "notices.helpdesk"},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			c := baseConfig()
			tc.set(&c)
			_, err := flow.NewEngine(c, flow.Deps{Directory: &fakeDir{}, Store: newTestStore(time.Now)})
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("NewEngine: %v, want an error naming %q", err, tc.field)
			}
		})
	}
	c := flow.DefaultConfig()
	c.SecretKey = testKey
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
