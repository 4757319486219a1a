package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Session is one person's way through a reset. Its methods are safe to call
// from any goroutine; they only move the session forward, never skip a step.
type Session struct {
	mu     sync.Mutex
	e      *Engine
	id     string
	origin Origin
	tr     *i18n.Printer // the session's language
	step   Step

	captchaSeed     string
	captchaDigits   []byte
	captchaIssued   time.Time
	captchaFailures int
	captchaReloads  int

	login string // as typed, sanitised
	user  User
	known bool
	// helpdeskOnly: the account's own methods do not meet the policy; it
	// shows a decoy's list, and only its helpdesk code can verify it.
	helpdeskOnly bool
	methods      []Method
	// acct is what the account limits count: the directory entry, or the
	// login as typed when there is none (see throttle.go).
	acct       string
	proof      proof
	privileged bool
	// proved lists the methods verified, in order, for the notice.
	proved []MethodID

	used       map[MethodID]bool
	closed     map[MethodID]bool
	verified   int
	method     MethodID
	failures   int
	mismatches int

	code         []byte // HMAC of the current code; nil when there is none
	codeExpires  time.Time
	codeAttempts map[MethodID]int
	// sentAt is the last send per method: a code, a call or a push. The
	// cooldown holds however the method is reached again (Resend, or Back
	// and Choose).
	sentAt map[MethodID]time.Time

	token string // pending approval
	// waiting is the token a Wait is under way for: a second Wait for the
	// same challenge is out of order, so that only one of them takes the
	// answer (two would race for it, and the loser would count as silence).
	waiting string
	shown   string // number on the screen
	want    string // the answer that approves

	verifiedAt time.Time
	unlocked   bool
	watch      string       // the watch on the last text sent (WatchDelivery)
	audioToken string       // the one-time audio CAPTCHA link, if one was made
	memo       passwordMemo // what the password checks found for the last candidate

	task Task // "" is TaskReset
	// current is the password a change signed in with, until it is done.
	current string
	// expired: the current password of a change has expired.
	expired bool
	// info: the session manages the security info (info.go): TaskInfo, or
	// a finished reset that adds a method.
	info   bool
	adding *pending // the new destination being proved, in an info session
	saved  int      // changes of security info saved
}

// State is what a screen needs to draw the session.
type State struct {
	Step      Step
	SessionID string
	// Ref is the support code a person can quote.
	Ref string
	// Login is the login as typed.
	Login string
	// Verification is the current verification step, 1 or 2.
	Verification    int
	MethodsRequired int
	Method          Method
	// Show is the number on the screen for a call or a push.
	Show string
	// ResendAt is when a new code may be sent.
	ResendAt   time.Time
	CodeLength int
	// Unlocked means the session ended by unlocking the account, its
	// password unchanged.
	Unlocked bool
	// Task is what the session is for.
	Task Task
	// Expired means the password a change signed in with has expired
	// (or must be changed at the next sign-in).
	Expired bool
	// Registering means the code or the call proves a new destination in
	// "Update my security info" (info.go), not one of the account's.
	Registering bool
	// Saved counts the changes of security info saved in the session.
	Saved int
}

// ID returns the session id (128 random bits, hex).
func (s *Session) ID() string { return s.id }

// Ref returns the support code: the first 8 characters of the session id.
func (s *Session) Ref() string { return s.id[:8] }

// State returns a snapshot of the session.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Step: s.step, SessionID: s.id, Ref: s.Ref(), Login: s.login,
		Verification: s.verified + 1, MethodsRequired: s.proof.required,
		Show: s.shown, CodeLength: s.e.cfg.CodeLength, Unlocked: s.unlocked,
		Task: s.Task(), Expired: s.expired,
		Registering: s.adding != nil, Saved: s.saved,
	}
	if st.Verification > st.MethodsRequired {
		st.Verification = st.MethodsRequired
	}
	for _, m := range s.methods {
		if m.ID == s.method {
			st.Method = m
		}
	}
	if s.adding != nil {
		st.Method = Method{ID: s.method, Label: s.method.LabelIn(s.tr), Hint: s.adding.hint()}
	}
	switch s.method {
	case TOTPApp:
		st.CodeLength = 6
	case Helpdesk:
		st.CodeLength = helpdeskCodeLen
	}
	if t, ok := s.sentAt[s.method]; ok {
		st.ResendAt = t.Add(s.e.cfg.ResendCooldown)
	}
	return st
}

// Breadcrumb returns the trail shown above the verification and password
// screens, e.g. "verification step 1 > choose a new password". It follows
// the methods this account needs, known once it is identified.
func (s *Session) Breadcrumb() []string {
	s.mu.Lock()
	n, last := s.proof.required, "flow.breadcrumb.password"
	if s.Task() == TaskChange {
		n = 0 // the current password is the proof
	}
	if s.info {
		last = "flow.breadcrumb.info"
	}
	s.mu.Unlock()
	var b []string
	for i := 1; i <= n; i++ {
		b = append(b, s.t("flow.breadcrumb.step", "N", i))
	}
	return append(b, s.t(last))
}

