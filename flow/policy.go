package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"unicode"
	"unicode/utf8"

	"github.com/sspr-project/sspr/i18n"
)

// Rule IDs of the password policy.
const (
	RuleMinLength = "min_length"
	RuleMaxLength = "max_length"
	RuleUpper     = "upper"
	RuleLower     = "lower"
	RuleDigit     = "digit"
	// RuleNoLogin refuses a password made of the person's own data: the
	// login or email address anywhere in it, or name parts for half of it.
	RuleNoLogin = "no_login"
	// RuleCommon refuses a common password, word or name, give or take
	// case, look-alike characters and digits or symbols around it.
	RuleCommon = "common"
	// RuleStrength is zxcvbn's score; listed when PasswordPolicy.MinScore
	// is above 0.
	RuleStrength = "strength"
	// RuleBreached is listed when PasswordPolicy.Breached is set.
	RuleBreached = "breached"
	RuleConfirm  = "confirm"
	// RulePrintable is listed only when it is broken: control characters
	// (an escape sequence, a line break, NUL) or bytes that are not UTF-8
	// would not reach the directory as the person typed them.
	RulePrintable = "printable"
	// RuleNotCurrent is listed only when it is broken: the directory
	// (a CurrentPasswordChecker) says the password is the account's
	// current one. It is asked on the password step only.
	RuleNotCurrent = "not_current"
)

// Person is the data of the person a password is for, which the password
// must not be made of.
type Person struct {
	Login       string
	DisplayName string
	Email       string
}

// CheckPassword evaluates every rule of p for pw and confirm; login is the
// account's login, which the password must not contain. The same list drives
// the live hints and SetPassword.
func CheckPassword(p PasswordPolicy, login, pw, confirm string) []Rule {
	return CheckPasswordFor(p, Person{Login: login}, pw, confirm)
}

// CheckPasswordFor is CheckPassword with all the person's data, and with
// the breached-password lookup done when p has a list.
func CheckPasswordFor(p PasswordPolicy, who Person, pw, confirm string) []Rule {
	f, _ := p.find(who, pw, findings{}, true)
	return p.evaluate(i18n.English(), who, pw, confirm, f)
}

// findings is what the costlier checks found for one candidate.
type findings struct {
	scored   bool
	strength strength
	breach   breachVerdict
	// asked: the directory was asked whether the candidate is the
	// current password; current is its answer.
	asked, current bool
}

type breachVerdict int8

const (
	breachUnknown breachVerdict = iota // not looked up yet
	breachClean
	breachFound
	breachFailed // the lookup failed: refused, and tried again next time
)

// find fills in what f does not know yet: the strength score, and with
// lookup the breached-password verdict.
func (p PasswordPolicy) find(who Person, pw string, f findings, lookup bool) (findings, error) {
	if p.MinScore > 0 && !f.scored {
		f.strength, f.scored = estimate(pw, who), true
	}
	var err error
	if lookup && p.Breached != nil && pw != "" && (f.breach == breachUnknown || f.breach == breachFailed) {
		var found bool
		switch found, err = p.Breached.Contains(pw); {
		case err != nil:
			f.breach = breachFailed
		case found:
			f.breach = breachFound
		default:
			f.breach = breachClean
		}
	}
	return f, err
}

