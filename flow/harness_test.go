package flow_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// Fixtures shared by the tests.
const (
	aliceMobile = "+15550100042"
	aliceOffice = "+15550100077"
	aliceEmail  = "alice@example.com"
	aliceSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	goodPass    = "Correct-Horse-Battery-9"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var epoch = time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)

// fakeClock is a Clock the tests move by hand.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Sleep makes fakeClock a flow.Sleeper: the floors of the timing rules
// are recorded, not waited, and the fake time does not move.
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
}

// Slept returns the waits asked for so far, and forgets them.
func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.slept
	c.slept = nil
	return out
}

var errStoreDown = errors.New("store: connection refused")

// testStore is the Store of the tests: the limits, holds and the replay
// cache run on the fake clock, the pending approvals on the real one
// (their waits are real), and every call fails while it is down.
type testStore struct {
	limits    *memstore.Store
	approvals *memstore.Store
	down      atomic.Bool
	only      atomic.Value // string: when set, only this operation fails
	calls     atomic.Int64
}

func newTestStore(now func() time.Time) *testStore {
	return &testStore{limits: memstore.New().WithClock(now), approvals: memstore.New()}
}

// Down makes every call fail (true) or work again (false).
func (t *testStore) Down(down bool) {
	t.only.Store("")
	t.down.Store(down)
}

// DownOn makes only the calls of operation op fail (e.g. "Add").
func (t *testStore) DownOn(op string) {
	t.only.Store(op)
	t.down.Store(true)
}

func (t *testStore) check(op string) error {
	t.calls.Add(1)
	if t.down.Load() {
		if only, _ := t.only.Load().(string); only == "" || only == op {
			return errStoreDown
		}
	}
	return nil
}

func (t *testStore) CreateApproval(ctx context.Context, token string, ttl time.Duration) error {
	if err := t.check("CreateApproval"); err != nil {
		return err
	}
	return t.approvals.CreateApproval(ctx, token, ttl)
}

func (t *testStore) ResolveApproval(ctx context.Context, token, answer string) error {
	if err := t.check("ResolveApproval"); err != nil {
		return err
	}
	return t.approvals.ResolveApproval(ctx, token, answer)
}

func (t *testStore) AwaitApproval(ctx context.Context, token string) (string, error) {
	if err := t.check("AwaitApproval"); err != nil {
		return "", err
	}
	return t.approvals.AwaitApproval(ctx, token)
}

func (t *testStore) DeleteApproval(ctx context.Context, token string) error {
	if err := t.check("DeleteApproval"); err != nil {
		return err
	}
	return t.approvals.DeleteApproval(ctx, token)
}

func (t *testStore) UseOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := t.check("UseOnce"); err != nil {
		return false, err
	}
	return t.limits.UseOnce(ctx, key, ttl)
}

func (t *testStore) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := t.check("Take"); err != nil {
		return false, 0, err
	}
	return t.limits.Take(ctx, key, limit, window)
}

func (t *testStore) Add(ctx context.Context, key string, window time.Duration) (int, error) {
	if err := t.check("Add"); err != nil {
		return 0, err
	}
	return t.limits.Add(ctx, key, window)
}

func (t *testStore) Forget(ctx context.Context, keys ...string) error {
	if err := t.check("Forget"); err != nil {
		return err
	}
	return t.limits.Forget(ctx, keys...)
}

func (t *testStore) Hold(ctx context.Context, key string, ttl time.Duration) error {
	if err := t.check("Hold"); err != nil {
		return err
	}
	return t.limits.Hold(ctx, key, ttl)
}

func (t *testStore) Held(ctx context.Context, key string) (time.Duration, error) {
	if err := t.check("Held"); err != nil {
		return 0, err
	}
	return t.limits.Held(ctx, key)
}

func (t *testStore) Ping(ctx context.Context) error {
	if err := t.check("Ping"); err != nil {
		return err
	}
	return t.limits.Ping(ctx)
}

var _ flow.Store = (*testStore)(nil)

// setCall is one write to the fake directory.
type setCall struct {
	User     flow.User
	Password string
}

