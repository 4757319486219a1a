package flow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Notices are the messages sent after a reset: to every address the
// person registered, so a reset they did not make does not go unseen, and
// to the administrators when a privileged account was reset.
type Notices struct {
	// Helpdesk is how to reach the helpdesk, e.g. "+1 212 555 0100"; a
	// notice says "If this wasn't you, call the helpdesk at <Helpdesk>".
	// Empty, it says to call the IT helpdesk right away.
	Helpdesk string
	// Admins are the email addresses told of every reset of a privileged
	// account.
	Admins []string
}

func (n Notices) validate() error {
	if n.Helpdesk != Sanitize(n.Helpdesk, 200) {
		return fmt.Errorf("notices.helpdesk: control characters or more than 200 characters")
	}
	for i, a := range n.Admins {
		if at := strings.LastIndexByte(a, '@'); at < 1 || at == len(a)-1 || a != Sanitize(a, 320) || strings.ContainsAny(a, " \t,;<>") {
			return fmt.Errorf("notices.admins[%d] is %q: allowed is an email address", i, Sanitize(a, 320))
		}
	}
	return nil
}

// noticeTimeout bounds each notice; a slow provider does not hold the
// person's screen for long.
const noticeTimeout = 10 * time.Second

// proofWords say what a method proved, for a notice.
var proofWords = map[MethodID]string{
	TextMobile:  "a code texted to your mobile phone",
	CallMobile:  "a call to your mobile phone",
	CallOffice:  "a call to your office phone",
	PushApp:     "a notification on your authenticator app",
	TOTPApp:     "a code from your authenticator app",
	EmailAltern: "a code sent to your alternate email",
}

// notify tells the person, at every address they registered (including
// those not used in the reset), that their password was reset: when, from
// where, how it was proved, and whom to call if it was not them; and the
// administrators when the account is privileged. A notice carries no
// password, code or link. One that fails is logged; the reset stands.
func (s *Session) notify(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	at := s.e.clock.Now().UTC()
	var how []string
	for _, m := range s.proved {
		how = append(how, proofWords[m])
	}
	what := fmt.Sprintf("on %s at %s UTC %s, verified by %s", at.Format("2 January 2006"), at.Format("15:04"),
		s.whereFrom(), strings.Join(how, " and "))
	helpdesk := "If this wasn't you, call your IT helpdesk right away."
	if h := s.e.cfg.Notices.Helpdesk; h != "" {
		helpdesk = "If this wasn't you, call the helpdesk at " + h + " right away."
	}
	done := "Your password was reset "
	if s.unlocked {
		done = "Your account was unlocked "
	}
	text := done + what + ". " + helpdesk
	if s.user.Email != "" && s.e.deps.Email != nil {
		s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, s.user.Email, text, "user")
	}
	if s.user.Mobile != "" && s.e.deps.SMS != nil {
		to := s.user.Mobile
		if n, ok := e164(to, "US"); ok {
			to = n
		}
		s.deliverNotice(ctx, s.e.deps.SMS, TextMobile, to, text, "user")
	}
	if s.privileged && s.e.deps.Email != nil {
		admin := fmt.Sprintf("The password of the privileged account %q was reset %s. If this was not expected, check with the account's owner.",
			Sanitize(s.user.Login, 128), strings.ReplaceAll(what, "your ", "the account's "))
		if s.unlocked {
			admin = fmt.Sprintf("The privileged account %q was unlocked %s. If this was not expected, check with the account's owner.",
				Sanitize(s.user.Login, 128), strings.ReplaceAll(what, "your ", "the account's "))
		}
		for _, a := range s.e.cfg.Notices.Admins {
			s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, a, admin, "admin")
		}
	}
}

// whereFrom says where the reset came from, for a notice.
func (s *Session) whereFrom() string {
	switch s.origin.Channel {
	case SSH:
		return "from " + sourceOf(s.origin) + " over SSH"
	case Kiosk:
		return "at the kiosk " + s.origin.Remote
	}
	return "in a local terminal (" + s.origin.Remote + ")"
}

func (s *Session) deliverNotice(ctx context.Context, snd Sender, m MethodID, to, text, who string) {
	d := Delivery{Kind: KindNotice, Method: m, To: to, Text: text, Lang: s.origin.Lang}
	if who == "user" {
		d.SessionID = s.id // the demo phone shows it to the person
	}
	result := "ok"
	if err := snd.Deliver(ctx, d); err != nil {
		result = "failed"
		s.e.audit.Error("notice failed", "sid", s.id, "ref", s.Ref(), "method", string(m), "to", who, "error", err.Error())
	}
	s.e.audit.Info("notice", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
		"login", s.login, "method", string(m), "step", "notice", "result", result, "to", who)
}
