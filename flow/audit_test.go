package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// auditLines parses every line of out as one JSON object.
func auditLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// TestAuditRecords runs a reset with a wrong code, a wrong number, a
// refused password and a success, and checks every line.
func TestAuditRecords(t *testing.T) {
	r := newRig(t)
	s := r.begin()
	mustOK(t, s.Identify(bg, "alice", ""))
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustReason(t, s.ConfirmNumber(bg, "+15550100043"), flow.ReasonNumberMismatch)
	mustOK(t, s.ConfirmNumber(bg, "555-010-0042"))
	code := codeIn(t, r.sms.Last(t))
	mustReason(t, s.SubmitCode(bg, otherCode(code)), flow.ReasonCodeWrong)
	mustOK(t, s.SubmitCode(bg, code))
	first := totpCode(t, r.clock.Now())
	mustOK(t, s.Choose(bg, flow.TOTPApp))
	mustOK(t, s.SubmitCode(bg, first))
	weak := "weakpassword"
	mustReason(t, s.SetPassword(bg, weak, weak), flow.ReasonPolicy)
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))

	// A TOTP success and a replay in two more sessions.
	r.clock.Advance(30 * time.Second)
	tcode := totpCode(t, r.clock.Now())
	for i := 0; i < 2; i++ {
		x := r.identified("alice")
		mustOK(t, x.Choose(bg, flow.TOTPApp))
		_ = x.SubmitCode(bg, tcode)
	}

	out := r.audit.String()
	recs := auditLines(t, out)
	if len(recs) < 10 {
		t.Fatalf("only %d records:\n%s", len(recs), out)
	}
	var outcomes []string
	for _, m := range recs {
		ts, err := time.Parse(time.RFC3339Nano, str(m, "time"))
		if err != nil || !strings.HasSuffix(str(m, "time"), "Z") || ts.Location() != time.UTC {
			t.Errorf("time %q is not UTC RFC 3339", str(m, "time"))
		}
		if len(str(m, "sid")) != 32 {
			t.Errorf("record without sid: %v", m)
		} else if str(m, "ref") != str(m, "sid")[:8] {
			t.Errorf("record without its support code: %v", m)
		}
		if str(m, "sid") != s.ID() {
			continue
		}
		for _, k := range []string{"remote", "channel", "login", "step", "result"} {
			if _, ok := m[k]; !ok {
				t.Errorf("record without %s: %v", k, m)
			}
		}
		if str(m, "remote") != "192.0.2.7:50022" || str(m, "channel") != "ssh" ||
			str(m, "login") != "alice" && str(m, "step") != "session" {
			t.Errorf("record %v", m)
		}
		outcomes = append(outcomes, str(m, "step")+":"+str(m, "result")+":"+str(m, "reason"))
	}
	want := []string{
		"session:started:", "identify:ok:", "choose:ok:",
		"verify:refused:number_mismatch", "confirm_number:ok:", "send:ok:",
		"verify:refused:code_wrong", "verify:ok:", "choose:ok:", "verify:ok:",
		"set_password:refused:policy", "set_password:started:", "set_password:ok:", "notice:ok:", "notice:ok:",
	}
	if strings.Join(outcomes, " ") != strings.Join(want, " ") {
		t.Errorf("events\n got %v\nwant %v", outcomes, want)
	}
	for _, m := range recs {
		if str(m, "step") == "verify" && str(m, "sid") == s.ID() && str(m, "method") == "" {
			t.Errorf("verify record without method: %v", m)
		}
	}
	if !strings.Contains(out, `"reason":"code_replayed"`) {
		t.Error("no replay record")
	}
	// The times are the real clock's: their digits may match a code by chance.
	untimed := regexp.MustCompile(`"time":"[^"]*"`).ReplaceAllString(out, `"time":""`)
	if leak := containsAny(untimed, code, goodPass, weak, aliceSecret, first, tcode, aliceMobile, "5550100042", "555-010-0042"); leak != "" {
		t.Fatalf("audit log contains %q", leak)
	}
}

