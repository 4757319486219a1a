package flow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// decoyMethods returns the method list shown for a login that has no usable
// account, and the proof it asks for: derived from an HMAC of the login, so
// it is the same at every try and looks like a real one. A decoy with an
// authenticator app asks for two methods, one of them the app, as a real
// account with an app does; and where privileged accounts need two methods,
// some decoys without an app do too, so two steps alone do not tell a
// privileged account from an unknown login.
func (e *Engine) decoyMethods(key string) ([]Method, proof) {
	login := key
	m := hmac.New(sha256.New, e.cfg.SecretKey)
	m.Write([]byte("decoy\x00"))
	m.Write([]byte(key))
	b := m.Sum(nil)
	has := map[MethodID]bool{
		TextMobile:  true,
		CallMobile:  true,
		CallOffice:  b[0]%2 == 0,
		PushApp:     b[1]%3 != 0,
		TOTPApp:     b[1]%3 != 0,
		EmailAltern: b[2]%2 == 0,
	}
	hints := map[MethodID]string{
		TextMobile:  fmt.Sprintf("*****%02d", int(b[3])%100),
		CallMobile:  fmt.Sprintf("*****%02d", int(b[3])%100),
		CallOffice:  fmt.Sprintf("*****%02d", int(b[4])%100),
		EmailAltern: decoyEmailHint(login, b[5]),
	}
	list := func() []Method {
		var out []Method
		for _, id := range methodOrder {
			if has[id] && e.available(id) {
				out = append(out, Method{ID: id, Label: id.Label(), Hint: hints[id]})
			}
		}
		return out
	}
	privileged := e.cfg.Privileged.Mode == PrivilegedTwoMethods && e.cfg.Privileged.any() && b[6]%8 == 0
	// A decoy must be as eligible as a real account under the policy: add
	// whole factors (a phone with its text and call, the app with push and
	// code) until there are enough, keeping the list's order.
	for _, id := range methodOrder {
		if countFactors(User{}, list(), "") >= e.proofFor(hasApp(list()), privileged).required {
			break
		}
		if !has[id] && e.available(id) {
			for _, other := range methodOrder {
				if factor(User{}, other, "") == factor(User{}, id, "") {
					has[other] = true
				}
			}
		}
	}
	ms := list()
	return ms, e.proofFor(hasApp(ms), privileged)
}

// decoySecret is the authenticator secret a decoy checks codes against,
// so that its codes take the same work as a real account's: derived from
// the key, never shown, and never verifying (a decoy never does).
func (e *Engine) decoySecret(acct string) string {
	m := hmac.New(sha256.New, e.cfg.SecretKey)
	m.Write([]byte("decoy-totp\x00" + acct))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:20])
}

// factor names what a method proves the person holds: text and call to one
// number are one phone, push and code are one authenticator app. A reset
// that needs two methods needs two different factors.
func factor(u User, m MethodID, region string) string {
	switch m {
	case TextMobile, CallMobile:
		return phoneFactor(u.Mobile, "mobile", region)
	case CallOffice:
		return phoneFactor(u.Office, "office", region)
	case PushApp, TOTPApp:
		return "app"
	}
	return string(m)
}

// phoneFactor is the number in E.164, so a mobile stored again as the office
// phone counts once; a decoy has no numbers and keeps the kinds apart.
func phoneFactor(number, kind, region string) string {
	if number == "" {
		return "phone:" + kind
	}
	if n, ok := e164(number, region); ok {
		return "phone:" + n
	}
	return "phone:" + number
}

// countFactors counts the different factors behind ms.
func countFactors(u User, ms []Method, region string) int {
	seen := map[string]bool{}
	for _, m := range ms {
		seen[factor(u, m.ID, region)] = true
	}
	return len(seen)
}

func decoyEmailHint(login string, b byte) string {
	domain := "example.com"
	if at := strings.LastIndexByte(login, '@'); at >= 0 && at < len(login)-1 {
		domain = CanonicalLogin(login[at+1:])
	}
	return MaskEmail(string(rune('a'+b%26)) + "@" + domain)
}

// userMethods lists what u has registered, in the radio list's order.
func (e *Engine) userMethods(u User) []Method {
	has := map[MethodID]string{}
	if u.Mobile != "" {
		has[TextMobile] = MaskPhone(u.Mobile)
		has[CallMobile] = MaskPhone(u.Mobile)
	}
	if u.Office != "" {
		has[CallOffice] = MaskPhone(u.Office)
	}
	if u.TOTPSecret != "" {
		has[PushApp] = ""
		has[TOTPApp] = ""
	}
	if u.Email != "" {
		has[EmailAltern] = MaskEmail(u.Email)
	}
	var out []Method
	for _, id := range methodOrder {
		if hint, ok := has[id]; ok && e.available(id) {
			out = append(out, Method{ID: id, Label: id.Label(), Hint: hint})
		}
	}
	return out
}
