package twilio_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	faketwilio "github.com/sspr-project/sspr/internal/fakes/twilio"
	"github.com/sspr-project/sspr/providers/twilio"
)

// Twilio's documented example: auth token 12345, this URL and these
// parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
func TestSignatureMatchesTwiliosExample(t *testing.T) {
	p := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	const u, want = "https://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	if got := twilio.Signature("12345", u, p); got != want {
		t.Errorf("provider: %s, want %s", got, want)
	}
	if got := faketwilio.Sign("12345", u, p); got != want {
		t.Errorf("fake: %s, want %s", got, want)
	}
}

// A text carries the code to the stored number, from the configured
// number, signed in with the account's SID and token (the fake records
// nothing otherwise), and the code verifies.
func TestTextCarriesTheCode(t *testing.T) {
	r := newRig(t)
	s := r.identified("")
	ctx := context.Background()
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmNumber(ctx, "+1 (212) 555-0102"); err != nil {
		t.Fatal(err)
	}
	msgs := r.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d texts reached the fake, want 1", len(msgs))
	}
	m := msgs[0]
	if m.To != "+12125550102" || m.From != "+12125550100" || m.MessagingServiceSID != "" {
		t.Errorf("text to %q from %q (service %q)", m.To, m.From, m.MessagingServiceSID)
	}
	if !strings.HasPrefix(m.StatusCallback, r.public+twilio.StatusPath+"?token=") {
		t.Errorf("StatusCallback %q, want %q with the watch's token", m.StatusCallback, r.public+twilio.StatusPath)
	}
	if m.ValidityPeriod == "" {
		t.Error("no ValidityPeriod: an expired code could still be sent")
	}
	code := codeRE.FindStringSubmatch(m.Body)
	if code == nil {
		t.Fatalf("no code in %q", m.Body)
	}
	r.secret(code[1])
	if err := s.SubmitCode(ctx, code[1]); err != nil {
		t.Fatal(err)
	}
	if st := s.State().Step; st != flow.StepSetPassword {
		t.Fatalf("step %s after the texted code, want set_password", st)
	}
}

