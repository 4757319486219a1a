package flow

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// "Update my security info": the person signs in with login, current
// password and CAPTCHA; an account with a method then proves one of them
// as a reset does (the same screens, number matching and limits), so a
// password alone never changes how an account is recovered; then it lists,
// adds, changes and removes its methods. A new number, address or app is
// proved on StepEnterCode or StepWaiting before it is saved, and the
// session comes back to StepManage.

// pending is a new destination being proved.
type pending struct {
	contact Registration
	user    User // the account as it will be, for the send and the check
	change  MethodChanges
	verb    string // added or changed
}

// hint is the masked new destination, for the code screen.
func (p *pending) hint() string {
	switch p.contact {
	case RegMobile:
		return MaskPhone(p.user.Mobile)
	case RegOffice:
		return MaskPhone(p.user.Office)
	case RegEmail:
		return MaskEmail(p.user.Email)
	}
	return ""
}

// subject is the account a send or a check is for: the account as it will
// be while a new destination is proved, the account itself otherwise.
func (s *Session) subject() User {
	if s.adding != nil {
		return s.adding.user
	}
	return s.user
}

// listStep is the step a session goes back to when a method ends: the
// method list, or the security info while a new destination was proved
// (that change is dropped).
func (s *Session) listStep() Step {
	if s.adding != nil {
		s.adding = nil
		return StepManage
	}
	return StepChooseMethod
}

// signedInInfo goes on from a right sign-in of TaskInfo. An account with a
// method goes on to StepChooseMethod to prove one; one without goes to
// StepManage when policy.registration.first_method allows.
func (s *Session) signedInInfo() error {
	u := s.user
	if contactCount(u, s.e.cfg.PhoneRegion) == 0 {
		if s.e.cfg.Registration.FirstMethod != FirstByPassword {
			return s.endInfo("sign_in", "flow.info.first_helpdesk")
		}
		s.proof = proof{} // nothing to prove
		s.step = StepManage
		return nil
	}
	methods := s.e.userMethods(u, s.origin.SSHKey)
	if len(methods) == 0 {
		// Registered, but nothing here can prove it.
		return s.endInfo("sign_in", "flow.info.helpdesk_only")
	}
	s.methods = s.labelled(methods)
	// One proof; an account with the authenticator app proves the app, so
	// that nobody replaces it with a phone they hold. A privileged account
	// proves what its reset would (two methods), or goes to the helpdesk.
	s.proof = proof{required: 1, needApp: u.TOTPSecret != "" && hasApp(methods)}
	if s.privileged {
		s.proof = s.e.proofFor(u.TOTPSecret != "", true)
		if (s.proof.needApp && !hasApp(methods)) || countFactors(u, methods, s.e.cfg.PhoneRegion) < s.proof.required {
			return s.endInfo("sign_in", "flow.info.helpdesk_only")
		}
	}
	s.step = StepChooseMethod
	return nil
}

// endInfo ends a signed-in session that may not change its security info.
func (s *Session) endInfo(step, msg string) error {
	s.step = StepClosed
	s.event(step, "refused", ReasonNotAllowed)
	return &Error{Reason: ReasonNotAllowed, Message: s.t(msg), Ref: s.Ref(), Final: true}
}

// contactCount is the number of different factors u holds: a mobile
// stored again as the office phone counts once.
func contactCount(u User, region string) int {
	seen := map[string]bool{}
	if u.Mobile != "" {
		seen[phoneFactor(u.Mobile, "mobile", region)] = true
	}
	if u.Office != "" {
		seen[phoneFactor(u.Office, "office", region)] = true
	}
	if u.Email != "" {
		seen["email"] = true
	}
	if u.TOTPSecret != "" {
		seen["app"] = true
	}
	return len(seen)
}

// The words of the security info: the list's labels, and the kinds and
// changes a notice names.
var (
	labelIDs = map[Registration]string{RegMobile: "flow.contact.label.mobile", RegOffice: "flow.contact.label.office",
		RegEmail: "flow.contact.label.email", RegApp: "flow.contact.label.app"}
	contactIDs = map[Registration]string{RegMobile: "flow.contact.mobile", RegOffice: "flow.contact.office",
		RegEmail: "flow.contact.email", RegApp: "flow.contact.app"}
	changeIDs = map[string]string{"added": "flow.info.change.added", "changed": "flow.info.change.changed",
		"removed": "flow.info.change.removed"}
)

// contactsOf is what u can be reached by, for comparisons.
func contactsOf(u User) [4]string { return [4]string{u.Mobile, u.Office, u.Email, u.TOTPSecret} }

