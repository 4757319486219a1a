package flow_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// dirRig is an engine over a users file of the embedded directory, so
// that lookup and decoy are the real ones.
type dirRig struct {
	t   testing.TB
	eng *flow.Engine
}

func newDirRig(t testing.TB, users string, mutate ...func(*flow.Config)) *dirRig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	clock := &fakeClock{t: epoch}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: dir, Store: memstore.New().WithClock(clock.Now),
		SMS: &recSender{}, Voice: &recSender{}, Email: &recSender{}, Push: &recSender{},
		TOTP: totp.New(), Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &dirRig{t: t, eng: eng}
}

func (r *dirRig) identified(login string) *flow.Session {
	r.t.Helper()
	s := mustBegin(r.t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"})
	mustOK(r.t, s.Identify(bg, login, ""))
	return s
}

// failOnce fails the first method of s that is not a push, once.
func (r *dirRig) failOnce(s *flow.Session) error {
	r.t.Helper()
	for _, m := range s.Methods() {
		switch m.ID {
		case flow.TextMobile, flow.CallMobile, flow.CallOffice:
			mustOK(r.t, s.Choose(bg, m.ID))
			return s.ConfirmNumber(bg, "+1 212 555 0199")
		case flow.TOTPApp:
			mustOK(r.t, s.Choose(bg, m.ID))
			return s.SubmitCode(bg, "000000")
		case flow.EmailAltern:
			mustOK(r.t, s.Choose(bg, m.ID))
			return s.SubmitCode(bg, "00000000")
		}
	}
	r.t.Fatalf("no method to fail in %v", methodIDs(s.Methods()))
	return nil
}

const twinUsers = `users:
  - login: sam
    email: sam@corp.example
    mobile: +1 212 555 0142
  - login: Straße
    email: strasse@corp.example
    office: +1 212 555 0177
`

// Every spelling of one login is one login: the spellings that find an
// account find the same one, and those that find none get one decoy and
// share its limits. A lookup that folds otherwise than the decoy (ſ U+017F
// is s to one and not to the other) tells real logins from unknown ones.
func TestLoginTwinsKeyedAlike(t *testing.T) {
	r := newDirRig(t, twinUsers)
	real := [][]string{
		{"sam", "ſam", "SAM", "ｓａｍ", "Sam ", "sam@corp.example", "ſam@corp.example", "SAM@CORP.EXAMPLE"},
		{"Straße", "STRASSE", "strasse", "STRAẞE", "ｓｔｒａｓｓｅ"},
	}
	unknown := [][]string{
		{"sim", "ſim", "SIM", "ｓｉｍ"},
		{"Gruße", "GRUSSE", "grusse"},
		{"sim@corp.example", "ſim@corp.example", "SIM@ＣＯＲＰ.EXAMPLE"},
	}
	for _, twins := range append(real, unknown...) {
		want := r.identified(twins[0]).Methods()
		for _, login := range twins[1:] {
			if got := r.identified(login).Methods(); !reflect.DeepEqual(got, want) {
				t.Errorf("%q: %v\n%q: %v", twins[0], want, login, got)
			}
		}
	}
	// The real account is found under every spelling: its own number.
	for _, login := range real[0] {
		if ms := r.identified(login).Methods(); len(ms) == 0 || ms[0].Hint != "*****42" {
			t.Errorf("%q does not find sam: %v", login, ms)
		}
	}
}

// The limits count every spelling of a login as one: a login suspended
// under one spelling is suspended under all.
func TestLoginTwinsShareLimits(t *testing.T) {
	for _, twins := range [][2]string{{"ſim", "sim"}, {"GRUSSE", "Gruße"}, {"ｓｉｍ", "sim"}, {"ſam", "sam"}, {"STRASSE", "Straße"}} {
		r := newDirRig(t, twinUsers, func(c *flow.Config) {
			c.Limits.Failures, c.Limits.Suspension = 1, time.Hour
		})
		mustReason(t, r.failOnce(r.identified(twins[0])), flow.ReasonSuspended)
		s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022"})
		if err := s.Identify(bg, twins[1], ""); flow.ReasonOf(err) != flow.ReasonSuspended {
			t.Errorf("%q suspended, %q not: %v", twins[0], twins[1], err)
		}
	}
}