// Methods returns the methods the person may choose now: what the account
// has registered (or a decoy), less those already used in this reset.
func (s *Session) Methods() []Method {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Method
	for _, m := range s.methods {
		if s.offered(m.ID) {
			out = append(out, m)
		}
	}
	return out
}

// offered reports whether m may be chosen now: not used nor closed, and,
// when the account must prove its authenticator app and has not yet, the
// app on the last verification step.
func (s *Session) offered(m MethodID) bool {
	if s.used[m] || s.closed[m] {
		return false
	}
	if m == Helpdesk && (s.helpdeskOnly || s.e.cfg.Helpdesk.countsAll()) {
		return true // enough alone
	}
	if s.proof.needApp && !s.e.appGrade(m) && !s.appProved() {
		// The app must be one of the proofs: on the last step only the app
		// will do, and before it another method is only worth spending while
		// an app method is still open.
		if s.verified == s.proof.required-1 || !s.appOpen() {
			return false
		}
	}
	return true
}

func (s *Session) appProved() bool {
	for _, p := range s.proved {
		if s.e.appGrade(p) {
			return true
		}
	}
	return false
}

func (s *Session) appOpen() bool {
	for _, m := range s.methods {
		if s.e.appGrade(m.ID) && !s.used[m.ID] && !s.closed[m.ID] {
			return true
		}
	}
	return false
}

