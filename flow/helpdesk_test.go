package flow_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// hdStore is the test store with helpdesk codes, kept by the memstore on
// the rig's clock.
type hdStore struct{ *testStore }

func (h hdStore) PutHelpdeskCode(ctx context.Context, key string, c flow.HelpdeskCode) error {
	return h.limits.PutHelpdeskCode(ctx, key, c)
}
func (h hdStore) HelpdeskCode(ctx context.Context, key string) (flow.HelpdeskCode, bool, error) {
	return h.limits.HelpdeskCode(ctx, key)
}
func (h hdStore) UseHelpdeskCode(ctx context.Context, key string, hash []byte) (bool, error) {
	return h.limits.UseHelpdeskCode(ctx, key, hash)
}
func (h hdStore) DeleteHelpdeskCode(ctx context.Context, key string) (bool, error) {
	return h.limits.DeleteHelpdeskCode(ctx, key)
}
func (h hdStore) HelpdeskCodes(ctx context.Context) ([]flow.HelpdeskCode, error) {
	return h.limits.HelpdeskCodes(ctx)
}
func (h hdStore) HelpdeskLive(ctx context.Context) (bool, error) { return h.limits.HelpdeskLive(ctx) }

// helpdeskRig is a rig whose store keeps helpdesk codes.
func helpdeskRig(t *testing.T, mutate ...func(*flow.Config)) *rig {
	t.Helper()
	r := newRig(t, mutate...)
	cfg := r.eng.Config()
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: r.dir, Store: hdStore{r.store},
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		Audit: flow.NewAuditLogger(r.audit), Clock: r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	return r
}

func (r *rig) issue(login string, ttl time.Duration, uses int) string {
	r.t.Helper()
	code, _, err := r.eng.IssueHelpdeskCode(context.Background(), login, "ann (root)", ttl, uses)
	if err != nil {
		r.t.Fatalf("IssueHelpdeskCode(%s): %v", login, err)
	}
	return code
}

// atHelpdesk returns a session of login on the helpdesk code screen.
func (r *rig) atHelpdesk(login string) *flow.Session {
	r.t.Helper()
	s := r.identified(login)
	if !hasMethod(s.Methods(), flow.Helpdesk) {
		r.t.Fatalf("%s is not offered the helpdesk code: %v", login, methodIDs(s.Methods()))
	}
	mustOK(r.t, s.Choose(context.Background(), flow.Helpdesk))
	mustStep(r.t, s, flow.StepEnterCode)
	return s
}

func TestHelpdeskCodeFormat(t *testing.T) {
	r := helpdeskRig(t)
	seen := map[string]bool{}
	for range 50 {
		code := r.issue("frank", time.Hour, 1)
		if len(code) != 11 || code[5] != '-' {
			t.Fatalf("code %q: want XXXXX-XXXXX", code)
		}
		for _, c := range strings.ReplaceAll(code, "-", "") {
			if strings.ContainsRune("01OIL", c) || !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '9') {
				t.Fatalf("code %q has the ambiguous or foreign %q", code, c)
			}
		}
		if seen[code] {
			t.Fatalf("code %q issued twice", code)
		}
		seen[code] = true
	}
}

