package ldap

import (
	"errors"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

// refusalRule names the rule a password policy's own words speak of.
type refusalRule struct {
	// match is a lower-case part of the server's diagnostic text.
	match string
	rule  flow.DirectoryRule
}

// refusalRules are tried in order. OpenLDAP's ppolicy overlay answers a
// Password Modify with result 19 and one of its texts (go-ldap hands no
// response control back, so the text is all there is); Active Directory
// answers a unicodePwd change with 0000052D, and Samba adds the rule in
// words.
var refusalRules = []refusalRule{
	{"in history", flow.DirRuleHistory},   // ppolicy: "Password is in history of old passwords"
	{"already used", flow.DirRuleHistory}, // Samba: "the password was already used (in history)"
	{"not being changed from existing value", flow.DirRuleUnchanged},
	{"too short", flow.DirRuleLength}, // Samba: "the password is too short"
	// ppolicy: shorter than pwdMinLength, or refused by a pwdCheckModule;
	// the text does not tell which.
	{"fails quality checking", flow.DirRuleQuality},
	{"complexity", flow.DirRuleQuality}, // Samba: "does not meet the complexity criteria"
	// ppolicy: "Password is too young to change"; Samba: "password is too
	// young to change!" (Windows says only 0000052D).
	{"too young", flow.DirRuleTooSoon},
	{"0000052d", flow.DirRuleDomainPolicy},
}

// refusal returns the *flow.Error for a password policy refusal in err,
// or nil when err is something else (the server away, no access).
func refusal(err error) *flow.Error {
	var le *goldap.Error
	if !errors.As(err, &le) || le.Err == nil {
		return nil
	}
	text := le.Err.Error()
	lower := strings.ToLower(text)
	switch {
	case le.ResultCode == goldap.LDAPResultConstraintViolation:
	case le.ResultCode == goldap.LDAPResultUnwillingToPerform && strings.Contains(lower, "0000052d"):
	default:
		return nil
	}
	rule := flow.DirRuleOther
	for _, r := range refusalRules {
		if strings.Contains(lower, r.match) {
			rule = r.rule
			break
		}
	}
	return flow.DirectoryRefusal(rule, flow.Sanitize(text, 300))
}