// Identify checks the CAPTCHA, then looks up login. A wrong answer draws a
// new CAPTCHA and keeps the session on this step. An unknown, disabled or
// ineligible login goes on exactly like a known one, with decoy methods,
// and takes as long: every attempt lasts at least Limits.IdentifyFloor.
// It is the first step of a reset only: the other tasks SignIn.
func (s *Session) Identify(ctx context.Context, login, answer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepIdentify || s.Task() != TaskReset {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	login = Sanitize(login, MaxLoginLen)
	s.login = login
	// key is the login as everything is keyed by it: lookup, limits, decoy.
	key := CanonicalLogin(login)
	if key == "" {
		return s.refuse(ReasonInvalidInput, "", s.t("flow.identify.empty"))
	}
	if s.e.Draining() {
		return s.restarting("identify")
	}
	defer s.e.padIdentify(ctx, time.Now())
	if err := s.admitIdentify(ctx); err != nil {
		return err
	}
	if err := s.checkCaptcha(answer); err != nil {
		return err
	}
	u, err := s.e.deps.Directory.LookupUser(ctx, key)
	var why string // why the decoy path, for the audit; "" for a real account
	switch {
	case errors.Is(err, ErrUnknownUser):
		why = "unknown"
		if err != ErrUnknownUser {
			why = "unknown: " + err.Error() // e.g. several entries match
		}
	case err != nil:
		s.e.audit.Error("directory lookup failed", "sid", s.id, "ref", s.Ref(), "error", err.Error())
		return s.refuse(ReasonUnavailable, "", s.t(unavailable))
	case u.Disabled:
		why = "disabled"
	}
	// An account is counted by its entry; a login without one by itself.
	acct := "user\x00" + u.ID
	if u.ID == "" {
		acct = "login\x00" + key
	}
	offerHelpdesk, hasCode, err := s.e.helpdeskState(ctx, acct)
	if err != nil {
		return s.storeFailed(err)
	}
	var methods []Method
	var pf proof
	helpdeskOnly := false
	privileged := why == "" && s.e.cfg.Privileged.matches(u)
	if why == "" {
		methods = s.e.userMethods(u, s.origin.SSHKey)
		pf = s.e.proofFor(u.TOTPSecret != "", privileged)
		switch {
		case privileged && s.e.cfg.Privileged.Mode == PrivilegedExcluded:
			why = "privileged_excluded"
		case pf.needApp && !slices.ContainsFunc(methods, func(m Method) bool { return s.e.appGrade(m.ID) }):
			// The app it signs in with cannot be checked here, and a reset
			// must not bypass it.
			why = "ineligible: app not offered"
		case countFactors(u, methods, s.e.cfg.PhoneRegion) < pf.required:
			why = "ineligible"
		}
		// A code from the helpdesk that is enough alone lets an account in
		// whose own methods are not (see helpdesk.go).
		helpdeskOnly = strings.HasPrefix(why, "ineligible") && hasCode && (s.e.cfg.Helpdesk.countsAll() || pf.required == 1)
	}
	if why != "" {
		methods, pf = s.e.decoyMethods(ctx, key)
		privileged = privileged && helpdeskOnly
	}
	if offerHelpdesk {
		methods = append(methods, Method{ID: Helpdesk})
	}
	s.acct = acct
	if err := s.checkSuspended(ctx, false); err != nil {
		s.acct = ""
		return err
	}
	s.methods, s.proof, s.privileged = s.labelled(methods), pf, privileged
	if helpdeskOnly {
		s.known, s.user, s.helpdeskOnly = true, u, true
		s.e.audit.Info("identify", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
			"login", s.login, "step", "identify", "result", "ok", "reason", why+": helpdesk code only")
	} else if why != "" {
		s.known, s.user = false, User{}
		// The audit says what happened; nothing on the screen does.
		s.e.audit.Info("identify", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
			"login", s.login, "step", "identify", "result", "decoy", "reason", why)
	} else {
		s.known, s.user = true, u
		s.event("identify", "ok", "")
	}
	s.dropAudio()
	s.step = StepChooseMethod
	return nil
}

// checkCaptcha checks the answer to the CAPTCHA on the screen, when it is
// on, and draws a new one: every CAPTCHA is answered once.
func (s *Session) checkCaptcha(answer string) error {
	if s.e.cfg.CaptchaDisabled {
		return nil
	}
	expired := s.e.clock.Now().Sub(s.captchaIssued) > captchaTTL
	ok := !expired && s.captchaMatches(Sanitize(answer, MaxCaptchaLen))
	s.newCaptcha()
	if expired {
		// Not counted: the person was away, not guessing.
		return s.refuse(ReasonCaptchaWrong, "", s.t("flow.captcha.expired"))
	}
	if !ok {
		s.captchaFailures++
		if s.captchaFailures > s.e.cfg.CaptchaMaxFailures {
			s.dropAudio()
			s.step = StepClosed
			s.event("identify", "refused", ReasonTooManyAttempts)
			return &Error{Reason: ReasonTooManyAttempts, Message: s.t("flow.captcha.too_many"), Ref: s.Ref(), Final: true}
		}
		return s.refuse(ReasonCaptchaWrong, "", s.t("flow.captcha.wrong"))
	}
	return nil
}

// Choose picks the method for the current verification step.
func (s *Session) Choose(ctx context.Context, id MethodID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepChooseMethod {
		return s.refuse(ReasonOutOfOrder, id, s.t("flow.step_over"))
	}
	var found bool
	for _, m := range s.methods {
		found = found || (m.ID == id && s.offered(id))
	}
	if !found {
		return s.refuse(ReasonMethodUnknown, id, s.t("flow.choose.unknown"))
	}
	if wait := s.sendWait(id); wait > 0 {
		return s.refuseFor(wait, ReasonCooldown, id, s.tr.N("flow.cooldown.method", seconds(wait)))
	}
	s.method = id
	s.event("choose", "ok", "")
	switch id {
	case TextMobile, CallMobile, CallOffice:
		s.step = StepConfirmNumber
	case TOTPApp, Helpdesk:
		s.step = StepEnterCode
	case SSHKey:
		// Proved by the SSH signature already: only the account's
		// suspension stands in the way. A decoy never lists it; the
		// listing is checked again all the same.
		if !s.real() || !listsKey(s.user.SSHKeys, s.origin.SSHKey) {
			s.method = ""
			return s.refuse(ReasonMethodUnknown, id, s.t("flow.choose.unknown"))
		}
		if err := s.checkSuspended(ctx, true); err != nil {
			s.method = ""
			return err
		}
		s.clear(ctx, id)
		return s.verifiedNow(ctx)
	case EmailAltern, PushApp:
		// A real account talks to a provider here, a decoy does not.
		defer s.e.padSend(ctx, time.Now())
		send, next := s.issueCode, StepEnterCode
		if id.Answered() {
			send, next = s.startApproval, StepWaiting
		}
		if err := send(ctx); err != nil {
			s.method = ""
			return err
		}
		s.step = next
	}
	return nil
}

// sendWait is how long until method m may send again.
func (s *Session) sendWait(m MethodID) time.Duration {
	last, ok := s.sentAt[m]
	if !ok {
		return 0
	}
	return last.Add(s.e.cfg.ResendCooldown).Sub(s.e.clock.Now())
}

// seconds rounds d up to whole seconds, for messages.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// Back leaves the number, code or waiting screen for the method list of
// the same verification step. A pending code or approval is voided; the
// failure counts stay.
func (s *Session) Back() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.step {
	case StepConfirmNumber, StepEnterCode, StepWaiting:
	default:
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	s.voidChallenge()
	s.method = ""
	s.step = s.listStep()
	return nil
}

// ConfirmNumber checks the complete phone number typed against the stored
// one (E.164). It is a gate against abuse, not a proof: the code or the call
// always goes to the stored number.
func (s *Session) ConfirmNumber(ctx context.Context, typed string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepConfirmNumber {
		return s.refuse(ReasonOutOfOrder, s.method, s.t("flow.step_over"))
	}
	typed = Sanitize(typed, MaxPhoneLen)
	if typed == "" {
		return s.refuse(ReasonInvalidInput, s.method, s.t("flow.number.empty"))
	}
	// A real account talks to a provider on a match, a decoy never does.
	defer s.e.padSend(ctx, time.Now())
	if err := s.checkSuspended(ctx, true); err != nil {
		return err
	}
	if !s.real() || !SamePhone(typed, s.storedNumber(), s.e.cfg.PhoneRegion) {
		k, err := s.count(ctx)
		if err != nil {
			return err
		}
		s.mismatches++
		if s.mismatches >= s.e.cfg.MaxNumberMismatches {
			// Phone methods end for this session: a gate against texting
			// and calling numbers that are not the person's.
			for _, m := range []MethodID{TextMobile, CallMobile, CallOffice} {
				s.method = m
				s.closeMethod()
			}
			return s.fail(ctx, k, ReasonTooManyAttempts, s.t("flow.number.closed"))
		}
		return s.fail(ctx, k, ReasonNumberMismatch, s.t("flow.number.mismatch"))
	}
	s.event("confirm_number", "ok", "")
	if !s.method.Answered() {
		if err := s.issueCode(ctx); err != nil {
			return err
		}
		s.step = StepEnterCode
		return nil
	}
	if err := s.startApproval(ctx); err != nil {
		return err
	}
	s.step = StepWaiting
	return nil
}

func (s *Session) storedNumber() string {
	u := s.subject()
	if s.method == CallOffice {
		return u.Office
	}
	return u.Mobile
}

// destination is where a send goes: always what the directory holds, phone
// numbers in E.164 for the providers.
func (s *Session) destination() string {
	switch s.method {
	case EmailAltern:
		return s.subject().Email
	case PushApp:
		// The login names the person to a push service (Duo's username);
		// a directory's ID may be a DN.
		return s.user.Login
	}
	if n, ok := e164(s.storedNumber(), s.e.cfg.PhoneRegion); ok {
		return n
	}
	return s.storedNumber()
}

// issueCode makes a new code, keeps only its HMAC and sends it to the stored
// destination. A decoy session sends nothing and can never match.
func (s *Session) issueCode(ctx context.Context) error {
	if s.e.Draining() {
		return s.restarting("send")
	}
	gaps, err := s.admitSend(ctx)
	if err != nil {
		return err
	}
	now := s.e.clock.Now()
	code := randomDigits(s.e.cfg.CodeLength)
	s.code = codeHash(s.e.cfg.SecretKey, s.id, string(s.method), code)
	s.codeExpires = now.Add(s.e.cfg.CodeTTL)
	s.sentAt[s.method] = now
	if !s.real() {
		s.event("send", "ok", "")
		return nil
	}
	d := Delivery{
		SessionID: s.id, Method: s.method, To: s.destination(), Expires: s.codeExpires, Lang: s.tr.Lang(),
		Text:    s.t("flow.delivery.code", "Code", code, "TTL", spell(s.tr, s.e.cfg.CodeTTL)),
		Subject: s.t("flow.subject.code"),
	}
	if s.info {
		// Not a reset: a code the person did not ask for says what it is.
		d.Text = s.t("flow.delivery.info_code", "Code", code, "TTL", spell(s.tr, s.e.cfg.CodeTTL))
		d.Subject = s.t("flow.subject.info_code")
	}
	// A text may fail after the provider took it: a watch in the Store
	// lets the provider say so (see WatchDelivery), from any instance.
	s.dropWatch()
	if s.method == TextMobile {
		w := randomToken()
		if err := s.e.deps.Store.CreateApproval(ctx, w, s.e.cfg.CodeTTL); err != nil {
			s.code = nil
			delete(s.sentAt, s.method)
			s.refund(ctx, gaps)
			return s.storeFailed(err)
		}
		s.watch, d.Token = w, w
	}
	if err := s.e.sender(s.method).Deliver(ctx, d); err != nil {
		s.dropWatch()
		s.code = nil
		delete(s.sentAt, s.method)
		s.refund(ctx, gaps)
		s.e.audit.Error("delivery failed", "sid", s.id, "ref", s.Ref(), "method", string(s.method), "error", redact(err.Error(), code))
		return s.refuse(ReasonUnavailable, s.method, s.t("flow.delivery.failed"))
	}
	s.event("send", "ok", "")
	return nil
}

// Resend sends a new code once the cooldown has passed. The old code stops
// working; wrong tries so far still count.
func (s *Session) Resend(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepEnterCode || !s.method.SendsCode() {
		return s.refuse(ReasonOutOfOrder, s.method, s.t("flow.resend.nothing"))
	}
	if wait := s.sendWait(s.method); wait > 0 {
		return s.refuseFor(wait, ReasonCooldown, s.method, s.tr.N("flow.cooldown.code", seconds(wait)))
	}
	defer s.e.padSend(ctx, time.Now())
	return s.issueCode(ctx)
}

// SubmitCode checks a texted or emailed code, or an authenticator code.
func (s *Session) SubmitCode(ctx context.Context, typed string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepEnterCode {
		return s.refuse(ReasonOutOfOrder, s.method, s.t("flow.step_over"))
	}
	if s.method == Helpdesk {
		if cleanHelpdeskCode(Sanitize(typed, MaxCodeLen)) == "" {
			return s.refuse(ReasonInvalidInput, s.method, s.t("flow.code.empty"))
		}
		return s.checkHelpdesk(ctx, Sanitize(typed, MaxCodeLen))
	}
	code := cleanCode(Sanitize(typed, MaxCodeLen))
	if code == "" {
		return s.refuse(ReasonInvalidInput, s.method, s.t("flow.code.empty"))
	}
	if s.method == TOTPApp {
		return s.checkTOTP(ctx, code)
	}
	if s.code == nil {
		return s.refuse(ReasonCodeExpired, s.method, s.t("flow.code.void"))
	}
	if s.e.clock.Now().After(s.codeExpires) {
		s.code = nil
		return s.refuse(ReasonCodeExpired, s.method, s.t("flow.code.expired"))
	}
	k, err := s.reserve(ctx)
	if err != nil {
		return err
	}
	// Computed for a decoy too, which can never match.
	match := hmac.Equal(codeHash(s.e.cfg.SecretKey, s.id, string(s.method), code), s.code)
	if s.real() && match {
		s.code = nil
		s.clear(ctx, s.method)
		return s.verifiedNow(ctx)
	}
	return s.wrongCode(ctx, k)
}

func (s *Session) wrongCode(ctx context.Context, k strike) error {
	if s.codeAttempts == nil {
		s.codeAttempts = map[MethodID]int{}
	}
	s.codeAttempts[s.method]++
	if s.codeAttempts[s.method] >= s.e.cfg.CodeMaxAttempts {
		s.code = nil
		s.closeMethod()
		return s.fail(ctx, k, ReasonTooManyAttempts, s.t("flow.code.too_many"))
	}
	return s.fail(ctx, k, ReasonCodeWrong, s.t("flow.code.wrong"))
}

// closeMethod ends the current method for this session and returns to the
// method list, unless the session itself has ended.
func (s *Session) closeMethod() {
	if s.closed == nil {
		s.closed = map[MethodID]bool{}
	}
	if s.adding == nil {
		// A new destination that failed is not one of the account's
		// methods: nothing of the proof closes with it.
		s.closed[s.method] = true
	}
	if s.method == TextMobile || s.method == EmailAltern || s.method == TOTPApp {
		s.voidChallenge()
	}
	s.method = ""
	s.step = s.listStep()
}

// checkTOTP checks an authenticator code: valid now, and not used before
// (the replay cache in the Store). A decoy does the same work against a
// secret of its own and never verifies.
func (s *Session) checkTOTP(ctx context.Context, code string) error {
	k, err := s.reserve(ctx)
	if err != nil {
		return err
	}
	secret := s.subject().TOTPSecret
	if !s.real() {
		secret = s.e.decoySecret(s.acct)
	}
	step, ok := s.e.deps.TOTP.Validate(secret, code, s.e.clock.Now())
	if !ok {
		return s.wrongCode(ctx, k)
	}
	fresh, err := s.e.deps.Store.UseOnce(ctx, s.e.key("totp", s.acct, fmt.Sprint(step)), 3*time.Minute)
	if err != nil {
		return s.storeFailed(err)
	}
	if !fresh {
		s.event("verify", "refused", ReasonCodeReplayed)
		return s.wrongCode(ctx, k)
	}
	if !s.real() {
		return s.wrongCode(ctx, k)
	}
	// RFC 6238 section 5.2: once a code is accepted, no code of that step
	// or of an earlier one may be. The window is one step either side of
	// now, so the earliest step a later check can accept is two before
	// this one: those two are spent too.
	for back := int64(1); back <= 2; back++ {
		if _, err := s.e.deps.Store.UseOnce(ctx, s.e.key("totp", s.acct, fmt.Sprint(step-back)), 3*time.Minute); err != nil {
			return s.storeFailed(err)
		}
	}
	s.clear(ctx, s.method)
	return s.verifiedNow(ctx)
}

// startApproval opens a pending approval and places the call or the push.
// A call asks the person to key in the number on the screen; a push offers
// three numbers, of which the screen shows the right one.
func (s *Session) startApproval(ctx context.Context) error {
	if s.e.Draining() {
		return s.restarting("send")
	}
	gaps, err := s.admitSend(ctx)
	if err != nil {
		return err
	}
	token := randomToken()
	if err := s.e.deps.Store.CreateApproval(ctx, token, s.e.cfg.ApprovalTTL); err != nil {
		s.refund(ctx, gaps)
		return s.storeFailed(err)
	}
	s.token = token
	now := s.e.clock.Now()
	s.sentAt[s.method] = now
	d := Delivery{SessionID: s.id, Method: s.method, To: s.destination(), Token: token, Expires: now.Add(s.e.cfg.ApprovalTTL), Lang: s.tr.Lang()}
	if s.method == PushApp {
		d.Choices = distinctNumbers(3)
		s.want = d.Choices[randomInt(3)]
		d.Shown = s.want
		d.Text = s.t("flow.delivery.push")
	} else {
		s.want = distinctNumbers(1)[0]
		d.Text = s.t("flow.delivery.call")
	}
	s.shown = s.want
	if !s.real() {
		s.event("send", "ok", "")
		return nil
	}
	if err := s.e.sender(s.method).Deliver(ctx, d); err != nil {
		s.voidChallenge()
		delete(s.sentAt, s.method)
		s.refund(ctx, gaps)
		s.e.audit.Error("delivery failed", "sid", s.id, "ref", s.Ref(), "method", string(s.method), "error", err.Error())
		return s.refuse(ReasonUnavailable, s.method, s.t("flow.delivery.failed"))
	}
	s.event("send", "ok", "")
	return nil
}

// Wait blocks until the call or the push is answered, it times out, or ctx
// ends. The right number verifies; a wrong one or none is a failed try and
// returns to the method list.
func (s *Session) Wait(ctx context.Context) error {
	s.mu.Lock()
	if s.step != StepWaiting || s.waiting == s.token {
		s.mu.Unlock()
		return s.refuseLocked(ReasonOutOfOrder, s.t("flow.step_over"))
	}
	token := s.token
	s.waiting = token
	s.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, s.e.cfg.ApprovalTTL)
	defer cancel()
	answer, err := s.e.deps.Store.AwaitApproval(wctx, token)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting == token {
		s.waiting = ""
	}
	if s.step != StepWaiting || s.token != token {
		return s.refuse(ReasonOutOfOrder, s.method, s.t("flow.step_over"))
	}
	reason, msg := ReasonApprovalWrong, s.t("flow.approval.wrong")
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrNoApproval) || errors.Is(err, context.DeadlineExceeded):
		reason, msg = ReasonApprovalTimeout, s.t("flow.approval.timeout")
	case err != nil:
		return s.storeFailed(err)
	case answer == AnswerUnreachable:
		// Counted like silence: a call nobody picks up must not become a
		// free way to ring someone's phone.
		reason, msg = ReasonApprovalTimeout, s.t("flow.delivery.failed")
	case s.real() && hmac.Equal([]byte(answer), []byte(s.want)):
		if err := s.checkSuspended(ctx, true); err != nil {
			return err
		}
		s.voidChallenge()
		s.clear(ctx, s.method)
		return s.verifiedNow(ctx)
	}
	// The answer is used up whatever happens next.
	s.voidChallenge()
	k, cerr := s.count(ctx)
	s.step = s.listStep()
	if cerr != nil {
		s.method = ""
		return cerr
	}
	return s.fail(ctx, k, reason, msg)
}

