package flow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sspr-project/sspr/config"
)

// Registration is what an account can have registered for a reset; each
// gives the methods of one factor.
type Registration string

// The registrations, in the order of the methods they give.
const (
	RegMobile Registration = "mobile" // text and call
	RegOffice Registration = "office" // call
	RegApp    Registration = "app"    // push and code
	RegEmail  Registration = "email"
)

var registrations = []Registration{RegMobile, RegOffice, RegApp, RegEmail}

// methodsOf are the methods a registration gives.
func (r Registration) methodsOf() []MethodID {
	switch r {
	case RegMobile:
		return []MethodID{TextMobile, CallMobile}
	case RegOffice:
		return []MethodID{CallOffice}
	case RegApp:
		return []MethodID{PushApp, TOTPApp}
	case RegEmail:
		return []MethodID{EmailAltern}
	}
	return nil
}

// ProfileEntry is one kind of account of a directory: what it has
// registered, the domain of its email, and how many accounts are so.
type ProfileEntry struct {
	Has []Registration
	// EmailDomain is the domain of the accounts' email when Has holds
	// RegEmail; empty lets the decoy take one of policy.email_domains.
	EmailDomain string
	Count       int
}

// MethodProfiler is a Directory that can tell what its accounts have
// registered, so that decoys are drawn from the distribution of its real,
// enabled accounts. Optional; without it, or while it gives nothing, the
// decoys follow policy.decoy.method_sets.
type MethodProfiler interface {
	MethodProfile(ctx context.Context) ([]ProfileEntry, error)
}

// MethodSet is one kind of account as policy.decoy.method_sets writes it:
// what it has registered, and how common it is.
type MethodSet struct {
	Methods []Registration `yaml:"methods" range:"1..4" doc:"what the accounts have registered: mobile, office, app, email"`
	Weight  int            `yaml:"weight" range:"1..1000000" doc:"how common such accounts are, relative to the other sets"`
}

// Validate checks that the registrations are known and given once.
func (m MethodSet) Validate() error {
	var es config.Errors
	for i, r := range m.Methods {
		switch {
		case !slices.Contains(registrations, r):
			es.Add(fmt.Sprintf("methods[%d]", i), "%q is not allowed (mobile, office, app or email)", Sanitize(string(r), 32))
		case slices.Index(m.Methods, r) < i:
			es.Add(fmt.Sprintf("methods[%d]", i), "%s is given twice", r)
		}
	}
	return es.Err()
}

// String is the set as the reference shows its default.
func (m MethodSet) String() string {
	parts := make([]string, len(m.Methods))
	for i, r := range m.Methods {
		parts[i] = string(r)
	}
	return fmt.Sprintf("%s:%d", strings.Join(parts, "+"), m.Weight)
}

// DecoySettings is policy.decoy.*.
type DecoySettings struct {
	MethodSets []MethodSet `yaml:"method_sets" range:"1..64" doc:"the kinds of account a decoy (the list shown for a login without a usable account) is drawn from, each {methods: [mobile, office, app, email], weight: N}: set them to how common each is among your accounts, so a decoy's list looks like a real one. Sets the policy would not accept (e.g. the app alone) are skipped. The embedded directory is learnt from instead"`
}

// DefaultDecoy is a mix of accounts as a site without an app rollout
// might have: no method on every account.
func DefaultDecoy() DecoySettings {
	set := func(w int, rs ...Registration) MethodSet { return MethodSet{Methods: rs, Weight: w} }
	return DecoySettings{MethodSets: []MethodSet{
		set(40, RegMobile, RegEmail),
		set(15, RegEmail),
		set(10, RegMobile),
		set(10, RegMobile, RegOffice, RegEmail),
		set(5, RegOffice, RegEmail),
		set(15, RegMobile, RegApp, RegEmail),
		set(5, RegMobile, RegOffice, RegApp, RegEmail),
	}}
}

// validEmailDomains checks policy.email_domains; paths are relative to
// the policy block.
func validEmailDomains(ds []string) config.Errors {
	var es config.Errors
	for i, d := range ds {
		if d == "" || len(d) > 253 || d != Sanitize(d, 253) || strings.ContainsAny(d, "@ \t") || !strings.Contains(strings.Trim(d, "."), ".") {
			es.Add(fmt.Sprintf("email_domains[%d]", i), "%q is not allowed (a domain such as example.com)", Sanitize(d, 64))
		}
	}
	return es
}

// profileTTL is how long a directory's profile is used before it is asked
// again.
const profileTTL = time.Minute

// kind is one kind of account a decoy may be drawn as.
type kind struct {
	has    map[Registration]bool
	domain string
	weight float64
	// name keys the draw, so that a decoy keeps its kind while the
	// weights of the others change.
	name string
}

func newKind(has []Registration, domain string, weight int) kind {
	k := kind{has: map[Registration]bool{}, weight: float64(weight)}
	var names []string
	for _, r := range registrations {
		if slices.Contains(has, r) {
			k.has[r] = true
			names = append(names, string(r))
		}
	}
	if k.has[RegEmail] {
		k.domain = domain
	}
	k.name = strings.Join(names, "+") + "@" + k.domain
	return k
}

// profileCache holds the directory's profile for profileTTL.
type profileCache struct {
	mu    sync.Mutex
	at    time.Time
	asked bool
	kinds []kind
}

// decoyKinds are the kinds decoys are drawn from: the directory's own,
// else the configured sets.
func (e *Engine) decoyKinds(ctx context.Context) []kind {
	if p, ok := e.deps.Directory.(MethodProfiler); ok {
		c := &e.profile
		c.mu.Lock()
		now := e.clock.Now()
		if !c.asked || now.Sub(c.at) >= profileTTL {
			c.asked, c.at = true, now
			entries, err := p.MethodProfile(ctx)
			if err != nil {
				// The last profile, or the configured sets, stand in.
				e.audit.Error("directory profile failed", "error", err.Error())
			} else {
				c.kinds = c.kinds[:0:0]
				for _, pe := range entries {
					if pe.Count > 0 && len(pe.Has) > 0 {
						c.kinds = append(c.kinds, newKind(pe.Has, pe.EmailDomain, pe.Count))
					}
				}
			}
		}
		kinds := c.kinds
		c.mu.Unlock()
		if len(kinds) > 0 {
			return kinds
		}
	}
	kinds := make([]kind, 0, len(e.cfg.Decoy.MethodSets))
	for _, s := range e.cfg.Decoy.MethodSets {
		kinds = append(kinds, newKind(s.Methods, "", s.Weight))
	}
	return kinds
}