// fakeDir is a Directory over a map that records every SetPassword.
type fakeDir struct {
	mu        sync.Mutex
	users     map[string]flow.User // by lower-case login
	lookupErr error
	setErr    error
	lookups   int
	sets      []setCall
}

func (d *fakeDir) LookupUser(_ context.Context, login string) (flow.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.lookupErr != nil {
		return flow.User{}, d.lookupErr
	}
	u, ok := d.users[login]
	if !ok {
		return flow.User{}, flow.ErrUnknownUser
	}
	return u, nil
}

func (d *fakeDir) SetPassword(_ context.Context, u flow.User, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.setErr != nil {
		return d.setErr
	}
	d.sets = append(d.sets, setCall{User: u, Password: pw})
	return nil
}

func (d *fakeDir) Sets() []setCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]setCall(nil), d.sets...)
}

func (d *fakeDir) Lookups() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups
}

// recSender records what it is asked to deliver.
type recSender struct {
	mu  sync.Mutex
	got []flow.Delivery
	err error
}

func (s *recSender) Deliver(_ context.Context, d flow.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, d)
	return nil
}

func (s *recSender) All() []flow.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]flow.Delivery(nil), s.got...)
}

func (s *recSender) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *recSender) Last(t testing.TB) flow.Delivery {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		t.Fatal("nothing was delivered")
	}
	return s.got[len(s.got)-1]
}

func (s *recSender) Reset() {
	s.mu.Lock()
	s.got = nil
	s.mu.Unlock()
}

func (s *recSender) SetErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// rig is an Engine wired to fakes, the memory store and the real TOTP.
type rig struct {
	t     testing.TB
	eng   *flow.Engine
	clock *fakeClock
	dir   *fakeDir
	store *testStore
	sms   *recSender
	voice *recSender
	email *recSender
	push  *recSender
	audit *testserver.SyncBuffer
}

func testUsers() map[string]flow.User {
	return map[string]flow.User{
		"alice": {ID: "uid=alice", Login: "alice", DisplayName: "Alice", Email: aliceEmail,
			Mobile: aliceMobile, Office: aliceOffice, TOTPSecret: aliceSecret},
		// bob has only a mobile: one phone, two ways to reach it.
		"bob":   {ID: "uid=bob", Login: "bob", Mobile: "+1 (555) 010-0013"},
		"carol": {ID: "uid=carol", Login: "carol", Mobile: "+15550100099", Email: "carol@example.com", Disabled: true},
		"erin":  {ID: "uid=erin", Login: "erin", Email: "erin@example.com"},
		"frank": {ID: "uid=frank", Login: "frank"},
		"tess":  {ID: "uid=tess", Login: "tess", TOTPSecret: aliceSecret},
		"emile": {ID: "uid=emile", Login: "emile", Email: "émile@example.com", Mobile: "+15550100055"},
	}
}

// baseConfig has the CAPTCHA off; the CAPTCHA tests turn it on. Every
// session of a rig comes from one address, so the limits per source are
// lifted here; the tests of those limits set their own.
func baseConfig() flow.Config {
	c := flow.DefaultConfig()
	c.Limits.SessionsPerSource = flow.Rate{Count: 1_000_000, Per: time.Second}
	c.Limits.IdentifyPerSource = flow.Rate{Count: 1_000_000, Per: time.Second}
	c.CaptchaDisabled, c.SecretKey = true, testKey
	return c
}

func newRig(t testing.TB, mutate ...func(*flow.Config)) *rig {
	t.Helper()
	cfg := baseConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	clock := &fakeClock{t: epoch}
	r := &rig{
		t:     t,
		clock: clock,
		dir:   &fakeDir{users: testUsers()},
		store: newTestStore(clock.Now),
		sms:   &recSender{}, voice: &recSender{}, email: &recSender{}, push: &recSender{},
		audit: &testserver.SyncBuffer{},
	}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: r.dir, Store: r.store,
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP:  totp.New(),
		Audit: flow.NewAuditLogger(r.audit),
		Clock: r.clock,
	})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	r.eng = eng
	return r
}

func (r *rig) sends() int { return r.sms.Len() + r.voice.Len() + r.email.Len() + r.push.Len() }