// Registered is one line of the security info.
type Registered struct {
	Kind  Registration
	Label string
	// Hint is the masked destination; empty for the app and for what is
	// not registered.
	Hint string
	Set  bool
	// Editable means the person may add, change or remove it here.
	Editable bool
}

// Contacts lists the security info on StepManage: every kind, registered
// or not, masked as the reset masks it. Elsewhere it is empty.
func (s *Session) Contacts() []Registered {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepManage {
		return nil
	}
	u := s.user
	var out []Registered
	for _, c := range registrations {
		r := Registered{Kind: c, Label: s.t(labelIDs[c]), Editable: s.editable(c)}
		switch c {
		case RegMobile:
			r.Set, r.Hint = u.Mobile != "", MaskPhone(u.Mobile)
		case RegOffice:
			r.Set, r.Hint = u.Office != "", MaskPhone(u.Office)
		case RegEmail:
			r.Set, r.Hint = u.Email != "", MaskEmail(u.Email)
		case RegApp:
			r.Set = u.TOTPSecret != ""
		}
		if !r.Set {
			r.Hint = ""
		}
		if r.Set || r.Editable {
			out = append(out, r)
		}
	}
	return out
}

// editable reports whether the person may change c here: the policy lists
// it and what proves it is offered.
func (s *Session) editable(c Registration) bool {
	if !s.e.cfg.Registration.allows(c) {
		return false
	}
	for _, m := range Provers(c) {
		if s.e.available(m) {
			return true
		}
	}
	return false
}

// Provers are the methods that may prove a new destination of c, in the
// order a screen offers them.
func Provers(c Registration) []MethodID {
	switch c {
	case RegMobile:
		return []MethodID{TextMobile, CallMobile}
	case RegOffice:
		return []MethodID{CallOffice}
	case RegEmail:
		return []MethodID{EmailAltern}
	case RegApp:
		return []MethodID{TOTPApp}
	}
	return nil
}

