// Package flow is the password reset itself: a state machine that proves who
// a person is and lets them set a new password, with every rule that goes
// with it (CAPTCHA, methods, phone matching, codes, limits, password policy,
// audit). It has no user interface and knows no backend: it defines the small
// interfaces it needs (Directory, Sender, Store, TOTP, Clock) and is driven by
// the tui package, one Session per person at the keyboard.
//
// Every word a person reads or receives (refusals, labels, rules, codes,
// calls, notices) is in the session's language, Origin.Lang, from the
// catalogues of package i18n; the audit log stays in English.
package flow