// Texts may go out through a messaging service instead of a number.
func TestTextThroughMessagingService(t *testing.T) {
	const svc = "MG0123456789abcdef0123456789abcdef"
	r := newRig(t, func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", svc })
	if err := r.client.Deliver(context.Background(), flow.Delivery{Method: flow.TextMobile, To: "+12125550102", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if m := r.fake.Messages(); len(m) != 1 || m[0].MessagingServiceSID != svc || m[0].From != "" {
		t.Fatalf("messages %+v", m)
	}
	// Calls need a number.
	err := r.client.Deliver(context.Background(), flow.Delivery{Method: flow.CallMobile, To: "+12125550102", Token: strings.Repeat("a", 32)})
	if err == nil {
		t.Fatal("a call without a from number was placed")
	}
}

// A wrong auth token is refused by Twilio (401, code 20003): Deliver and
// Check fail, nothing is sent, and the error does not carry the token.
func TestWrongAuthTokenRefused(t *testing.T) {
	r := newRig(t)
	const wrong = "0123456789abcdef0123456789abcdef"
	bad, err := twilio.New(twilio.Config{AccountSID: r.fake.AccountSID, AuthToken: config.InlineSecret(wrong), From: "+12125550100", APIURL: r.fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Deliver(context.Background(), flow.Delivery{Method: flow.TextMobile, To: "+12125550102", Text: "code is 12345678"})
	var apiErr *twilio.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != 20003 {
		t.Fatalf("Deliver with a wrong token: %v, want a 401 with code 20003", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), "12345678") {
		t.Fatalf("the error carries a secret: %v", err)
	}
	if len(r.fake.Messages()) != 0 {
		t.Fatal("a text went out with a wrong token")
	}
	if err := bad.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "20003") {
		t.Fatalf("Check with a wrong token: %v", err)
	}
}

// Check fetches the account: fine while active, an error when suspended.
func TestCheck(t *testing.T) {
	r := newRig(t)
	if err := r.client.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.fake.Messages())+len(r.fake.Calls()) != 0 {
		t.Fatal("Check sent something")
	}
	r.fake.SetAccountStatus("suspended")
	if err := r.client.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "suspended") {
		t.Fatalf("Check of a suspended account: %v", err)
	}
}

// A call asks, in the session's language, for the number on the screen;
// keying it in verifies the session.
func TestCallAnsweredWithTheRightNumber(t *testing.T) {
	r := newRig(t)
	s, c, token := r.calling("de_DE.UTF-8")
	if c.To != "+12125550102" || c.From != "+12125550100" || c.MachineDetection != "Enable" || c.Twiml != "" {
		t.Errorf("call %+v", c)
	}
	if !strings.HasPrefix(c.URL, r.public+twilio.VoicePath+token+"?") {
		t.Errorf("Url %q", c.URL)
	}
	if c.StatusCallback != r.public+twilio.StatusPath+"?token="+token {
		t.Errorf("StatusCallback %q", c.StatusCallback)
	}
	show := s.State().Show
	done := waiting(s)
	res, err := r.fake.Answer(context.Background(), c.SID, show)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Turns) != 3 || res.Turns[0].Status != 200 || res.Turns[1].Status != 200 || res.Turns[2].Status != 204 {
		t.Fatalf("turns %+v", res.Turns)
	}
	if g := res.Gather; g == nil || g.NumDigits != "2" || g.Input != "dtmf" || g.Action != r.public+twilio.VoicePath+token || g.Method != "POST" {
		t.Fatalf("gather %+v", res.Gather)
	}
	if len(res.Said) == 0 || res.Said[0].Language != "de-DE" || !strings.Contains(res.Said[0].Text, "Bildschirm") {
		t.Fatalf("said %+v", res.Said)
	}
	// What is said, not the whole TwiML: its URLs and attributes hold
	// digits of their own, which a two-digit number may match by chance.
	for _, said := range res.Said {
		if strings.Contains(said.Text, show) || strings.Contains(said.Text, show[:1]+" "+show[1:]) {
			t.Errorf("the call says the number to key in (%q): a caller need not see the screen", said.Text)
		}
	}
	if err := result(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if st := s.State().Step; st != flow.StepSetPassword {
		t.Fatalf("step %s, want set_password", st)
	}
	if !strings.Contains(r.log.String(), "twilio_call_keyed") {
		t.Errorf("the keys were not logged as arrived:\n%s", r.log.String())
	}
}

// A wrong number fails the try and returns to the method list.
func TestCallAnsweredWithAWrongNumber(t *testing.T) {
	r := newRig(t)
	s, c, _ := r.calling("")
	done := waiting(s)
	if _, err := r.fake.Answer(context.Background(), c.SID, otherNumber(s.State().Show)); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); flow.ReasonOf(err) != flow.ReasonApprovalWrong {
		t.Fatalf("Wait: %v, want approval_wrong", err)
	}
	if st := s.State().Step; st != flow.StepChooseMethod {
		t.Fatalf("step %s, want choose_method", st)
	}
}

// A call nobody answers, a busy line or a failed call ends the wait at once
// with "we couldn't reach you", as a failed try; silence after answering
// (keys gathered: none) is a failed try too.
func TestCallNotAnswered(t *testing.T) {
	r := newRig(t)
	for _, status := range []string{"no-answer", "busy", "failed", "canceled"} {
		s, c, _ := r.calling("")
		done := waiting(s)
		start := time.Now()
		turn, err := r.fake.End(context.Background(), c.SID, status)
		if err != nil || turn.Status != 204 {
			t.Fatalf("%s: status callback answered %d, %v", status, turn.Status, err)
		}
		if err := result(t, done); flow.ReasonOf(err) != flow.ReasonApprovalTimeout {
			t.Fatalf("%s: Wait: %v, want the phone not reached", status, err)
		}
		if st := s.State().Step; st != flow.StepChooseMethod {
			t.Fatalf("%s: step %s, want choose_method", status, st)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: the wait ended after %s", status, d)
		}
	}
	s, c, _ := r.calling("")
	done := waiting(s)
	res, err := r.fake.Answer(context.Background(), c.SID, "")
	if err != nil || len(res.Turns) < 2 || res.Turns[1].Params.Get("Digits") != "" {
		t.Fatalf("silent answer: %+v %v", res.Turns, err)
	}
	if err := result(t, done); flow.ReasonOf(err) != flow.ReasonApprovalWrong {
		t.Fatalf("silence: Wait: %v, want a failed try", err)
	}
}

// An answering machine hears nothing and is hung up on; the phone counts
// as not reached.
func TestCallAnsweredByAMachine(t *testing.T) {
	r := newRig(t)
	s, c, _ := r.calling("")
	done := waiting(s)
	res, err := r.fake.AnswerByMachine(context.Background(), c.SID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Said) != 0 || res.Gather != nil || !strings.Contains(res.Turns[0].Body, "<Hangup/>") {
		t.Fatalf("a machine was spoken to: %+v", res)
	}
	if err := result(t, done); flow.ReasonOf(err) != flow.ReasonApprovalTimeout {
		t.Fatalf("Wait: %v, want the phone not reached", err)
	}
}

// Forged webhooks are refused and logged: a bad signature (403), another
// account (403), a token no call has (404), and a genuine callback played
// again (404). None of them moves the session.
func TestForgedCallbacksRefused(t *testing.T) {
	r := newRig(t)
	s, c, token := r.calling("")
	show := s.State().Show
	action := r.public + twilio.VoicePath + token
	keys := url.Values{"AccountSid": {r.fake.AccountSID}, "CallSid": {c.SID}, "Digits": {show}}

	if got := post(t, "not-the-auth-token", action, keys); got != 403 {
		t.Errorf("bad signature: %d, want 403", got)
	}
	other := url.Values{"AccountSid": {faketwilio.NewAccountSID()}, "CallSid": {c.SID}, "Digits": {show}}
	if got := post(t, r.fake.AuthToken, action, other); got != 403 {
		t.Errorf("another account: %d, want 403", got)
	}
	unknown := r.public + twilio.VoicePath + strings.Repeat("ab", 16)
	if got := post(t, r.fake.AuthToken, unknown, keys); got != 404 {
		t.Errorf("unknown token: %d, want 404", got)
	}
	if got := post(t, r.fake.AuthToken, r.public+twilio.VoicePath+"..%2f..%2fx", keys); got != 404 {
		t.Errorf("a token that is no token: %d, want 404", got)
	}
	status := r.public + twilio.StatusPath + "?token=" + token
	if got := post(t, "not-the-auth-token", status, url.Values{"AccountSid": {r.fake.AccountSID}, "CallStatus": {"no-answer"}}); got != 403 {
		t.Errorf("bad signature on the status callback: %d, want 403", got)
	}
	if st := s.State().Step; st != flow.StepWaiting {
		t.Fatalf("a forged callback moved the session to %s", st)
	}
	logs := r.log.String()
	for _, why := range []string{"why=bad_signature", "why=wrong_account", "why=unknown_token"} {
		if !strings.Contains(logs, why) {
			t.Errorf("no %q in the log:\n%s", why, logs)
		}
	}

	done := waiting(s)
	res, err := r.fake.Answer(context.Background(), c.SID, show)
	if err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); err != nil {
		t.Fatalf("the genuine answer after the forgeries: %v", err)
	}
	gathered := res.Turns[1]
	if got := post(t, r.fake.AuthToken, gathered.URL, gathered.Params); got != 404 {
		t.Errorf("replayed keys: %d, want 404", got)
	}
}