// A login full of line breaks and escape sequences is one record, stripped.
func TestAuditLoginInjection(t *testing.T) {
	r := newRig(t)
	s := r.begin()
	login := "x\n2026-01-01 INFO reset ok user=admin\r\x1b[2J\x1b]0;pwned\x07\u2028\u202e\x9b\u009b\u061c"
	mustOK(t, s.Identify(bg, login, ""))
	out := r.audit.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	recs := auditLines(t, out)
	if len(lines) != 2 || len(recs) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	got := str(recs[1], "login")
	if got != "x2026-01-01 INFO reset ok user=admin[2J]0;pwned" {
		t.Fatalf("login logged as %q", got)
	}
	if strings.ContainsAny(out, "\x1b\r\x07\u2028\u202e\u009b\u061c") || strings.Contains(out, `\u001b`) || strings.Contains(out, `\n`) {
		t.Fatal("control characters in the raw log")
	}
	if st := s.State(); st.Login != got {
		t.Fatalf("state login %q", st.Login)
	}
}

func TestAuditRemoteSanitised(t *testing.T) {
	r := newRig(t)
	mustBegin(t, r.eng, flow.Origin{Channel: flow.Kiosk, Remote: "kiosk-1\n\x1b[31mfake"})
	recs := auditLines(t, r.audit.String())
	if got := str(recs[0], "remote"); got != "kiosk-1[31mfake" {
		t.Fatalf("remote %q", got)
	}
}

// Errors from providers go to the log; the code or password inside them
// must not.
func TestAuditProviderErrorsRedacted(t *testing.T) {
	r := newRig(t)
	leaky := &echoSender{}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: &echoDir{fakeDir{users: testUsers()}}, Store: r.store,
		Email: leaky, SMS: r.sms, Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.Local})
	mustOK(t, s.Identify(bg, "emile", "")) // no app: one method
	mustReason(t, s.Choose(bg, flow.EmailAltern), flow.ReasonUnavailable)
	mustOK(t, s.Choose(bg, flow.TextMobile))
	mustOK(t, s.ConfirmNumber(bg, "+15550100055"))
	mustOK(t, s.SubmitCode(bg, codeIn(t, r.sms.Last(t))))
	mustReason(t, s.SetPassword(bg, goodPass, goodPass), flow.ReasonUnavailable)
	out := r.audit.String()
	auditLines(t, out)
	if leak := containsAny(out, leaky.code, goodPass); leak != "" {
		t.Fatalf("audit log contains %q:\n%s", leak, out)
	}
	if !strings.Contains(out, "delivery failed") || !strings.Contains(out, "directory write failed") {
		t.Fatal("failures not logged")
	}
}

// echoSender fails with an error that quotes the message it was given.
type echoSender struct{ code string }

func (e *echoSender) Deliver(_ context.Context, d flow.Delivery) error {
	e.code = codeRE.FindStringSubmatch(d.Text)[1]
	return errors.New("smtp: 552 message rejected: " + d.Text)
}

// echoDir fails every write with an error that quotes the password.
type echoDir struct{ fakeDir }

func (d *echoDir) SetPassword(_ context.Context, u flow.User, pw string) error {
	return errors.New("constraint violation on " + u.ID + ": " + pw)
}

// Errors a person sees carry neither the code nor the password.
func TestErrorsCarryNoSecrets(t *testing.T) {
	r := newRig(t)
	s, code := r.atCode("alice", flow.EmailAltern)
	var msgs []string
	collect := func(err error) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	collect(s.SubmitCode(bg, otherCode(code)))
	collect(s.SubmitCode(bg, code))
	for _, pw := range []string{"short", goodPass + "ALICE", "alllowercase-and-long"} {
		collect(s.SetPassword(bg, pw, pw))
		collect(s.SetPassword(bg, pw, pw+"1"))
	}
	for _, m := range msgs {
		if containsAny(m, code, otherCode(code), "short", goodPass, "alllowercase") != "" {
			t.Fatalf("message %q carries a secret", m)
		}
	}
}