// A person with nothing registered resets with a code from the helpdesk,
// typed in any case and spacing; it works once.
func TestHelpdeskCodeResetsOnce(t *testing.T) {
	r := helpdeskRig(t)
	ctx := context.Background()
	before := r.identified("frank").Methods()
	code := r.issue("frank", time.Hour, 1)
	s := r.atHelpdesk("frank")
	// The list is the one frank saw before the code, with the choice.
	after := s.Methods()
	if !slices.Equal(methodIDs(before), methodIDs(after)) {
		// before has no helpdesk entry: no code was live.
		if !slices.Equal(append(methodIDs(before), flow.Helpdesk), methodIDs(after)) {
			t.Fatalf("frank's list changed with the code: %v, then %v", methodIDs(before), methodIDs(after))
		}
	}
	mustReason(t, s.SubmitCode(ctx, otherHelpdesk(code)), flow.ReasonCodeWrong)
	mustOK(t, s.SubmitCode(ctx, " "+strings.ToLower(strings.ReplaceAll(code, "-", " "))))
	mustStep(t, s, flow.StepSetPassword)
	mustOK(t, s.SetPassword(ctx, "Correct-Horse-Battery-9", "Correct-Horse-Battery-9"))
	if sets := r.dir.Sets(); len(sets) != 1 || sets[0].User.ID != "uid=frank" {
		t.Fatalf("sets = %+v", sets)
	}
	if !strings.Contains(r.audit.String(), `"step":"verify","result":"ok"`) {
		t.Fatal("no verify record")
	}
	// Spent: the choice is gone, and the code verifies nothing.
	if hasMethod(r.identified("frank").Methods(), flow.Helpdesk) {
		t.Fatal("the choice outlives the only code")
	}
	r.issue("erin", time.Hour, 1) // another code keeps the choice offered
	s2 := r.atHelpdesk("frank")
	mustReason(t, s2.SubmitCode(ctx, code), flow.ReasonCodeWrong)
}

func otherHelpdesk(code string) string {
	if code[0] == 'A' {
		return "B" + code[1:]
	}
	return "A" + code[1:]
}

func TestHelpdeskUsesAndExpiry(t *testing.T) {
	r := helpdeskRig(t)
	ctx := context.Background()
	code := r.issue("bob", 10*time.Minute, 2)
	for i := range 2 {
		s := r.atHelpdesk("bob")
		mustOK(t, s.SubmitCode(ctx, code))
		mustStep(t, s, flow.StepSetPassword)
		_ = i
	}
	r.issue("erin", time.Hour, 1)
	mustReason(t, r.atHelpdesk("bob").SubmitCode(ctx, code), flow.ReasonCodeWrong)

	code = r.issue("bob", 10*time.Minute, 1)
	s := r.atHelpdesk("bob")
	r.clock.Advance(10*time.Minute + time.Second)
	mustReason(t, s.SubmitCode(ctx, code), flow.ReasonCodeWrong)
	cs, err := r.eng.HelpdeskCodes(ctx, "ann")
	mustOK(t, err)
	if len(cs) != 1 || cs[0].Login != "erin" || cs[0].Uses != 1 || cs[0].Agent != "ann (root)" || cs[0].Hash != nil {
		t.Fatalf("list = %+v", cs)
	}
}