func (s *Session) voidChallenge() {
	if s.token != "" {
		_ = s.e.deps.Store.DeleteApproval(context.Background(), s.token)
	}
	s.token, s.shown, s.want = "", "", ""
	s.code = nil
	s.dropWatch()
}

// dropWatch voids the watch on the last text sent, which wakes a
// WatchDelivery waiting on it.
func (s *Session) dropWatch() {
	if s.watch != "" {
		_ = s.e.deps.Store.DeleteApproval(context.Background(), s.watch)
		s.watch = ""
	}
}

// WatchDelivery blocks while a code sent by text is on its way, and
// returns when the provider reports that the text could not be delivered
// (it answers the watch with AnswerUnreachable): the code stops working and
// the session goes back to the method list with ReasonUnavailable and the
// other methods on offer; that is not a failed try. A new code (Resend)
// is watched in turn. It returns ctx's error when ctx ends first, and
// waits for ctx when there is nothing (more) to watch.
func (s *Session) WatchDelivery(ctx context.Context) error {
	for {
		s.mu.Lock()
		token := s.watch
		if s.step != StepEnterCode {
			token = ""
		}
		s.mu.Unlock()
		if token == "" {
			<-ctx.Done()
			return ctx.Err()
		}
		answer, err := s.e.deps.Store.AwaitApproval(ctx, token)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.Lock()
		if s.watch != token || s.step != StepEnterCode {
			s.mu.Unlock()
			continue // a new code was sent, or the step is over
		}
		if err != nil || answer != AnswerUnreachable {
			// The watch expired with the code, or the Store failed: there
			// is nothing more to learn about this text.
			s.watch = ""
			s.mu.Unlock()
			continue
		}
		s.watch = ""
		s.code = nil
		s.step = s.listStep()
		s.e.audit.Warn("delivery failed", "sid", s.id, "ref", s.Ref(), "method", string(s.method), "error", "the provider could not deliver the text")
		err = s.refuse(ReasonUnavailable, s.method, s.t("flow.delivery.failed"))
		s.mu.Unlock()
		return err
	}
}

