package flow

import (
	"context"
	"errors"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Task is what a person came to do. The entry point chooses it (the SSH
// user name, a subcommand, a link on the first screen); it never says who
// the person is.
type Task string

// The tasks sspr offers.
const (
	// TaskReset: "I forgot my password" (the default).
	TaskReset Task = "reset"
	// TaskChange: "Change my password": the person knows it, even expired.
	TaskChange Task = "change"
	// TaskInfo: "Update my security info": the person's own methods.
	TaskInfo Task = "info"
)

// Tasks lists the tasks in the order the first screens offer them.
var Tasks = []Task{TaskReset, TaskChange, TaskInfo}

// PasswordChanger is a Directory that can change a password the person
// knows, as the person (not as an administrator's reset): the directory's
// own rules for a change apply (history, minimum age).
type PasswordChanger interface {
	// CheckPassword reports whether password is u's password now: nil,
	// ErrPasswordExpired when it is right but expired or must be changed
	// (it can still be changed), ErrWrongPassword when it is not. A locked
	// or disabled account is ErrWrongPassword, its cause wrapped for the
	// audit.
	CheckPassword(ctx context.Context, u User, password string) error
	// ChangePassword replaces old by new. A refusal of the directory's
	// policy is a DirectoryRefusal (DirRuleHistory, DirRuleTooSoon, ...);
	// an old password that is no longer right is ErrWrongPassword.
	ChangePassword(ctx context.Context, u User, old, new string) error
}

// ErrWrongPassword is returned by a PasswordChanger when the current
// password given is not the account's.
var ErrWrongPassword = errors.New("flow: wrong current password")

// ErrPasswordExpired is returned by PasswordChanger.CheckPassword when the
// password is right but has expired, or must be changed at next sign-in:
// the person may go on and change it.
var ErrPasswordExpired = errors.New("flow: password expired")

// currentPassword counts the wrong current passwords of a sign-in as the
// failures of one more method, against the same suspension.
const currentPassword MethodID = "password"

// Offers reports whether the engine can serve task t: a change needs a
// directory that is a PasswordChanger; the security info one that is also
// a MethodWriter.
func (e *Engine) Offers(t Task) bool {
	_, changes := e.deps.Directory.(PasswordChanger)
	switch t {
	case TaskReset:
		return true
	case TaskChange:
		return changes
	case TaskInfo:
		_, writes := e.deps.Directory.(MethodWriter)
		return changes && writes
	}
	return false
}

// BeginTask is Begin for task t. A task the engine does not offer is
// refused with ReasonUnavailable, final.
func (e *Engine) BeginTask(ctx context.Context, o Origin, t Task) (*Session, error) {
	if !e.Offers(t) {
		id := randomToken()
		tr := i18n.For(o.Lang)
		return nil, &Error{Reason: ReasonUnavailable, Message: tr.T("flow.task.unavailable"), Ref: id[:8], Final: true}
	}
	return e.begin(ctx, o, t)
}

// Task returns the task of the session.
func (s *Session) Task() Task {
	if s.task == "" {
		return TaskReset
	}
	return s.task
}

// SignIn checks the CAPTCHA, then the login and its current password, for
// a change or the security info. It follows Identify's rules: the same
// floor and jitter, the same limits per source, and an unknown or disabled
// login goes the same way as a known one with a wrong password, in the
// same words. A wrong password is a failed try of the account, counted
// against the same suspension as the reset's verifications. A right one,
// even expired, leads a change to the new password and the security info
// to the proof of a method (signedInInfo).
func (s *Session) SignIn(ctx context.Context, login, password, answer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.step != StepIdentify || (s.Task() != TaskChange && s.Task() != TaskInfo) {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	login = Sanitize(login, MaxLoginLen)
	s.login = login
	key := CanonicalLogin(login)
	if key == "" {
		return s.refuse(ReasonInvalidInput, "", s.t("flow.identify.empty"))
	}
	if password == "" || len(password) > MaxPasswordLen {
		return s.refuse(ReasonInvalidInput, "", s.t("flow.sign_in.empty"))
	}
	if s.e.Draining() {
		return s.restarting("sign_in")
	}
	defer s.e.padIdentify(ctx, time.Now())
	if err := s.admitIdentify(ctx); err != nil {
		return err
	}
	if err := s.checkCaptcha(answer); err != nil {
		return err
	}
	u, err := s.e.deps.Directory.LookupUser(ctx, key)
	var why string // why the password cannot be right, for the audit
	switch {
	case errors.Is(err, ErrUnknownUser):
		why = "unknown"
	case err != nil:
		s.e.audit.Error("directory lookup failed", "sid", s.id, "ref", s.Ref(), "error", err.Error())
		return s.refuse(ReasonUnavailable, "", s.t(unavailable))
	case u.Disabled:
		why = "disabled"
	case s.e.cfg.Privileged.matches(u) && s.e.cfg.Privileged.Mode == PrivilegedExcluded:
		// Excluded from self-service altogether, a change included.
		why = "privileged_excluded"
	}
	s.acct = "user\x00" + u.ID
	if why != "" || u.ID == "" {
		s.acct, u = "login\x00"+key, User{}
	}
	if err := s.checkSuspended(ctx, false); err != nil {
		s.acct = ""
		return err
	}
	// Counted before it is checked, as a code is (see reserve): parallel
	// guesses never check more than the limit allows.
	s.method = currentPassword
	defer func() { s.method = "" }()
	k, err := s.count(ctx)
	if err != nil {
		return err
	}
	if l := s.e.cfg.Limits; k.n > l.Failures || k.seq > l.ConsecutiveFailures {
		return s.suspend(ctx)
	}
	expired := false
	if why == "" {
		err := s.e.deps.Directory.(PasswordChanger).CheckPassword(ctx, u, password)
		switch {
		case err == nil:
		case errors.Is(err, ErrPasswordExpired):
			expired = true
		case errors.Is(err, ErrWrongPassword):
			why = "wrong password"
			if err != ErrWrongPassword {
				why = "wrong password: " + redact(err.Error(), password)
			}
		default:
			s.e.audit.Error("directory password check failed", "sid", s.id, "ref", s.Ref(), "error", redact(err.Error(), password))
			return s.refuse(ReasonUnavailable, "", s.t(unavailable))
		}
	}
	if why != "" {
		s.e.audit.Info("sign_in", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
			"login", s.login, "step", "sign_in", "result", "refused", "reason", string(ReasonPasswordWrong), "detail", why)
		s.failures++
		if s.over(k) {
			return s.suspend(ctx)
		}
		if s.failures >= s.e.cfg.MaxFailures {
			s.step = StepClosed
			s.event("sign_in", "refused", ReasonTooManyAttempts)
			return &Error{Reason: ReasonTooManyAttempts, Message: s.t("flow.failures.too_many"), Ref: s.Ref(), Final: true}
		}
		return &Error{Reason: ReasonPasswordWrong, Message: s.t("flow.sign_in.wrong"), Ref: s.Ref()}
	}
	s.clear(ctx, currentPassword)
	s.known, s.user = true, u
	s.privileged = s.e.cfg.Privileged.matches(u)
	s.verifiedAt = s.e.clock.Now()
	s.event("sign_in", "ok", "")
	s.dropAudio() // the picture is answered: its spoken form ends too
	if s.Task() == TaskInfo {
		return s.signedInInfo()
	}
	s.current, s.expired = password, expired
	s.step = StepSetPassword
	return nil
}

// changePassword writes a change: the old password is the one the person
// signed in with.
func (s *Session) changePassword(ctx context.Context, password string) error {
	return s.e.deps.Directory.(PasswordChanger).ChangePassword(ctx, s.user, s.current, password)
}

// differs adds the rule of a change, that the new password is not the
// one signed in with, before the confirmation. The caller holds s.mu or
// passes what it read under it.
func differs(rules []Rule, text, pw, current string) []Rule {
	r := Rule{ID: RuleNotCurrent, Text: text, Met: pw != "" && pw != current}
	for i, x := range rules {
		if x.ID == RuleConfirm {
			return append(rules[:i:i], append([]Rule{r}, rules[i:]...)...)
		}
	}
	return append(rules, r)
}