// evaluate lists the rules of p for pw and confirm, given what f found,
// worded in tr's language.
func (p PasswordPolicy) evaluate(tr *i18n.Printer, who Person, pw, confirm string, f findings) []Rule {
	n := utf8.RuneCountInString(pw)
	var up, low, dig bool
	printable := utf8.ValidString(pw)
	for _, r := range pw {
		up = up || unicode.IsUpper(r)
		low = low || unicode.IsLower(r)
		dig = dig || unicode.IsDigit(r)
		printable = printable && !unicode.IsControl(r)
	}
	rules := []Rule{{ID: RuleMinLength, Text: tr.N("flow.rule.min_length", p.MinLength), Met: n >= p.MinLength}}
	if p.Upper {
		rules = append(rules, Rule{ID: RuleUpper, Text: tr.T("flow.rule.upper"), Met: up})
	}
	if p.Lower {
		rules = append(rules, Rule{ID: RuleLower, Text: tr.T("flow.rule.lower"), Met: low})
	}
	if p.Digit {
		rules = append(rules, Rule{ID: RuleDigit, Text: tr.T("flow.rule.digit"), Met: dig})
	}
	rules = append(rules,
		Rule{ID: RuleMaxLength, Text: tr.N("flow.rule.max_length", p.MaxLength), Met: n <= p.MaxLength},
		Rule{ID: RuleNoLogin, Text: tr.T("flow.rule.no_login"), Met: n > 0 && !personal(pw, who)},
		Rule{ID: RuleCommon, Text: tr.T("flow.rule.common"), Met: n > 0 && !common(pw)},
	)
	if p.MinScore > 0 {
		r := Rule{ID: RuleStrength, Text: tr.T("flow.rule.strength", "Score", p.MinScore), Met: f.strength.score >= p.MinScore}
		if !r.Met && f.strength.reason != "" {
			r.Text = tr.T("flow.rule.with_reason", "Rule", r.Text, "Reason", tr.T(f.strength.reason))
		}
		rules = append(rules, r)
	}
	if p.Breached != nil {
		r := Rule{ID: RuleBreached, Text: tr.T("flow.rule.breached"), Met: n > 0 && f.breach == breachClean}
		switch {
		case n == 0:
		case f.breach == breachUnknown:
			r.Text = tr.T("flow.rule.breached_pending")
		case f.breach == breachFailed:
			r.Text = tr.T("flow.rule.breached_failed")
		}
		rules = append(rules, r)
	}
	if f.current {
		rules = append(rules, Rule{ID: RuleNotCurrent, Text: tr.T("flow.rule.not_current")})
	}
	rules = append(rules, Rule{ID: RuleConfirm, Text: tr.T("flow.rule.confirm"), Met: n > 0 && pw == confirm})
	if !printable {
		rules = append(rules, Rule{ID: RulePrintable, Text: tr.T("flow.rule.printable")})
	}
	return rules
}

func unmet(rules []Rule) []Rule {
	var out []Rule
	for _, r := range rules {
		if !r.Met {
			out = append(out, r)
		}
	}
	return out
}

// CheckFull is Check with the checks too slow for every key press as well:
// the lookup in the breached-password list, and the directory's answer
// whether this is the current password, which may wait as long as ctx
// lasts for a slow hash. The wizard calls it when the person leaves the
// new-password field; SetPassword always makes it.
func (s *Session) CheckFull(ctx context.Context, password, confirm string) []Rule {
	return s.passwordRules(ctx, password, confirm, true)
}

// passwordRules evaluates the policy for the session's person without
// holding the session's lock while scoring, reading the list or asking
// the directory.
func (s *Session) passwordRules(ctx context.Context, pw, confirm string, lookup bool) []Rule {
	p := s.e.cfg.Password
	s.mu.Lock()
	who, u, ask := s.person(), s.user, lookup && s.mayAskCurrent()
	change, current := s.Task() == TaskChange, s.current
	f := s.memo.recall(pw)
	s.mu.Unlock()
	f, err := p.find(who, pw, f, lookup)
	rules := p.evaluate(s.tr, who, pw, confirm, f)
	var cerr error
	if ask {
		if f, cerr = s.e.askCurrent(ctx, u, pw, f, rules); f.current {
			rules = p.evaluate(s.tr, who, pw, confirm, f)
		}
	}
	if change {
		rules = differs(rules, s.t("flow.rule.differs"), pw, current)
	}
	s.mu.Lock()
	s.breachFailed(err)
	s.currentFailed(cerr)
	s.memo.keep(pw, f)
	s.mu.Unlock()
	return rules
}

// passwordRulesLocked is passwordRules for a caller holding s.mu.
func (s *Session) passwordRulesLocked(ctx context.Context, pw, confirm string) []Rule {
	p := s.e.cfg.Password
	who := s.person()
	f, err := p.find(who, pw, s.memo.recall(pw), true)
	s.breachFailed(err)
	rules := p.evaluate(s.tr, who, pw, confirm, f)
	if s.mayAskCurrent() {
		var cerr error
		if f, cerr = s.e.askCurrent(ctx, s.user, pw, f, rules); f.current {
			rules = p.evaluate(s.tr, who, pw, confirm, f)
		}
		s.currentFailed(cerr)
	}
	if s.Task() == TaskChange {
		rules = differs(rules, s.t("flow.rule.differs"), pw, s.current)
	}
	s.memo.keep(pw, f)
	return rules
}

