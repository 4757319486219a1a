package flow

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule IDs of the password policy.
const (
	RuleMinLength = "min_length"
	RuleMaxLength = "max_length"
	RuleUpper     = "upper"
	RuleLower     = "lower"
	RuleDigit     = "digit"
	RuleNoLogin   = "no_login"
	RuleConfirm   = "confirm"
	// RulePrintable is listed only when it is broken: control characters
	// (an escape sequence, a line break, NUL) or bytes that are not UTF-8
	// would not reach the directory as the person typed them.
	RulePrintable = "printable"
)

// CheckPassword evaluates every rule of p for pw and confirm; login is the
// account's login, which the password must not contain. The same list drives
// the live hints and SetPassword.
func CheckPassword(p PasswordPolicy, login, pw, confirm string) []Rule {
	n := utf8.RuneCountInString(pw)
	var up, low, dig bool
	printable := utf8.ValidString(pw)
	for _, r := range pw {
		up = up || unicode.IsUpper(r)
		low = low || unicode.IsLower(r)
		dig = dig || unicode.IsDigit(r)
		printable = printable && !unicode.IsControl(r)
	}
	rules := []Rule{{ID: RuleMinLength, Text: fmt.Sprintf("At least %d characters", p.MinLength), Met: n >= p.MinLength}}
	if p.Upper {
		rules = append(rules, Rule{ID: RuleUpper, Text: "An upper case letter", Met: up})
	}
	if p.Lower {
		rules = append(rules, Rule{ID: RuleLower, Text: "A lower case letter", Met: low})
	}
	if p.Digit {
		rules = append(rules, Rule{ID: RuleDigit, Text: "A digit", Met: dig})
	}
	l := normaliseLogin(login)
	if at := strings.IndexByte(l, '@'); at > 0 {
		l = l[:at]
	}
	rules = append(rules,
		Rule{ID: RuleMaxLength, Text: fmt.Sprintf("At most %d characters", p.MaxLength), Met: n <= p.MaxLength},
		Rule{ID: RuleNoLogin, Text: "Does not contain your username", Met: n > 0 && (len(l) < 3 || !strings.Contains(strings.ToLower(pw), l))},
		Rule{ID: RuleConfirm, Text: "Both passwords match", Met: n > 0 && pw == confirm},
	)
	if !printable {
		rules = append(rules, Rule{ID: RulePrintable, Text: "Only letters, digits, spaces and symbols"})
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
