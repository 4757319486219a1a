package flow

import (
	"fmt"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Every text a person sees or receives is worded here in the session's
// language (Origin.Lang) from the catalogues of package i18n: refusals,
// codes, calls, pushes, notices, method labels, password rules and the
// breadcrumb. The audit log keeps reasons, not messages, and stays English.

// t words message id in the session's language.
func (s *Session) t(id string, kv ...any) string { return s.tr.T(id, kv...) }

// Lang returns the session's language as a base tag ("en", "de", "fr").
func (s *Session) Lang() string { return s.tr.Lang() }

// methodLabelIDs are the radio-list words of each method, as Microsoft's
// portal shows them in each language.
var methodLabelIDs = map[MethodID]string{
	TextMobile:  "flow.method.sms",
	CallMobile:  "flow.method.call_mobile",
	CallOffice:  "flow.method.call_office",
	PushApp:     "flow.method.push",
	TOTPApp:     "flow.method.totp",
	EmailAltern: "flow.method.email",
	Helpdesk:    "flow.method.helpdesk",
	SSHKey:      "flow.method.ssh_key",
}

// Label returns the radio-list wording of a method in English.
func (m MethodID) Label() string { return m.LabelIn(i18n.English()) }

// LabelIn returns the radio-list wording of a method in p's language.
func (m MethodID) LabelIn(p *i18n.Printer) string {
	id, ok := methodLabelIDs[m]
	if !ok {
		return ""
	}
	return p.T(id)
}

// labelled returns methods with their labels in the session's language.
func (s *Session) labelled(methods []Method) []Method {
	out := make([]Method, len(methods))
	for i, m := range methods {
		m.Label = m.ID.LabelIn(s.tr)
		out[i] = m
	}
	return out
}

// proofIDs say what a method proved, for the person's notice; adminProofIDs
// the same for the administrators'.
var (
	proofIDs = map[MethodID]string{
		TextMobile:  "flow.proof.sms",
		CallMobile:  "flow.proof.call_mobile",
		CallOffice:  "flow.proof.call_office",
		PushApp:     "flow.proof.push",
		TOTPApp:     "flow.proof.totp",
		EmailAltern: "flow.proof.email",
		Helpdesk:    "flow.proof.helpdesk",
		SSHKey:      "flow.proof.ssh_key",
	}
	adminProofIDs = map[MethodID]string{
		TextMobile:  "flow.proof.admin.sms",
		CallMobile:  "flow.proof.admin.call_mobile",
		CallOffice:  "flow.proof.admin.call_office",
		PushApp:     "flow.proof.admin.push",
		TOTPApp:     "flow.proof.admin.totp",
		EmailAltern: "flow.proof.admin.email",
		Helpdesk:    "flow.proof.admin.helpdesk",
		SSHKey:      "flow.proof.admin.ssh_key",
	}
)

// directoryRuleIDs word the refusals of a directory's own policy.
var directoryRuleIDs = map[DirectoryRule]string{
	DirRuleHistory:      "flow.dir.history",
	DirRuleQuality:      "flow.dir.quality",
	DirRuleLength:       "flow.dir.length",
	DirRuleUnchanged:    "flow.dir.unchanged",
	DirRuleDomainPolicy: "flow.dir.domain_policy",
	DirRuleTooSoon:      "flow.dir.too_soon",
	DirRuleOther:        "flow.dir.refused",
}

// reworded returns a copy of a directory's refusal for the person: its
// message in the session's language, its support code, no detail.
func (s *Session) reworded(fe *Error) *Error {
	out := *fe
	out.Ref = s.Ref()
	out.Detail = ""
	if fe.Reason == ReasonDirectoryRefused {
		id, ok := directoryRuleIDs[fe.Rule]
		if !ok {
			id = directoryRuleIDs[DirRuleOther]
		}
		out.Message = s.t(id)
	}
	return &out
}

// monthIDs name the months, January first.
var monthIDs = [12]string{
	"flow.month.january", "flow.month.february", "flow.month.march", "flow.month.april",
	"flow.month.may", "flow.month.june", "flow.month.july", "flow.month.august",
	"flow.month.september", "flow.month.october", "flow.month.november", "flow.month.december",
}

// dayMonth says a date without its year: "15 March", "15. März", "1er mars".
func dayMonth(p *i18n.Printer, t time.Time) string {
	return p.T("flow.date.day_month", "Day", p.N("flow.date.day", t.Day()), "Month", p.T(monthIDs[t.Month()-1]))
}

// fullDate says a date: "2 January 2006", "2. Januar 2006", "2 janvier 2006".
func fullDate(p *i18n.Printer, t time.Time) string {
	return p.T("flow.date.full", "Day", p.N("flow.date.day", t.Day()), "Month", p.T(monthIDs[t.Month()-1]), "Year", fmt.Sprint(t.Year()))
}

// spell says a lifetime in words: "5 minutes", "1 minute", "90 seconds".
func spell(p *i18n.Printer, d time.Duration) string {
	if d%time.Minute == 0 {
		return p.N("flow.span.minutes", int(d/time.Minute))
	}
	return p.N("flow.span.seconds", int(d/time.Second))
}

// when says when a wait ends, for messages: "in 8 seconds", "in 12
// minutes", "at 14:05 UTC".
func (e *Engine) when(p *i18n.Printer, d time.Duration) string {
	switch {
	case d <= 90*time.Second:
		return p.N("flow.when.seconds", seconds(d))
	case d <= time.Hour:
		return p.N("flow.when.minutes", int((d+time.Minute-1)/time.Minute))
	}
	t, today := e.clockTime(d)
	if today {
		return p.T("flow.when.at_today", "Time", t.Format("15:04"))
	}
	return p.T("flow.when.at_day", "Time", t.Format("15:04"), "Date", dayMonth(p, t))
}

// until says until when something holds: "until 14:05 UTC", or "until
// 14:05 UTC on 15 March" when that is not today.
func (e *Engine) until(p *i18n.Printer, d time.Duration) string {
	t, today := e.clockTime(d)
	if today {
		return p.T("flow.until.today", "Time", t.Format("15:04"))
	}
	return p.T("flow.until.day", "Time", t.Format("15:04"), "Date", dayMonth(p, t))
}

// clockTime is the time d from now, in UTC, rounded up to the minute, and
// whether it is today.
func (e *Engine) clockTime(d time.Duration) (time.Time, bool) {
	now := e.clock.Now().UTC()
	t := now.Add(d)
	if r := t.Truncate(time.Minute); !r.Equal(t) {
		t = r.Add(time.Minute)
	}
	return t, t.YearDay() == now.YearDay() && t.Year() == now.Year()
}