func (s *Session) verifiedNow(ctx context.Context) error {
	if s.adding != nil {
		return s.saveAdded(ctx)
	}
	s.event("verify", "ok", "")
	// What was proved is the phone, the app or the mailbox, not the way it
	// was reached: a second verification must use something else.
	proved := factor(s.user, s.method, s.e.cfg.PhoneRegion)
	for _, m := range s.methods {
		if factor(s.user, m.ID, s.e.cfg.PhoneRegion) == proved {
			s.used[m.ID] = true
		}
	}
	s.used[s.method] = true
	s.proved = append(s.proved, s.method)
	s.verified++
	if s.method == Helpdesk && (s.helpdeskOnly || s.e.cfg.Helpdesk.countsAll()) {
		s.verified = s.proof.required
	}
	s.verifiedAt = s.e.clock.Now()
	s.method = ""
	s.voidChallenge()
	switch {
	case s.verified >= s.proof.required && s.info:
		s.step = StepManage
	case s.verified >= s.proof.required:
		s.step = StepSetPassword
	default:
		s.step = StepChooseMethod
	}
	return nil
}

// Check evaluates the password rules for the live hints, cheap enough for
// every key press: a breached-password rule shows the verdict of the last
// lookup of this password (CheckFull and SetPassword look it up).
func (s *Session) Check(password, confirm string) []Rule {
	return s.passwordRules(context.Background(), password, confirm, false)
}

