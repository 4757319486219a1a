package flow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func notices(senders ...*recSender) []flow.Delivery {
	var out []flow.Delivery
	for _, s := range senders {
		for _, d := range s.All() {
			if d.Kind == flow.KindNotice {
				out = append(out, d)
			}
		}
	}
	return out
}

// TestNoticesAfterReset: after a reset, every registered address hears of
// it: when, from where, how it was proved, whom to call; never a code, the
// password or a link.
func TestNoticesAfterReset(t *testing.T) {
	r := newRig(t, func(c *flow.Config) { c.Notices.Helpdesk = "+1 212 555 0100" })
	s := r.verified()
	emailCode := codeIn(t, r.email.Last(t))
	if len(notices(r.sms, r.voice, r.email, r.push)) != 0 {
		t.Fatal("a notice before the reset")
	}
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	got := notices(r.sms, r.voice, r.email, r.push)
	if len(got) != 2 {
		t.Fatalf("notices %+v, want one by email and one by text", got)
	}
	to := map[string]flow.MethodID{}
	for _, d := range got {
		to[d.To] = d.Method
		for _, want := range []string{"Your password was reset on 14 March 2026 at 09:27 UTC", "from 192.0.2.7 over SSH",
			"verified by a code sent to your alternate email and a code from your authenticator app",
			"If this wasn't you, call the helpdesk at +1 212 555 0100"} {
			if !strings.Contains(d.Text, want) {
				t.Errorf("notice %q lacks %q", d.Text, want)
			}
		}
		if leak := containsAny(d.Text, emailCode, goodPass, "http", "uid=", "50022"); leak != "" {
			t.Errorf("notice %q carries %q", d.Text, leak)
		}
		if d.SessionID != s.ID() || d.Token != "" {
			t.Errorf("notice %+v", d)
		}
	}
	if to[aliceEmail] != flow.EmailAltern || to[aliceMobile] != flow.TextMobile {
		t.Fatalf("notices went to %v", to)
	}
	if !strings.Contains(r.audit.String(), `"step":"notice","result":"ok","to":"user"`) {
		t.Fatalf("notices not in the audit:\n%s", r.audit.String())
	}
}

// noticeFails fails every notice and delivers everything else.
type noticeFails struct{ recSender }

func (n *noticeFails) Deliver(ctx context.Context, d flow.Delivery) error {
	if d.Kind == flow.KindNotice {
		return errors.New("smtp: 451 try later")
	}
	return n.recSender.Deliver(ctx, d)
}

// TestFailedNoticeKeepsTheReset: a notice that cannot go out is logged;
// the password stays reset and the other notices still go.
func TestFailedNoticeKeepsTheReset(t *testing.T) {
	r := newRig(t)
	email := &noticeFails{}
	eng, err := flow.NewEngine(baseConfig(), flow.Deps{Directory: r.dir, Store: r.store, SMS: r.sms, Email: email,
		Audit: flow.NewAuditLogger(r.audit), Clock: r.clock})
	mustOK(t, err)
	s := mustBegin(t, eng, flow.Origin{Channel: flow.Kiosk, Remote: "kiosk-lobby"})
	mustOK(t, s.Identify(bg, "emile", ""))
	mustOK(t, s.Choose(bg, flow.EmailAltern))
	mustOK(t, s.SubmitCode(bg, codeIn(t, email.Last(t))))
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	mustStep(t, s, flow.StepDone)
	if len(r.dir.Sets()) != 1 {
		t.Fatal("no write")
	}
	texts := notices(r.sms)
	if len(texts) != 1 || !strings.Contains(texts[0].Text, "at the kiosk kiosk-lobby") {
		t.Fatalf("text notices %+v", texts)
	}
	out := r.audit.String()
	if !strings.Contains(out, `"level":"ERROR","msg":"notice failed"`) || !strings.Contains(out, `"result":"failed"`) {
		t.Fatalf("the failed notice was not logged:\n%s", out)
	}
}