// The API failing (500) or too slow fails the send, which flow shows as
// "couldn't reach you"; nothing is lost: the person goes back, every
// method is still there, and the next send works.
func TestAPIFailureAndTimeoutOfferOtherMethods(t *testing.T) {
	r := newRig(t, func(c *twilio.Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		break_ func()
	}{
		{"500", func() { r.fake.FailNext(500, 1) }},
		{"timeout", func() { r.fake.SetDelay(3 * time.Second) }},
	} {
		s := r.identified("")
		if err := s.Choose(ctx, flow.CallMobile); err != nil {
			t.Fatal(err)
		}
		tc.break_()
		start := time.Now()
		err := s.ConfirmNumber(ctx, "+12125550102")
		took := time.Since(start)
		t.Logf("%s: failed send took %s", tc.name, took)
		r.fake.SetDelay(0)
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Reason != flow.ReasonUnavailable || !strings.Contains(fe.Message, "couldn't reach you") {
			t.Fatalf("%s: ConfirmNumber: %v, want the couldn't-reach refusal", tc.name, err)
		}
		if took > 2*time.Second {
			t.Errorf("%s: the failed send took %s", tc.name, took)
		}
		if err := s.Back(); err != nil {
			t.Fatalf("%s: Back: %v", tc.name, err)
		}
		if n := len(s.Methods()); n != 3 {
			t.Fatalf("%s: %d methods after the failure, want all 3: %+v", tc.name, n, s.Methods())
		}
		if err := s.Choose(ctx, flow.TextMobile); err != nil {
			t.Fatal(err)
		}
		before := len(r.fake.Messages())
		if err := s.ConfirmNumber(ctx, "+12125550102"); err != nil {
			t.Fatalf("%s: the text after the failure: %v", tc.name, err)
		}
		msgs := r.fake.Messages()
		if len(msgs) != before+1 {
			t.Fatalf("%s: no text after the failure", tc.name)
		}
		code := codeRE.FindStringSubmatch(msgs[len(msgs)-1].Body)[1]
		r.secret(code)
		if err := s.SubmitCode(ctx, code); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if !strings.Contains(r.audit.String(), "delivery failed") {
		t.Error("the failed sends are not in the audit log")
	}
}

// A text Twilio could not deliver, and that carries no watch (a notice),
// is logged, and nothing else happens.
func TestTextDeliveryReport(t *testing.T) {
	r := newRig(t)
	if err := r.client.Deliver(context.Background(), flow.Delivery{Method: flow.TextMobile, To: "+12125550102", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	turn, err := r.fake.ReportText(context.Background(), r.fake.Messages()[0], "undelivered")
	if err != nil || turn.Status != 204 {
		t.Fatalf("report: %d %v", turn.Status, err)
	}
	if !strings.Contains(r.log.String(), "twilio_text_undelivered") {
		t.Errorf("not logged:\n%s", r.log.String())
	}
}

// Notices are texted; a call cannot carry one.
func TestNoticeIsTexted(t *testing.T) {
	r := newRig(t)
	if err := r.client.Deliver(context.Background(), flow.Delivery{Kind: flow.KindNotice, Method: flow.TextMobile, To: "+12125550102", Text: "Your password was reset."}); err != nil {
		t.Fatal(err)
	}
	if m := r.fake.Messages(); len(m) != 1 || m[0].Body != "Your password was reset." {
		t.Fatalf("messages %+v", m)
	}
	if err := r.client.Deliver(context.Background(), flow.Delivery{Kind: flow.KindNotice, Method: flow.CallMobile, To: "+12125550102"}); err == nil {
		t.Fatal("a notice was called")
	}
}

func TestLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"": "en-US", "C": "en-US", "POSIX": "en-US", "en": "en-US", "en_GB.UTF-8": "en-GB", "de": "de-DE",
		"de_DE.UTF-8": "de-DE", "de-AT": "de-AT", "de_CH": "de-DE", "fr_CA.UTF-8@euro": "fr-CA", "pt": "pt-BR",
		"pt_PT": "pt-PT", "zh_CN.UTF-8": "cmn-CN", "xx": "en-US", "ja": "ja-JP", "nb_NO": "nb-NO", "no": "nb-NO",
	} {
		if got := twilio.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := twilio.Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: config.InlineSecret("t"), From: "+12125550100"}
	for name, change := range map[string]func(*twilio.Config){
		"sid":        func(c *twilio.Config) { c.AccountSID = "AC123" },
		"token":      func(c *twilio.Config) { c.AuthToken = config.Secret{} },
		"no sender":  func(c *twilio.Config) { c.From = "" },
		"from":       func(c *twilio.Config) { c.From = "2125550100" },
		"service":    func(c *twilio.Config) { c.MessagingServiceSID = "MG1" },
		"api url":    func(c *twilio.Config) { c.APIURL = "ftp://x" },
		"public url": func(c *twilio.Config) { c.PublicURL = "https://x/?a=b" },
	} {
		c := good
		change(&c)
		if _, err := twilio.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := twilio.New(good); err != nil {
		t.Fatal(err)
	}
}

// A code text Twilio reports undelivered ends the code screen at once: the
// person is told they could not be reached, with the other methods, and
// the code stops working. The status callback carries the watch's token.
func TestTextUndeliveredReachesTheSession(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	s := r.identified("")
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmNumber(ctx, "+12125550102"); err != nil {
		t.Fatal(err)
	}
	msgs := r.fake.Messages()
	m := msgs[len(msgs)-1]
	if !strings.HasPrefix(m.StatusCallback, r.public+twilio.StatusPath+"?token=") {
		t.Fatalf("StatusCallback %q", m.StatusCallback)
	}
	code := codeRE.FindStringSubmatch(m.Body)[1]
	r.secret(code)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.WatchDelivery(wctx) }()
	turn, err := r.fake.ReportText(ctx, m, "undelivered")
	if err != nil || turn.Status != 204 {
		t.Fatalf("report: %d %v", turn.Status, err)
	}
	select {
	case err := <-errc:
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Reason != flow.ReasonUnavailable || !strings.Contains(fe.Message, "couldn't reach you") {
			t.Fatalf("WatchDelivery: %v, want the couldn't-reach refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the undelivered report did not reach the session")
	}
	if st := s.State().Step; st != flow.StepChooseMethod {
		t.Fatalf("step %s, want choose_method", st)
	}
	if err := s.SubmitCode(ctx, code); flow.ReasonOf(err) != flow.ReasonOutOfOrder {
		t.Fatalf("the code still works: %v", err)
	}
	// The same report again finds no watch, and is still answered 204.
	if turn, err := r.fake.ReportText(ctx, m, "undelivered"); err != nil || turn.Status != 204 {
		t.Fatalf("second report: %d %v", turn.Status, err)
	}
}