func (s *Session) checkLogin() string {
	if s.known {
		return s.user.Login
	}
	return s.login
}

// windowOver reports whether Config.ResetWindow has passed since the
// verification (or the sign-in), after which nothing it allowed is done.
func (s *Session) windowOver() bool {
	return s.e.clock.Now().Sub(s.verifiedAt) > s.e.cfg.ResetWindow
}

// windowClosed ends the session on step, in the words of msg, once the
// window is over; nil while it lasts.
func (s *Session) windowClosed(step, msg string) error {
	if !s.windowOver() {
		return nil
	}
	s.step = StepClosed
	s.event(step, "refused", ReasonSessionExpired)
	return &Error{Reason: ReasonSessionExpired, Message: s.t(msg), Ref: s.Ref(), Final: true}
}

// SetPassword writes the new password once every rule holds. A refusal
// leaves the session on this step; nothing is changed.
func (s *Session) SetPassword(ctx context.Context, password, confirm string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepSetPassword || !s.known || s.info {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	if err := s.windowClosed("set_password", "flow.reset.expired"); err != nil {
		return err
	}
	if bad := unmet(s.passwordRulesLocked(ctx, password, confirm)); len(bad) > 0 {
		reason := ReasonPolicy
		msg := s.t("flow.password.policy")
		if len(bad) == 1 && bad[0].ID == RuleConfirm {
			reason, msg = ReasonConfirmMismatch, s.t("flow.password.mismatch")
		}
		ids := make([]string, len(bad))
		for i, r := range bad {
			ids[i] = r.ID
		}
		s.e.audit.Info("set_password", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
			"login", s.login, "step", "set_password", "result", "refused", "reason", string(reason), "rules", ids)
		return &Error{Reason: reason, Message: msg, Ref: s.Ref(), Rules: bad}
	}
	if err := s.auditAhead(ctx, "set_password"); err != nil {
		return s.auditDown()
	}
	if !s.e.writes.begin() {
		s.step = StepClosed
		s.event("set_password", "refused", ReasonUnavailable)
		return &Error{Reason: ReasonUnavailable, Message: s.t(restarting), Ref: s.Ref(), Final: true}
	}
	defer s.e.writes.end()
	write := func() error { return s.e.deps.Directory.SetPassword(ctx, s.user, password) }
	if s.Task() == TaskChange {
		write = func() error { return s.changePassword(ctx, password) }
	}
	if err := write(); err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			s.e.audit.Info("set_password", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
				"login", s.login, "step", "set_password", "result", "refused", "reason", string(fe.Reason),
				"detail", redact(fe.Detail, password))
			// A copy: the directory may hand the same value to every session.
			return s.reworded(fe)
		}
		if errors.Is(err, ErrWrongPassword) {
			// Changed elsewhere since the sign-in: nothing here will do.
			s.step = StepClosed
			s.current = ""
			s.event("set_password", "refused", ReasonPasswordWrong)
			return &Error{Reason: ReasonPasswordWrong, Message: s.t("flow.change.stale"), Ref: s.Ref(), Final: true}
		}
		s.e.audit.Error("directory write failed", "sid", s.id, "ref", s.Ref(), "error", redact(err.Error(), password, s.current))
		return s.refuse(ReasonUnavailable, "", s.t("flow.password.failed"))
	}
	s.current = ""
	s.step = StepDone
	s.event("set_password", "ok", "")
	s.forgetAccount(ctx)
	s.notify(ctx)
	return nil
}