// mayAskCurrent reports whether the directory may be asked about the
// session's account: only once the person has proved who they are, so
// that the answer tells nobody else anything. The caller holds s.mu.
func (s *Session) mayAskCurrent() bool {
	return s.known && s.step == StepSetPassword && s.Task() != TaskChange
}

// askCurrent asks the directory, when it can tell, whether pw is u's
// current password. It asks once per candidate (f remembers), and only
// when rules, as evaluated without the answer, all hold but the
// confirmation: the check may be a slow password hash.
func (e *Engine) askCurrent(ctx context.Context, u User, pw string, f findings, rules []Rule) (findings, error) {
	c, ok := e.deps.Directory.(CurrentPasswordChecker)
	if !ok || f.asked || pw == "" {
		return f, nil
	}
	for _, r := range rules {
		if !r.Met && r.ID != RuleConfirm {
			return f, nil
		}
	}
	current, err := c.IsCurrentPassword(ctx, u, pw)
	if err != nil {
		// Not remembered: the next check asks again, and the write
		// decides meanwhile.
		return f, err
	}
	f.asked, f.current = true, current
	return f, nil
}

// currentFailed logs a current-password check that failed; one left
// because its session ended is no failure of the directory.
func (s *Session) currentFailed(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		s.e.audit.Error("current-password check failed", "sid", s.id, "ref", s.Ref(), "error", err.Error())
	}
}

func (s *Session) breachFailed(err error) {
	if err != nil {
		s.e.audit.Error("breached-password lookup failed", "sid", s.id, "error", err.Error())
	}
}

// person is who the password is for: what the directory holds once the
// login is known.
func (s *Session) person() Person {
	if s.known {
		return Person{Login: s.user.Login, DisplayName: s.user.DisplayName, Email: s.user.Email}
	}
	return Person{Login: s.checkLogin()}
}

// passwordMemo keeps what was found for the last candidate, so that typing
// the confirmation does not score the password again and a lookup's
// verdict stays on the screen. Candidates are kept only as hashes keyed
// with a random key of the session.
type passwordMemo struct {
	key      []byte
	scoredAt [sha256.Size]byte // the candidate's first strengthCap characters
	strength strength
	scored   bool
	lookedAt [sha256.Size]byte // the whole candidate
	breach   breachVerdict
	askedAt  [sha256.Size]byte // the whole candidate
	asked    bool
	current  bool
}

func (m *passwordMemo) sum(s string) [sha256.Size]byte {
	if m.key == nil {
		m.key = make([]byte, 32)
		rand.Read(m.key)
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(s))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// recall returns what is known of pw.
func (m *passwordMemo) recall(pw string) findings {
	var f findings
	if m.scored && m.sum(capped(pw)) == m.scoredAt {
		f.scored, f.strength = true, m.strength
	}
	if m.breach != breachUnknown && m.sum(pw) == m.lookedAt {
		f.breach = m.breach
	}
	if m.asked && m.sum(pw) == m.askedAt {
		f.asked, f.current = true, m.current
	}
	return f
}

// keep remembers f for pw. A lookup that failed is not kept: the next
// check tries again.
func (m *passwordMemo) keep(pw string, f findings) {
	if f.scored {
		m.scoredAt, m.strength, m.scored = m.sum(capped(pw)), f.strength, true
	}
	if f.breach == breachClean || f.breach == breachFound {
		m.lookedAt, m.breach = m.sum(pw), f.breach
	}
	if f.asked {
		m.askedAt, m.asked, m.current = m.sum(pw), true, f.current
	}
}

// capped is the part of pw that the strength estimate looks at.
func capped(pw string) string {
	if utf8.RuneCountInString(pw) <= strengthCap {
		return pw
	}
	return string([]rune(pw)[:strengthCap])
}