// managing refuses a change outside StepManage, and ends the session once
// Config.ResetWindow has passed since the sign-in or the proof.
func (s *Session) managing(c Registration) error {
	if s.step != StepManage || !s.info || !s.known {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	if err := s.windowClosed("manage", "flow.info.expired"); err != nil {
		return err
	}
	if !s.editable(c) {
		return s.refuse(ReasonNotAllowed, "", s.t("flow.info.not_editable"))
	}
	return nil
}

// admitChange counts a change begun against the account and the source.
func (s *Session) admitChange(ctx context.Context) error {
	r := s.e.cfg.Registration
	for _, w := range []struct {
		name, key string
		rate      Rate
	}{
		{"changes_per_account", s.e.key(windowKind("info-acct", r.ChangesPerAccount.Per), s.acct), r.ChangesPerAccount},
		{"changes_per_source", s.e.key(windowKind("info-src", r.ChangesPerSource.Per), sourceOf(s.origin)), r.ChangesPerSource},
	} {
		ok, wait, err := s.e.deps.Store.Take(ctx, w.key, w.rate.Count, w.rate.Per)
		if err != nil {
			return s.storeFailed(err)
		}
		if !ok {
			return s.limited(ReasonRateLimited, w.name, wait, s.t("flow.info.too_many", "When", s.e.when(s.tr, wait)))
		}
	}
	return nil
}

// AddContact proves a new mobile or office number, or a new alternate
// email, before it replaces what the account has: a code is texted or
// mailed to it, or a call placed to it with a number to key in (how says
// which), and the session goes to StepEnterCode or StepWaiting. The right
// code or answer saves it and comes back to StepManage, where a failure
// comes back too, with nothing saved.
func (s *Session) AddContact(ctx context.Context, c Registration, value string, how MethodID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.managing(c); err != nil {
		return err
	}
	ok := false
	for _, m := range Provers(c) {
		ok = ok || (m == how && m != TOTPApp && s.e.available(m))
	}
	if !ok {
		return s.refuse(ReasonMethodUnknown, how, s.t("flow.choose.unknown"))
	}
	p := &pending{contact: c, verb: "added"}
	v := Sanitize(value, 320)
	switch c {
	case RegMobile, RegOffice:
		n, ok := e164(Sanitize(value, MaxPhoneLen), s.e.cfg.PhoneRegion)
		if !ok {
			return s.refuse(ReasonInvalidInput, how, s.t("flow.info.bad_phone"))
		}
		old := s.user.Mobile
		if c == RegOffice {
			old = s.user.Office
		}
		if old != "" && SamePhone(n, old, s.e.cfg.PhoneRegion) {
			return s.refuse(ReasonInvalidInput, how, s.t("flow.info.same"))
		}
		if old != "" {
			p.verb = "changed"
		}
		v = n
		if c == RegMobile {
			p.change.Mobile = &v
		} else {
			p.change.Office = &v
		}
	case RegEmail:
		if !validEmail(v) {
			return s.refuse(ReasonInvalidInput, how, s.t("flow.info.bad_email"))
		}
		if s.user.Email != "" && CanonicalLogin(v) == CanonicalLogin(s.user.Email) {
			return s.refuse(ReasonInvalidInput, how, s.t("flow.info.same"))
		}
		if s.user.Email != "" {
			p.verb = "changed"
		}
		p.change.Email = &v
	}
	if wait := s.sendWait(how); wait > 0 {
		return s.refuse(ReasonCooldown, how, s.tr.N("flow.cooldown.method", seconds(wait)))
	}
	defer s.e.padSend(ctx, time.Now())
	if err := s.admitChange(ctx); err != nil {
		return err
	}
	p.user = p.change.Apply(s.user)
	s.adding, s.method = p, how
	send, next := s.issueCode, StepEnterCode
	if how.Answered() {
		send, next = s.startApproval, StepWaiting
	}
	if err := send(ctx); err != nil {
		s.adding, s.method = nil, ""
		return err
	}
	s.event("add_contact", "started", "")
	s.step = next
	return nil
}

// AddApp makes a new authenticator secret for the person to scan and goes
// to StepEnterCode: a code from the app that matches saves it (replacing
// the app the account had) and comes back to StepManage. The secret is
// the person's to see now, and is never logged.
func (s *Session) AddApp(ctx context.Context) (secret string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.managing(RegApp); err != nil {
		return "", err
	}
	if err := s.admitChange(ctx); err != nil {
		return "", err
	}
	b := make([]byte, 20) // RFC 4226: 160 bits
	if _, err := rand.Read(b); err != nil {
		panic("flow: crypto/rand failed: " + err.Error())
	}
	secret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	p := &pending{contact: RegApp, verb: "added", change: MethodChanges{TOTPSecret: &secret}}
	if s.user.TOTPSecret != "" {
		p.verb = "changed"
	}
	p.user = p.change.Apply(s.user)
	s.adding, s.method = p, TOTPApp
	s.event("add_contact", "started", "")
	s.step = StepEnterCode
	return secret, nil
}

// RemoveContact removes c from the account, on StepManage. Removing the
// last method, or going below Config.MethodsRequired, is refused.
func (s *Session) RemoveContact(ctx context.Context, c Registration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.managing(c); err != nil {
		return err
	}
	var none string
	var ch MethodChanges
	switch c {
	case RegMobile:
		ch.Mobile = &none
	case RegOffice:
		ch.Office = &none
	case RegEmail:
		ch.Email = &none
	case RegApp:
		ch.TOTPSecret = &none
	}
	after := ch.Apply(s.user)
	if contactsOf(after) == contactsOf(s.user) {
		return s.refuse(ReasonInvalidInput, "", s.t("flow.info.nothing"))
	}
	left := contactCount(after, s.e.cfg.PhoneRegion)
	if left == 0 {
		return s.refuse(ReasonNotAllowed, "", s.t("flow.info.last_method"))
	}
	if left < s.e.cfg.MethodsRequired {
		return s.refuse(ReasonNotAllowed, "", s.t("flow.info.below_required", "N", s.e.cfg.MethodsRequired))
	}
	if err := s.admitChange(ctx); err != nil {
		return err
	}
	return s.save(ctx, c, "removed", ch)
}

// saveAdded saves the new destination just proved.
func (s *Session) saveAdded(ctx context.Context) error {
	p := s.adding
	s.clear(ctx, s.method)
	return s.save(ctx, p.contact, p.verb, p.change)
}

// save writes ch to the directory once the audit has it, tells the old
// and the new addresses, and comes back to StepManage. A refusal comes
// back too, with nothing changed.
func (s *Session) save(ctx context.Context, c Registration, verb string, ch MethodChanges) error {
	method := s.method
	s.adding, s.method = nil, ""
	s.voidChallenge()
	s.step = StepManage
	if err := s.auditAhead(ctx, "set_methods"); err != nil {
		return s.auditDown()
	}
	if !s.e.writes.begin() {
		return s.restarting("set_methods")
	}
	defer s.e.writes.end()
	secret := ""
	if ch.TOTPSecret != nil {
		secret = *ch.TOTPSecret
	}
	if err := s.e.deps.Directory.(MethodWriter).SetMethods(ctx, s.user, ch); err != nil {
		s.e.audit.Error("directory write failed", "sid", s.id, "ref", s.Ref(), "step", "set_methods", "error", redact(err.Error(), secret))
		return s.refuse(ReasonUnavailable, "", s.t("flow.info.save_failed"))
	}
	old := s.user
	s.user = ch.Apply(s.user)
	s.saved++
	s.methods = s.labelled(s.e.userMethods(s.user, s.origin.SSHKey))
	attrs := s.eventAttrs("set_methods", "ok", "")
	attrs = append(attrs, slog.String("contact", string(c)), slog.String("change", verb), slog.String("proved_by", string(method)))
	s.e.audit.LogAttrs(context.Background(), slog.LevelInfo, "set_methods", attrs...)
	s.notifyChange(ctx, old, s.user, c, verb)
	return nil
}

// notifyChange tells every address the account had and has now that its
// security info changed: what, when and where, and whom to call.
func (s *Session) notifyChange(ctx context.Context, old, now User, c Registration, verb string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	tr := s.tr
	at := s.e.clock.Now().UTC()
	what := tr.T(changeIDs[verb], "Kind", tr.T(contactIDs[c]))
	text := tr.T("flow.notice.info", "What", what, "When", noticeWhen(tr, at), "Where", s.whereFrom(tr)) +
		" " + s.e.helpdeskLine(tr)
	sent := map[string]bool{}
	for _, u := range []User{old, now} {
		if a := u.Email; a != "" && s.e.deps.Email != nil && !sent["email:"+CanonicalLogin(a)] {
			sent["email:"+CanonicalLogin(a)] = true
			s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, a, text, "user", tr)
		}
		if n := u.Mobile; n != "" && s.e.deps.SMS != nil {
			if e, ok := e164(n, s.e.cfg.PhoneRegion); ok {
				n = e
			}
			if !sent["sms:"+n] {
				sent["sms:"+n] = true
				s.deliverNotice(ctx, s.e.deps.SMS, TextMobile, n, text, "user", tr)
			}
		}
	}
	// How a privileged account is recovered is the administrators' business
	// too, as its resets are.
	if s.privileged && s.e.deps.Email != nil && len(s.e.cfg.Notices.Admins) > 0 {
		atr := i18n.For(s.e.cfg.Notices.Lang)
		admin := atr.T("flow.notice.admin_info", "Login", fmt.Sprintf("%q", Sanitize(s.user.Login, 128)),
			"What", atr.T(changeIDs[verb], "Kind", atr.T(contactIDs[c])),
			"When", noticeWhen(atr, at), "Where", s.whereFrom(atr))
		for _, a := range s.e.cfg.Notices.Admins {
			s.deliverNotice(ctx, s.e.deps.Email, EmailAltern, a, admin, "admin", atr)
		}
	}
}