// verificationSends counts the codes, calls and pushes sent, not the
// notices after a reset.
func (r *rig) verificationSends() int {
	n := 0
	for _, s := range []*recSender{r.sms, r.voice, r.email, r.push} {
		for _, d := range s.All() {
			if d.Kind == flow.KindVerification {
				n++
			}
		}
	}
	return n
}

func (r *rig) begin() *flow.Session {
	return mustBegin(r.t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"})
}

// identified returns a session past the identify step for login.
func (r *rig) identified(login string) *flow.Session {
	r.t.Helper()
	s := r.begin()
	mustOK(r.t, s.Identify(context.Background(), login, flow.CaptchaAnswer(s)))
	return s
}

// atCode returns a session on the code screen of m (sms or email) and the
// code that was sent.
func (r *rig) atCode(login string, m flow.MethodID) (*flow.Session, string) {
	r.t.Helper()
	ctx := context.Background()
	s := r.identified(login)
	mustOK(r.t, s.Choose(ctx, m))
	var snd *recSender
	switch m {
	case flow.TextMobile:
		mustOK(r.t, s.ConfirmNumber(ctx, aliceMobile))
		snd = r.sms
	case flow.EmailAltern:
		snd = r.email
	default:
		r.t.Fatalf("atCode: %s is not a code method", m)
	}
	mustStep(r.t, s, flow.StepEnterCode)
	return s, codeIn(r.t, snd.Last(r.t))
}

// verified returns a session of alice on the password step. She has an
// authenticator app, so she proves it and her mailbox. The clock moves a
// minute first, past the gap between two sends to one account, and to a
// fresh authenticator code.
func (r *rig) verified() *flow.Session {
	r.t.Helper()
	r.clock.Advance(61 * time.Second)
	s, code := r.atCode("alice", flow.EmailAltern)
	mustOK(r.t, s.SubmitCode(context.Background(), code))
	mustOK(r.t, s.Choose(context.Background(), flow.TOTPApp))
	mustOK(r.t, s.SubmitCode(context.Background(), totpCode(r.t, r.clock.Now())))
	mustStep(r.t, s, flow.StepSetPassword)
	return s
}

var codeRE = regexp.MustCompile(`code is (\d+)\.`)

func codeIn(t testing.TB, d flow.Delivery) string {
	t.Helper()
	m := codeRE.FindStringSubmatch(d.Text)
	if m == nil {
		t.Fatalf("no code in %q", d.Text)
	}
	return m[1]
}

// otherCode returns a code of the same length that is not c.
func otherCode(c string) string {
	b := []byte(c)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// mustBegin opens a session that must be admitted.
func mustBegin(t testing.TB, eng *flow.Engine, o flow.Origin) *flow.Session {
	t.Helper()
	s, err := eng.Begin(context.Background(), o)
	if err != nil {
		t.Fatalf("Begin: %v (reason %q)", err, flow.ReasonOf(err))
	}
	return s
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v (reason %q)", err, flow.ReasonOf(err))
	}
}

func mustReason(t testing.TB, err error, want flow.Reason) *flow.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	var fe *flow.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %T %v, want a *flow.Error", err, err)
	}
	if fe.Reason != want {
		t.Fatalf("got reason %q (%s), want %q", fe.Reason, fe.Message, want)
	}
	if fe.Message == "" || fe.Ref == "" {
		t.Fatalf("error without message or ref: %+v", fe)
	}
	return fe
}

func mustStep(t testing.TB, s *flow.Session, want flow.Step) {
	t.Helper()
	if got := s.State().Step; got != want {
		t.Fatalf("step is %s, want %s", got, want)
	}
}

func methodIDs(ms []flow.Method) []flow.MethodID {
	var out []flow.MethodID
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func hasMethod(ms []flow.Method, id flow.MethodID) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

func totpCode(t testing.TB, at time.Time) string {
	t.Helper()
	c, err := totp.Code(aliceSecret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func containsAny(s string, subs ...string) string {
	for _, x := range subs {
		if x != "" && strings.Contains(s, x) {
			return x
		}
	}
	return ""
}
