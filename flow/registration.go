package flow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
)

// FirstMethod says how an account with no method registers its first.
type FirstMethod string

// The ways to register a first method.
const (
	// FirstByPassword lets the current password alone register it.
	FirstByPassword FirstMethod = "password"
	// FirstByHelpdesk sends the person to the helpdesk.
	FirstByHelpdesk FirstMethod = "helpdesk"
	// FirstForbidden refuses it.
	FirstForbidden FirstMethod = "forbid"
)

// RegistrationPolicy is policy.registration: what people may change of their
// own security info, and how often.
type RegistrationPolicy struct {
	FirstMethod FirstMethod    `yaml:"first_method" doc:"how an account with no method registers its first: password (the current password alone), helpdesk (the person is sent to the helpdesk) or forbid. An account with a method always proves one first"`
	Methods     []Registration `yaml:"methods" range:"..4" doc:"what people may add, change and remove themselves: mobile, email, app, office (the office phone is the directory's own unless listed)"`
	// ChangesPerAccount and ChangesPerSource bound the changes begun
	// (each new destination proved, each removal), whether they end saved.
	ChangesPerAccount Rate `yaml:"changes_per_account" doc:"changes of security info begun for one account (a new number, address or app to prove, a removal)"`
	ChangesPerSource  Rate `yaml:"changes_per_source" doc:"changes of security info begun from one source address (or kiosk name), whatever the account"`
	// MinMethods is how many methods a person should have: after a reset
	// with fewer, "Add another way to reach you" is offered.
	MinMethods int `yaml:"min_methods" range:"0..4" doc:"after a reset, a person with fewer methods than this is offered \"Add another way to reach you\" (skippable); 0: never"`
}

// DefaultRegistration is what sspr ships with.
func DefaultRegistration() RegistrationPolicy {
	return RegistrationPolicy{
		FirstMethod:       FirstByPassword,
		Methods:           []Registration{RegMobile, RegEmail, RegApp},
		ChangesPerAccount: Rate{10, 24 * time.Hour},
		ChangesPerSource:  Rate{30, 24 * time.Hour},
		MinMethods:        2,
	}
}

// Validate checks the block; paths are relative to it.
func (r RegistrationPolicy) Validate() error {
	var es config.Errors
	switch r.FirstMethod {
	case FirstByPassword, FirstByHelpdesk, FirstForbidden:
	default:
		es.Add("first_method", "%q is not allowed (password, helpdesk or forbid)", Sanitize(string(r.FirstMethod), 64))
	}
	seen := map[Registration]bool{}
	for i, c := range r.Methods {
		switch c {
		case RegMobile, RegOffice, RegEmail, RegApp:
		default:
			es.Add(fmt.Sprintf("methods[%d]", i), "%q is not allowed (mobile, email, app or office)", Sanitize(string(c), 64))
		}
		if seen[c] {
			es.Add(fmt.Sprintf("methods[%d]", i), "%q is listed twice", c)
		}
		seen[c] = true
	}
	if r.MinMethods < 0 || r.MinMethods > 4 {
		es.Add("min_methods", "%d is out of range (0 to 4)", r.MinMethods)
	}
	for key, rate := range map[string]Rate{"changes_per_account": r.ChangesPerAccount, "changes_per_source": r.ChangesPerSource} {
		if rate.Count < 1 || rate.Count > 10000 || rate.Per < time.Minute || rate.Per > 30*24*time.Hour {
			es.Add(key, "%s is out of range (1 to 10000 in 1m to 720h)", rate)
		}
	}
	return es.Err()
}

func (r RegistrationPolicy) allows(c Registration) bool {
	for _, m := range r.Methods {
		if m == c {
			return true
		}
	}
	return false
}

// MethodChanges is what a MethodWriter changes: a nil field stays, an
// empty one is removed.
type MethodChanges struct {
	Mobile, Office, Email *string
	// TOTPSecret is the base32 secret of the authenticator app.
	TOTPSecret *string
}

// Apply returns u with the changes made.
func (c MethodChanges) Apply(u User) User {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Mobile, c.Mobile)
	set(&u.Office, c.Office)
	set(&u.Email, c.Email)
	set(&u.TOTPSecret, c.TOTPSecret)
	return u
}

// MethodWriter is a Directory that can store a person's methods.
type MethodWriter interface {
	// SetMethods writes the changes to the entry u.ID at once: all of
	// them or none.
	SetMethods(ctx context.Context, u User, c MethodChanges) error
}

// validEmail accepts one plain address: a local part, one @, a domain
// with a dot, no spaces or list separators.
func validEmail(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && len(a) <= MaxEmailLen && a == Sanitize(a, MaxEmailLen) &&
		strings.Count(a, "@") == 1 && strings.Contains(a[at+1:], ".") &&
		!strings.ContainsAny(a, " \t,;<>\"()[]\\:") && !strings.HasSuffix(a, ".")
}
