package flow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// policy.decoy.method_sets and policy.email_domains reach the decoys of a
// directory that does not profile itself, and are drawn as weighted.
func TestDecoyMethodSetsFromYAML(t *testing.T) {
	st := flow.DefaultSettings()
	mustOK(t, config.Load([]byte(`
policy:
  email_domains: [corp.example, mail.corp.example]
  decoy:
    method_sets:
      - methods: [office, email]
        weight: 3
      - methods: [mobile]
        weight: 1
`), &st))
	c := st.Config(testKey, nil, "")
	r := newRig(t, func(cfg *flow.Config) { cfg.Decoy, cfg.EmailDomains = c.Decoy, c.EmailDomains })
	lists, domains := map[string]int{}, map[string]int{}
	for i := range 2000 {
		login := fmt.Sprintf("ghost%04d", i)
		ms := r.identified(login).Methods()
		lists[listOf(ms)]++
		if h := hintOf(ms, flow.EmailAltern); h != "(none)" {
			if !strings.HasPrefix(h, "g***@") {
				t.Fatalf("%s: email hint %q", login, h)
			}
			domains[h[strings.IndexByte(h, '@')+1:]]++
		}
	}
	if len(lists) != 2 || lists["call_office+email"] < 1400 || lists["call_office+email"] > 1600 || lists["sms+call_mobile"] < 400 {
		t.Errorf("lists drawn: %v, want call_office+email 3 times as often as sms+call_mobile", lists)
	}
	if len(domains) != 2 || domains["corp.example"] < 600 || domains["mail.corp.example"] < 600 {
		t.Errorf("domains drawn: %v", domains)
	}
	// An address typed as the login: always the email, the typed one.
	for i := range 50 {
		login := fmt.Sprintf("Ghost%d@Elsewhere.example", i)
		if h := hintOf(r.identified(login).Methods(), flow.EmailAltern); h != "g***@elsewhere.example" {
			t.Fatalf("%s: email hint %q", login, h)
		}
	}
}

// A set the policy cannot accept is never drawn: with two methods
// required, email alone gives way to the sets that have two factors.
func TestDecoySkipsIneligibleSets(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.MethodsRequired = 2
		c.Decoy.MethodSets = []flow.MethodSet{
			{Methods: []flow.Registration{flow.RegEmail}, Weight: 100},
			{Methods: []flow.Registration{flow.RegApp}, Weight: 100},
			{Methods: []flow.Registration{flow.RegMobile, flow.RegEmail}, Weight: 1},
		}
	})
	for i := range 100 {
		if got := listOf(r.identified(fmt.Sprintf("ghost%d", i)).Methods()); got != "sms+call_mobile+email" {
			t.Fatalf("decoy %s", got)
		}
	}
	// None acceptable: factors are added until the policy is met.
	r = newRig(t, func(c *flow.Config) {
		c.MethodsRequired = 2
		c.Decoy.MethodSets = []flow.MethodSet{{Methods: []flow.Registration{flow.RegEmail}, Weight: 1}}
	})
	if got := r.identified("ghost").State().MethodsRequired; got != 2 || len(r.identified("ghost").Methods()) < 2 {
		t.Fatalf("decoy %v needs %d", r.identified("ghost").Methods(), got)
	}
}

// A wrong set or domain is named by its key path, every one at once.
func TestDecoySettingsRefusals(t *testing.T) {
	st := flow.DefaultSettings()
	err := config.Load([]byte(`
policy:
  email_domains: ["corp.example", "a@b.example", ""]
  decoy:
    method_sets:
      - methods: [mobile, fax]
        weight: 1
      - methods: [email, email]
        weight: 0
      - methods: []
        weight: 2
`), &st)
	for _, want := range []string{
		`policy.email_domains[1]: "a@b.example" is not allowed`,
		`policy.email_domains[2]: "" is not allowed`,
		`policy.decoy.method_sets[0].methods[1]: "fax" is not allowed (mobile, office, app or email)`,
		"policy.decoy.method_sets[1].methods[1]: email is given twice",
		"policy.decoy.method_sets[1].weight: 0 is not allowed (1 to 1000000)",
		"policy.decoy.method_sets[2].methods: 0 entries are not allowed",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	// The engine refuses the same, with the same paths.
	cfg := baseConfig()
	cfg.EmailDomains = []string{"nodot"}
	cfg.Decoy.MethodSets = []flow.MethodSet{{Methods: []flow.Registration{"fax"}, Weight: 1}}
	_, err = flow.NewEngine(cfg, flow.Deps{Directory: &fakeDir{}, Store: newTestStore(nil)})
	for _, want := range []string{"policy.email_domains[0]:", "policy.decoy.method_sets[0].methods[0]:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewEngine: errors lack %q:\n%v", want, err)
		}
	}
}

// profiledDir is the fake directory with a profile of its own.
type profiledDir struct {
	*fakeDir
	entries []flow.ProfileEntry
	err     error
	asked   int
}

func (d *profiledDir) MethodProfile(context.Context) ([]flow.ProfileEntry, error) {
	d.asked++
	return d.entries, d.err
}

// A directory's profile comes before the configured sets; it is asked
// once a minute, not at every decoy; when it fails or is empty, the sets
// stand in.
func TestDecoyPrefersTheDirectoryProfile(t *testing.T) {
	sets := func(c *flow.Config) {
		c.Decoy.MethodSets = []flow.MethodSet{{Methods: []flow.Registration{flow.RegMobile}, Weight: 1}}
	}
	for _, tc := range []struct {
		name    string
		entries []flow.ProfileEntry
		err     error
		want    string
	}{
		{"profile", []flow.ProfileEntry{{Has: []flow.Registration{flow.RegOffice, flow.RegEmail}, EmailDomain: "corp.example", Count: 7}}, nil, "call_office+email"},
		{"empty", nil, nil, "sms+call_mobile"},
		{"failing", nil, errors.New("directory down"), "sms+call_mobile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, sets)
			dir := &profiledDir{fakeDir: r.dir, entries: tc.entries, err: tc.err}
			cfg := baseConfig()
			sets(&cfg)
			eng, err := flow.NewEngine(cfg, flow.Deps{Directory: dir, Store: r.store, SMS: r.sms, Voice: r.voice, Email: r.email, Clock: r.clock})
			mustOK(t, err)
			for i := range 20 {
				s := mustBegin(t, eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:1"})
				mustOK(t, s.Identify(bg, fmt.Sprintf("ghost%d", i), ""))
				if got := listOf(s.Methods()); got != tc.want {
					t.Fatalf("decoy %s, want %s", got, tc.want)
				}
			}
			if dir.asked != 1 {
				t.Fatalf("profile asked %d times in a minute", dir.asked)
			}
		})
	}
}