func TestHelpdeskBounds(t *testing.T) {
	r := helpdeskRig(t, func(c *flow.Config) { c.Helpdesk.MaxTTL, c.Helpdesk.MaxUses = 2*time.Hour, 3 })
	ctx := context.Background()
	for _, c := range []struct {
		login string
		ttl   time.Duration
		uses  int
		want  string
	}{
		{"frank", 3 * time.Hour, 1, "max_ttl"},
		{"frank", 30 * time.Second, 1, "ttl"},
		{"frank", time.Hour, 4, "max_uses"},
		{"frank", time.Hour, 0, "uses"},
		{"nobody", time.Hour, 1, "not in the directory"},
		{"carol", time.Hour, 1, "disabled"},
	} {
		if _, _, err := r.eng.IssueHelpdeskCode(ctx, c.login, "ann", c.ttl, c.uses); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
	if !strings.Contains(r.audit.String(), `"step":"helpdesk_code","agent":"ann","ttl":"3h0m0s","uses":1,"result":"refused"`) {
		t.Fatalf("refusal not audited:\n%s", r.audit.String())
	}
	off := helpdeskRig(t, func(c *flow.Config) { c.Helpdesk.Enabled = false })
	if _, _, err := off.eng.IssueHelpdeskCode(ctx, "frank", "ann", time.Hour, 1); err != flow.ErrHelpdeskOff {
		t.Fatalf("off: err = %v", err)
	}
}

// counts_as: one is one method of a two-method policy; all is enough alone.
func TestHelpdeskCountsAs(t *testing.T) {
	ctx := context.Background()
	two := func(countsAs string) func(*flow.Config) {
		return func(c *flow.Config) { c.MethodsRequired, c.Helpdesk.CountsAs = 2, countsAs }
	}

	r := helpdeskRig(t, two(flow.CountsAsOne))
	code := r.issue("alice", time.Hour, 1)
	s := r.atHelpdesk("alice")
	mustOK(t, s.SubmitCode(ctx, code))
	mustStep(t, s, flow.StepChooseMethod)
	if st := s.State(); st.Verification != 2 || hasMethod(s.Methods(), flow.Helpdesk) {
		t.Fatalf("after the code: %+v %v", st, methodIDs(s.Methods()))
	}
	// bob has one phone: one method and a code are not enough for his
	// own list, so he walks the decoy path and the code verifies nothing.
	code = r.issue("bob", time.Hour, 1)
	mustReason(t, r.atHelpdesk("bob").SubmitCode(ctx, code), flow.ReasonCodeWrong)

	r = helpdeskRig(t, two(flow.CountsAsAll))
	for _, login := range []string{"alice", "bob", "frank"} {
		code := r.issue(login, time.Hour, 1)
		s := r.atHelpdesk(login)
		mustOK(t, s.SubmitCode(ctx, code))
		mustStep(t, s, flow.StepSetPassword)
	}
}

// Wrong codes count toward the suspension like any method's, for a real
// account with a code, one without, and an unknown login alike.
func TestHelpdeskWrongCodesSuspend(t *testing.T) {
	ctx := context.Background()
	for _, login := range []string{"frank", "bob", "nobody"} {
		r := helpdeskRig(t)
		code := r.issue("frank", time.Hour, 1)
		s := r.atHelpdesk(login)
		var err error
		for range r.eng.Config().Limits.Failures {
			if s.State().Step != flow.StepEnterCode {
				s = r.atHelpdesk(login)
			}
			err = s.SubmitCode(ctx, otherHelpdesk(code))
		}
		mustReason(t, err, flow.ReasonSuspended)
		if left, err := r.eng.Suspended(ctx, login); err != nil || left <= 0 {
			t.Fatalf("%s: suspended %v, %v", login, left, err)
		}
		if login == "frank" {
			// Suspended, the right code does not verify either.
			s := r.begin()
			mustReason(t, s.Identify(ctx, "frank", flow.CaptchaAnswer(s)), flow.ReasonSuspended)
		}
	}
}

// Whether the choice is offered depends on no login: every login, real or
// unknown, is offered it while a code is live anywhere, none otherwise.
func TestHelpdeskOfferedAlike(t *testing.T) {
	r := helpdeskRig(t)
	logins := []string{"alice", "bob", "erin", "frank", "tess", "carol", "nobody", "x@example.com", "zed"}
	offered := func() (n int) {
		for _, l := range logins {
			if hasMethod(r.identified(l).Methods(), flow.Helpdesk) {
				n++
			}
		}
		return n
	}
	if n := offered(); n != 0 {
		t.Fatalf("no code live, offered to %d", n)
	}
	before := map[string][]flow.MethodID{}
	for _, l := range logins {
		before[l] = methodIDs(r.identified(l).Methods())
	}
	r.issue("frank", time.Hour, 1)
	if n := offered(); n != len(logins) {
		t.Fatalf("a code live, offered to %d of %d", n, len(logins))
	}
	// Every list is the one shown before, with the choice at the end:
	// frank's too, whose own methods are not enough.
	for _, l := range logins {
		if got := methodIDs(r.identified(l).Methods()); !slices.Equal(got, append(before[l], flow.Helpdesk)) {
			t.Errorf("%s: %v, before %v", l, got, before[l])
		}
	}
	revoked, err := r.eng.RevokeHelpdeskCode(context.Background(), "frank", "ann")
	if err != nil || !revoked {
		t.Fatalf("revoke: %v %v", revoked, err)
	}
	if n := offered(); n != 0 {
		t.Fatalf("revoked, offered to %d", n)
	}
	if !strings.Contains(r.audit.String(), `"step":"helpdesk_revoke","agent":"ann","revoked":true,"result":"ok"`) {
		t.Fatal("revoke not audited")
	}
}

// The person is told at every address; the code is in no message and no
// audit record.
func TestHelpdeskNotice(t *testing.T) {
	r := helpdeskRig(t, func(c *flow.Config) { c.Notices.Helpdesk = "+1 212 555 0100" })
	code := r.issue("alice", time.Hour, 1)
	for _, snd := range []*recSender{r.email, r.sms} {
		d := snd.Last(t)
		if d.Kind != flow.KindNotice || !strings.Contains(d.Text, `The helpdesk issued an access code for your account "alice"`) ||
			!strings.Contains(d.Text, "+1 212 555 0100") || strings.Contains(d.Text, code) {
			t.Fatalf("notice = %+v", d)
		}
	}
	if strings.Contains(r.audit.String(), code) || strings.Contains(r.audit.String(), strings.ReplaceAll(code, "-", "")) {
		t.Fatal("the code is in the audit trail")
	}
	if !strings.Contains(r.audit.String(), `"login":"alice","step":"helpdesk_code","agent":"ann (root)","ttl":"1h0m0s","uses":1,"result":"ok"`) {
		t.Fatalf("issue not audited:\n%s", r.audit.String())
	}
}

// FuzzHelpdeskCode: a typed helpdesk code verifies exactly when, with
// spaces and dashes dropped and in capitals, it is the code issued.
func FuzzHelpdeskCode(f *testing.F) {
	for _, s := range []string{"#", " # ", "#-", "", "ABCDE-FGHJK", "\x00#", "#\n", "ＡＢＣ", "ß#"} {
		f.Add(s)
	}
	// '#' in the input stands for the code that was issued.
	f.Fuzz(func(t *testing.T, pattern string) {
		r := helpdeskRig(t)
		code := r.issue("frank", time.Hour, 1)
		typed := strings.ReplaceAll(pattern, "#", strings.ToLower(code))
		err := r.atHelpdesk("frank").SubmitCode(context.Background(), typed)
		clean := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(flow.Sanitize(typed, flow.MaxCodeLen)))
		if want := clean == strings.ReplaceAll(code, "-", ""); (err == nil) != want {
			t.Fatalf("SubmitCode(%q) with code %s = %v", typed, code, err)
		}
	})
}

