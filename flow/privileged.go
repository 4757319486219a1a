package flow

import (
	"fmt"
	"github.com/sspr-project/sspr/config"
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
	Logins []string `yaml:"logins" doc:"privileged accounts by login (or email); they need two methods, or are excluded"`
	Groups []string `yaml:"groups" doc:"privileged accounts by group (name or DN, any case)"`
	// Mode is PrivilegedTwoMethods (the default) or PrivilegedExcluded.
	Mode PrivilegedMode `yaml:"mode" doc:"two_methods: privileged accounts prove two methods; excluded: they walk the decoy path (nothing is sent, nothing verifies). A user with an authenticator app always proves it"`
}

// Validate checks the mode and that no login or group is empty or holds
// control characters; paths are relative to the privileged block.
func (p Privileged) Validate() error {
	var es config.Errors
	switch p.Mode {
	case PrivilegedTwoMethods, PrivilegedExcluded:
	default:
		es.Add("mode", "%q is not allowed (%s or %s)", Sanitize(string(p.Mode), 64), PrivilegedTwoMethods, PrivilegedExcluded)
	}
	for i, l := range p.Logins {
		if CanonicalLogin(l) == "" || l != Sanitize(l, MaxLoginLen) {
			es.Add(fmt.Sprintf("logins[%d]", i), "%q is not allowed (a login or an email)", Sanitize(l, 64))
		}
	}
	for i, g := range p.Groups {
		if strings.TrimSpace(g) == "" || g != Sanitize(g, 512) {
			es.Add(fmt.Sprintf("groups[%d]", i), "%q is not allowed (a group name or DN)", Sanitize(g, 64))
		}
	}
	return es.Err()
}

// any reports whether the policy names any account at all.
func (p Privileged) any() bool { return len(p.Logins) > 0 || len(p.Groups) > 0 }

// matches reports whether u is privileged.
func (p Privileged) matches(u User) bool {
	for _, l := range p.Logins {
		n := CanonicalLogin(l)
		if n == CanonicalLogin(u.Login) || n == CanonicalLogin(u.ID) || (u.Email != "" && n == CanonicalLogin(u.Email)) {
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

// appGrade reports whether m counts as the authenticator app where the
// app must be one of the proofs: the app, and the SSH key when the policy
// says so.
func (e *Engine) appGrade(m MethodID) bool {
	return isApp(m) || (m == SSHKey && e.cfg.SSHKey.AppGrade)
}

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
