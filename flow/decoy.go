package flow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// decoyMethods returns the method list shown for key (a canonical login)
// when it has no usable account, and the proof it asks for. A decoy is a
// kind of account drawn from the kinds real accounts have, as often as
// they have them (decoyKinds), among those the policy accepts; its hints
// are made as a real account's are: masked numbers, and the typed address,
// or an organisation's domain behind the login's first letter. An email
// address typed as the login is offered as the email, as a real account
// found by its email offers it. Everything is derived from an HMAC of key,
// so a decoy is the same at every try and in every instance. Where
// privileged accounts need two methods, some decoys do too, so two steps
// alone do not tell a privileged account from an unknown login.
func (e *Engine) decoyMethods(ctx context.Context, key string) ([]Method, proof) {
	b := e.decoyHMAC("decoy", key)
	privileged := e.cfg.Privileged.Mode == PrivilegedTwoMethods && e.cfg.Privileged.any() && b[6]%8 == 0
	at := strings.LastIndexByte(key, '@')
	address := at > 0 && at < len(key)-1
	kinds := e.decoyKinds(ctx)
	list := func(k kind) []Method { return e.decoyList(k, key, address, b) }
	eligible := func(k kind) bool {
		ms := list(k)
		return len(ms) > 0 && countFactors(User{}, ms, "") >= e.proofFor(hasApp(ms), privileged).required
	}
	// Typed as an address, the login is an email: only kinds with one.
	needEmail := false
	if address && e.available(EmailAltern) {
		for _, k := range kinds {
			needEmail = needEmail || (k.has[RegEmail] && eligible(k))
		}
	}
	pick, best := -1, 0.0
	for i, k := range kinds {
		if !eligible(k) || (needEmail && !k.has[RegEmail]) {
			continue
		}
		if s := e.drawScore(key, k.name, k.weight); pick < 0 || s < best {
			pick, best = i, s
		}
	}
	if pick < 0 {
		// No kind the policy accepts: the most likely kind, with whole
		// factors added (a phone with its text and call, the app with
		// push and code) until it is enough, keeping the list's order.
		for i, k := range kinds {
			if s := e.drawScore(key, k.name, k.weight); pick < 0 || s < best {
				pick, best = i, s
			}
		}
		k := newKind(nil, "", 1)
		if pick >= 0 {
			k = kinds[pick]
			k.has = maps.Clone(k.has)
		}
		for _, r := range registrations {
			if eligible(k) {
				break
			}
			k.has[r] = true
		}
		ms := list(k)
		return ms, e.proofFor(hasApp(ms), privileged)
	}
	ms := list(kinds[pick])
	return ms, e.proofFor(hasApp(ms), privileged)
}

// decoyList is the method list of a decoy of kind k for key, with hints
// made from b (the decoy's HMAC).
func (e *Engine) decoyList(k kind, key string, address bool, b []byte) []Method {
	var out []Method
	for _, r := range registrations {
		if !k.has[r] {
			continue
		}
		for _, id := range r.methodsOf() {
			if e.available(id) {
				out = append(out, Method{ID: id, Label: id.Label(), Hint: e.decoyHint(id, k, key, address, b)})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y Method) int { return slices.Index(methodOrder, x.ID) - slices.Index(methodOrder, y.ID) })
	return out
}

// decoyHint is the hint of method id of a decoy, shaped as a real one:
// "*****42" for a number (its last two digits, uniform as real ones are),
// and for the email the typed address, or the login's first letter at the
// kind's domain or one of policy.email_domains, picked from the HMAC.
func (e *Engine) decoyHint(id MethodID, k kind, key string, address bool, b []byte) string {
	switch id {
	case TextMobile, CallMobile:
		return fmt.Sprintf("*****%02d", binary.BigEndian.Uint64(b[8:16])%100)
	case CallOffice:
		return fmt.Sprintf("*****%02d", binary.BigEndian.Uint64(b[16:24])%100)
	case EmailAltern:
		if address {
			return MaskEmail(key)
		}
		domain := k.domain
		if domain == "" {
			domain = e.decoyDomain(key)
		}
		return MaskEmail(key + "@" + domain)
	}
	return ""
}

// decoyDomain is the organisation domain of key's decoy email: one of
// policy.email_domains, the same for key as long as the list holds it;
// example.com when the list is empty.
func (e *Engine) decoyDomain(key string) string {
	domain, best := "example.com", 0.0
	for i, d := range e.cfg.EmailDomains {
		if s := e.drawScore(key, "domain\x00"+d, 1); i == 0 || s < best {
			domain, best = d, s
		}
	}
	return domain
}

// drawScore ranks the choice name for key: the lowest score over the
// choices wins, and a choice of weight w wins as often as w against the
// total (weighted rendezvous hashing). A decoy so keeps its choice when
// other choices come, go or change weight, unless the change is its own.
func (e *Engine) drawScore(key, name string, weight float64) float64 {
	h := e.decoyHMAC("decoy-draw", key+"\x00"+name)
	u := (float64(binary.BigEndian.Uint64(h)>>11) + 0.5) / (1 << 53)
	return -math.Log(u) / weight
}

// decoyHMAC is the HMAC of key under the engine's secret key, for one use.
func (e *Engine) decoyHMAC(use, key string) []byte {
	m := hmac.New(sha256.New, e.cfg.SecretKey)
	m.Write([]byte(use + "\x00"))
	m.Write([]byte(key))
	return m.Sum(nil)
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

// userMethods lists what u has registered, in the radio list's order.
func (e *Engine) userMethods(u User, key []byte) []Method {
	has := map[MethodID]string{}
	if listsKey(u.SSHKeys, key) {
		has[SSHKey] = ""
	}
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
