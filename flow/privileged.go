package flow

import (
	"fmt"
	"strings"
)

// PrivilegedMode says what self-service reset privileged accounts get.
type PrivilegedMode string

// The modes for privileged accounts.
const (
	// PrivilegedTwoMethods asks privileged accounts for two methods.
	PrivilegedTwoMethods PrivilegedMode = "two_methods"
	// PrivilegedExcluded keeps privileged accounts out of self-service:
	// they walk the decoy path, nothing is sent and nothing verifies.
	PrivilegedExcluded PrivilegedMode = "excluded"
)

// Privileged names the accounts that need stronger proof: by login, or by
// a group they belong to (compared ignoring case, as the directory gives
// it: a name or a DN).
type Privileged struct {
	Logins []string
	Groups []string
	// Mode is PrivilegedTwoMethods (the default) or PrivilegedExcluded.
	Mode PrivilegedMode
}

func (p Privileged) validate() error {
	switch p.Mode {
	case PrivilegedTwoMethods, PrivilegedExcluded:
	default:
		return fmt.Errorf("privileged.mode is %q: allowed are %q and %q", p.Mode, PrivilegedTwoMethods, PrivilegedExcluded)
	}
	for i, l := range p.Logins {
		if normaliseLogin(l) == "" {
			return fmt.Errorf("privileged.logins[%d] is empty", i)
		}
	}
	for i, g := range p.Groups {
		if strings.TrimSpace(g) == "" {
			return fmt.Errorf("privileged.groups[%d] is empty", i)
		}
	}
	return nil
}

// any reports whether the policy names any account at all.
func (p Privileged) any() bool { return len(p.Logins) > 0 || len(p.Groups) > 0 }

// matches reports whether u is privileged.
func (p Privileged) matches(u User) bool {
	for _, l := range p.Logins {
		n := normaliseLogin(l)
		if n == normaliseLogin(u.Login) || n == normaliseLogin(u.ID) || (u.Email != "" && n == normaliseLogin(u.Email)) {
			return true
		}
	}
	for _, g := range p.Groups {
		for _, ug := range u.Groups {
			if strings.EqualFold(strings.TrimSpace(g), strings.TrimSpace(ug)) {
				return true
			}
		}
	}
	return false
}

// isApp reports whether m proves the authenticator app.
func isApp(m MethodID) bool { return m == PushApp || m == TOTPApp }

// hasApp reports whether ms offer the authenticator app.
func hasApp(ms []Method) bool {
	for _, m := range ms {
		if isApp(m.ID) {
			return true
		}
	}
	return false
}

// proof is what a session must verify: how many methods of different
// factors, and whether one of them must be the authenticator app.
type proof struct {
	required int
	needApp  bool
}

// proofFor is the rule for an account: the policy's count, and two
// methods, one of them the app, for an account with an app enrolled (a
// reset must not bypass the second factor it signs in with; email is
// never its only proof); two methods for a privileged one.
func (e *Engine) proofFor(app, privileged bool) proof {
	p := proof{required: e.cfg.MethodsRequired}
	if app || privileged {
		p.required = max(p.required, 2)
	}
	p.needApp = app
	return p
}
