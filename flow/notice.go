package flow

import (
	"context"
	"fmt"
	"github.com/sspr-project/sspr/config"
	"strings"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Notices are the messages sent after a reset: to every address the
// person registered, so a reset they did not make does not go unseen, and
// to the administrators when a privileged account was reset.
type Notices struct {
	// Helpdesk is how to reach the helpdesk, e.g. "+1 212 555 0100"; a
	// notice says "If this wasn't you, call the helpdesk at <Helpdesk>".
	// Empty, it says to call the IT helpdesk right away.
	Helpdesk string `yaml:"helpdesk" doc:"how to reach the helpdesk, in the notice sent after every reset: \"If this wasn't you, call the helpdesk at ...\" (without it: \"call your IT helpdesk right away\")"`
	// Admins are the email addresses told of every reset of a privileged
	// account.
	Admins []string `yaml:"admins" doc:"email addresses told of every reset, change or security-info change of a privileged account"`
	// Lang is the language of the administrators' notices, a tag or a
	// locale ("de", "fr_FR.UTF-8"); empty or not offered means English.
	// The person's own notices are in the session's language.
	Lang string `yaml:"-"`
}

// Validate checks the helpdesk text and the addresses; paths are relative
// to the notices block.
func (n Notices) Validate() error {
	var es config.Errors
	if n.Helpdesk != Sanitize(n.Helpdesk, 200) {
		es.Add("helpdesk", "%q is not allowed (up to 200 characters, no control characters)", Sanitize(n.Helpdesk, 64))
	}
	for i, a := range n.Admins {
		if at := strings.LastIndexByte(a, '@'); at < 1 || at == len(a)-1 || a != Sanitize(a, 320) || strings.ContainsAny(a, " \t,;<>") {
			es.Add(fmt.Sprintf("admins[%d]", i), "%q is not allowed (an email address)", Sanitize(a, 64))
		}
	}
	return es.Err()
}

// noticeTimeout bounds each notice; a slow provider does not hold the
// person's screen for long.
const noticeTimeout = 10 * time.Second

// notify tells the person, at every address they registered (including
// those not used in the reset), that their password was reset: when, from
// where, how it was proved, and whom to call if it was not them; and the
// administrators when the account is privileged. A notice carries no
// password, code or link. One that fails is logged; the reset stands.
func (s *Session) notify(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	at := s.e.clock.Now().UTC()
	text := s.noticeText(s.tr, at, false)
	if s.user.Email != "" && s.e.deps.Email != nil {
		s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, s.user.Email, text, "user", s.tr)
	}
	if s.user.Mobile != "" && s.e.deps.SMS != nil {
		to := s.user.Mobile
		if n, ok := e164(to, s.e.cfg.PhoneRegion); ok {
			to = n
		}
		s.deliverNotice(ctx, s.e.deps.SMS, TextMobile, to, text, "user", s.tr)
	}
	if s.privileged && s.e.deps.Email != nil {
		tr := i18n.For(s.e.cfg.Notices.Lang)
		admin := s.noticeText(tr, at, true)
		for _, a := range s.e.cfg.Notices.Admins {
			s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, a, admin, "admin", tr)
		}
	}
}

// noticeText words the notice of a reset or an unlock at time at, in tr's
// language: for the person, or for the administrators.
func (s *Session) noticeText(tr *i18n.Printer, at time.Time, admin bool) string {
	ids := proofIDs
	if admin {
		ids = adminProofIDs
	}
	var how string
	for i, m := range s.proved {
		if i == 0 {
			how = tr.T(ids[m])
		} else {
			how = tr.T("flow.notice.both", "First", how, "Second", tr.T(ids[m]))
		}
	}
	kv := []any{"When", noticeWhen(tr, at), "Where", s.whereFrom(tr), "How", how}
	change := s.Task() == TaskChange
	if admin {
		id := "flow.notice.admin_reset"
		if s.unlocked {
			id = "flow.notice.admin_unlocked"
		} else if change {
			id = "flow.notice.admin_changed"
		}
		return tr.T(id, append(kv, "Login", fmt.Sprintf("%q", Sanitize(s.user.Login, 128)))...)
	}
	id := "flow.notice.reset"
	if s.unlocked {
		id = "flow.notice.unlocked"
	} else if change {
		id = "flow.notice.changed"
	}
	return tr.T(id, kv...) + " " + s.e.helpdeskLine(tr)
}

// noticeWhen words time at for a notice, in tr's language.
func noticeWhen(tr *i18n.Printer, at time.Time) string {
	return tr.T("flow.notice.when", "Date", fullDate(tr, at), "Time", at.Format("15:04"))
}

// helpdeskLine is the last sentence of a notice to the person: whom to
// call if it was not them (notices.helpdesk).
func (e *Engine) helpdeskLine(tr *i18n.Printer) string {
	if h := e.cfg.Notices.Helpdesk; h != "" {
		return tr.T("flow.notice.helpdesk", "Helpdesk", h)
	}
	return tr.T("flow.notice.helpdesk_unknown")
}

// whereFrom says where the reset came from, for a notice.
func (s *Session) whereFrom(tr *i18n.Printer) string {
	switch s.origin.Channel {
	case SSH:
		return tr.T("flow.notice.from_ssh", "Source", sourceAddr(s.origin))
	case Kiosk:
		return tr.T("flow.notice.at_kiosk", "Name", s.origin.Remote)
	}
	return tr.T("flow.notice.local", "Name", s.origin.Remote)
}

func (s *Session) deliverNotice(ctx context.Context, snd Sender, m MethodID, to, text, who string, tr *i18n.Printer) {
	subject := "flow.subject.reset"
	change := s.Task() == TaskChange
	switch {
	case who == "admin" && s.info:
		subject = "flow.subject.admin_info"
	case who == "admin" && s.unlocked:
		subject = "flow.subject.admin_unlocked"
	case who == "admin" && change:
		subject = "flow.subject.admin_changed"
	case who == "admin":
		subject = "flow.subject.admin_reset"
	case s.unlocked:
		subject = "flow.subject.unlocked"
	case s.info:
		subject = "flow.subject.info"
	case change:
		subject = "flow.subject.changed"
	}
	d := Delivery{Kind: KindNotice, Method: m, To: to, Text: text, Subject: tr.T(subject), Lang: tr.Lang()}
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