// Cancel ends the session; a pending code or approval stops working.
func (s *Session) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step == StepDone || s.step == StepClosed {
		return
	}
	s.voidChallenge()
	s.dropAudio()
	s.current = ""
	s.step = StepClosed
	s.event("session", "cancelled", "")
}

// fail counts a failed verification in the session; k is the same failure
// as the account counted it. Too many in the session end it; too many for
// the account suspend self-service reset for it.
func (s *Session) fail(ctx context.Context, k strike, reason Reason, msg string) error {
	s.failures++
	if s.over(k) {
		s.event("verify", "refused", reason)
		return s.suspend(ctx)
	}
	if s.failures >= s.e.cfg.MaxFailures {
		s.voidChallenge()
		s.step = StepClosed
		s.event("verify", "refused", ReasonTooManyAttempts)
		return &Error{Reason: ReasonTooManyAttempts, Message: s.t("flow.failures.too_many"), Ref: s.Ref(), Final: true}
	}
	s.event("verify", "refused", reason)
	return &Error{Reason: reason, Message: msg, Ref: s.Ref()}
}

// restarting ends the session: the instance is shutting down.
func (s *Session) restarting(step string) error {
	s.voidChallenge()
	s.step = StepClosed
	s.event(step, "refused", ReasonUnavailable)
	return &Error{Reason: ReasonUnavailable, Message: s.t(restarting), Ref: s.Ref(), Final: true}
}