// OffersMoreMethods reports whether a finished reset or change offers
// "Add another way to reach you": the person has fewer methods than
// policy.registration.min_methods, may add one here, and is still within
// Config.ResetWindow of the verification. After a change, whose proof is
// the password alone, only an account with no method is offered one, as
// SignIn would let it (policy.registration.first_method: password).
func (s *Session) OffersMoreMethods() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offersMore()
}

func (s *Session) offersMore() bool {
	if s.step != StepDone || s.info || !s.known {
		return false
	}
	if _, ok := s.e.deps.Directory.(MethodWriter); !ok {
		return false
	}
	n := contactCount(s.user, s.e.cfg.PhoneRegion)
	if n >= s.e.cfg.Registration.MinMethods {
		return false
	}
	if s.Task() == TaskChange && (n > 0 || s.privileged || s.e.cfg.Registration.FirstMethod != FirstByPassword) {
		// A change proved the password alone, which registers only the
		// first method of an account, and only when the policy says so.
		return false
	}
	if s.windowOver() {
		return false
	}
	for _, c := range registrations {
		if s.editable(c) {
			return true
		}
	}
	return false
}

// AddMoreMethods takes a finished reset or change that OffersMoreMethods
// to StepManage: what it just proved is its proof, as for "Update my
// security info", whose rules then hold.
func (s *Session) AddMoreMethods() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.offersMore() {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	s.info = true
	s.step = StepManage
	s.event("add_more_methods", "ok", "")
	return nil
}
