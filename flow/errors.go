package flow

import (
	"errors"
	"time"

	"github.com/sspr-project/sspr/i18n"
)

// Reason classifies a refusal for the audit log and for tests.
type Reason string

// The reasons a step can be refused.
const (
	ReasonInvalidInput     Reason = "invalid_input"
	ReasonCaptchaWrong     Reason = "captcha_wrong"
	ReasonNumberMismatch   Reason = "number_mismatch"
	ReasonCodeWrong        Reason = "code_wrong"
	ReasonCodeExpired      Reason = "code_expired"
	ReasonCodeReplayed     Reason = "code_replayed"
	ReasonTooManyAttempts  Reason = "too_many_attempts"
	ReasonCooldown         Reason = "cooldown"
	ReasonApprovalWrong    Reason = "approval_wrong"
	ReasonApprovalTimeout  Reason = "approval_timeout"
	ReasonPolicy           Reason = "policy"
	ReasonConfirmMismatch  Reason = "confirm_mismatch"
	ReasonOutOfOrder       Reason = "out_of_order"
	ReasonMethodUnknown    Reason = "method_unavailable"
	ReasonSessionExpired   Reason = "session_expired"
	ReasonUnavailable      Reason = "unavailable"
	ReasonDirectoryRefused Reason = "directory_refused"
	// ReasonPasswordWrong: the login and current password of a sign-in
	// (a change, the security info) do not match an account: a wrong
	// password, an unknown or a disabled login alike, a failed try of the
	// account; or the password a change signed in with is no longer right.
	ReasonPasswordWrong Reason = "password_wrong"
	// ReasonSuspended: self-service reset is paused for the account after
	// too many failed verifications; the directory account is untouched.
	ReasonSuspended Reason = "suspended"
	// ReasonRateLimited: too many sessions, attempts or messages from one
	// source, for one account or destination, or in all.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonNotAllowed: the policy keeps this change for the helpdesk, or
	// it would leave the account with too few methods.
	ReasonNotAllowed Reason = "not_allowed"
)

// Error is a refusal a person may see: Message is plain words and never
// carries a password, a code or a secret. Ref is the support code.
type Error struct {
	Reason  Reason
	Message string
	Ref     string
	// Rules lists the password rules not met, for ReasonPolicy.
	Rules []Rule
	// Final means the session cannot go on and must start over.
	Final bool
	// RetryAfter is how long until the refused step may work again, for
	// ReasonSuspended, ReasonRateLimited and ReasonCooldown; 0 otherwise.
	RetryAfter time.Duration
	// Detail is for the audit log only, never shown: a directory's own
	// words for a refusal, say. It must not carry a secret either.
	Detail string
	// Rule is the directory rule broken, for ReasonDirectoryRefused.
	Rule DirectoryRule
}

func (e *Error) Error() string { return e.Message }

// ReasonOf returns the Reason of a flow error, or "" for any other error.
func ReasonOf(err error) Reason {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return ""
}

// IsFinal reports whether err ends the session.
func IsFinal(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Final
}

// DirectoryRule names the rule of the directory's own policy that a new
// password broke, so that flow can word the refusal in the person's
// language while the audit line keeps the directory's words.
type DirectoryRule string

// The directory rules sspr can tell apart.
const (
	// DirRuleHistory: the password was used recently.
	DirRuleHistory DirectoryRule = "history"
	// DirRuleQuality: the directory finds the password too simple.
	DirRuleQuality DirectoryRule = "quality"
	// DirRuleLength: the password is too short for the directory.
	DirRuleLength DirectoryRule = "length"
	// DirRuleUnchanged: the password is the current one.
	DirRuleUnchanged DirectoryRule = "unchanged"
	// DirRuleDomainPolicy: Active Directory's length, complexity or history
	// rules, which it does not tell apart (0000052D).
	DirRuleDomainPolicy DirectoryRule = "domain_policy"
	// DirRuleTooSoon: the password was changed too recently to change it
	// again (a minimum age).
	DirRuleTooSoon DirectoryRule = "too_soon"
	// DirRuleOther: any other refusal of the password by the directory.
	DirRuleOther DirectoryRule = "other"
)

// DirectoryRefusal is the error a Directory returns when its own policy
// refuses a new password: the person stays on the password screen and can
// try another. detail is the directory's own words, for the audit log only;
// it must not carry the password. Its Message is English; a session words
// it again in the person's language from rule.
func DirectoryRefusal(rule DirectoryRule, detail string) *Error {
	id, ok := directoryRuleIDs[rule]
	if !ok {
		rule, id = DirRuleOther, directoryRuleIDs[DirRuleOther]
	}
	return &Error{Reason: ReasonDirectoryRefused, Message: i18n.English().T(id), Detail: detail, Rule: rule}
}