// After a reset proved by a helpdesk code, the person (who had no method)
// may add one, and the code to the new number is really sent.
func TestHelpdeskResetThenAddMethod(t *testing.T) {
	r, d := infoRig(t)
	eng, err := flow.NewEngine(r.eng.Config(), flow.Deps{
		Directory: d, Store: hdStore{r.store},
		SMS: r.sms, Voice: r.voice, Email: r.email, Push: r.push,
		TOTP: totp.New(), Audit: flow.NewAuditLogger(r.audit), Clock: r.clock,
	})
	mustOK(t, err)
	r.eng = eng
	code := r.issue("frank", time.Hour, 1)
	s := r.atHelpdesk("frank")
	mustOK(t, s.SubmitCode(bg, code))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if !s.OffersMoreMethods() {
		t.Fatal("frank, with no method, is not offered one")
	}
	mustOK(t, s.AddMoreMethods())
	mustOK(t, s.AddContact(bg, flow.RegMobile, "+1 555 010 0077", flow.TextMobile))
	n := r.sms.Last(t)
	if n.To != "+15550100077" {
		t.Fatalf("the code went to %q", n.To)
	}
	mustOK(t, s.SubmitCode(bg, codeIn(t, n)))
	if lookup(t, d, "frank").Mobile == "" {
		t.Fatal("the new mobile was not saved")
	}
}