func (s *Session) refuse(reason Reason, m MethodID, msg string) error {
	s.e.audit.Info(s.step.String(), "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
		"login", s.login, "method", string(m), "step", s.step.String(), "result", "refused", "reason", string(reason))
	return &Error{Reason: reason, Message: msg, Ref: s.Ref()}
}

// refuseFor is refuse with how long until the step may work again, so a
// screen can count it down.
func (s *Session) refuseFor(wait time.Duration, reason Reason, m MethodID, msg string) error {
	err := s.refuse(reason, m, msg)
	err.(*Error).RetryAfter = wait
	return err
}

func (s *Session) refuseLocked(reason Reason, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuse(reason, s.method, msg)
}

// event writes one audit record: never a password, a code or a secret.
func (s *Session) event(step, result string, reason Reason) {
	s.e.audit.LogAttrs(context.Background(), slog.LevelInfo, step, s.eventAttrs(step, result, reason)...)
}

// eventAttrs are the fields of an audit record of the session; a task
// other than the reset is named.
func (s *Session) eventAttrs(step, result string, reason Reason) []slog.Attr {
	attrs := []slog.Attr{slog.String("sid", s.id), slog.String("ref", s.Ref()), slog.String("remote", s.origin.Remote),
		slog.String("channel", string(s.origin.Channel)), slog.String("login", s.login),
		slog.String("method", string(s.method)), slog.String("step", step),
		slog.String("result", result), slog.String("reason", string(reason))}
	if s.origin.SSHKey != nil && (s.method == SSHKey || step == "session" && result == "started") {
		// The key the client signed with, by its fingerprint as ssh-keygen
		// -l shows it: where the session starts and where it proves.
		attrs = append(attrs, slog.String("key", sshKeyFingerprint(s.origin.SSHKey)))
	}
	if t := s.Task(); t != TaskReset {
		attrs = append(attrs, slog.String("task", string(t)))
	}
	return attrs
}

// redact keeps secrets out of a backend's error text before it is logged.
func redact(msg string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			msg = strings.ReplaceAll(msg, x, "[redacted]")
		}
	}
	return msg
}

func randomInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("flow: crypto/rand failed: " + err.Error())
	}
	return int(v.Int64())
}

// distinctNumbers returns n different two-digit numbers (10-99).
func distinctNumbers(n int) []string {
	seen := map[int]bool{}
	var out []string
	for len(out) < n {
		v := 10 + randomInt(90)
		if !seen[v] {
			seen[v] = true
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}
