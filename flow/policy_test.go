package flow_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sspr-project/sspr/flow"
)

func unmetIDs(rules []flow.Rule) []string {
	var out []string
	for _, r := range rules {
		if !r.Met {
			out = append(out, r.ID)
		}
	}
	return out
}

func ruleByID(t *testing.T, rules []flow.Rule, id string) flow.Rule {
	t.Helper()
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s in %+v", id, rules)
	return flow.Rule{}
}

// A long password that is hard to guess: words drawn from no list.
const longGood = "Vrilk-Tosquen-Mabbrey-Zendo-4821"

func TestCheckPassword(t *testing.T) {
	p := flow.DefaultConfig().Password
	long := strings.Repeat(longGood+"-", 8)
	tests := []struct {
		name, login, pw string
		confirm         *string
		unmet           []string
	}{
		{"good", "alice", goodPass, nil, nil},
		{"13 characters", "alice", "Vrilk-Tosq-12", nil, []string{flow.RuleMinLength}},
		{"14 characters", "alice", "Vrilk-Tosq-123", nil, nil},
		{"256 characters", "alice", long[:256], nil, nil},
		{"257 characters", "alice", long[:257], nil, []string{flow.RuleMaxLength}},
		{"no upper case", "alice", "correct-horse-battery-9", nil, []string{flow.RuleUpper}},
		{"no lower case", "alice", "CORRECT-HORSE-BATTERY-9", nil, []string{flow.RuleLower}},
		{"no digit", "alice", "Correct-Horse-Battery-X", nil, []string{flow.RuleDigit}},
		{"contains the login", "alice", "My-ALICE-Vrilk-Tosquen-1", nil, []string{flow.RuleNoLogin}},
		{"contains the mail local part", "alice.smith@example.com", "Vrilk-Alice.Smith2025!!", nil, []string{flow.RuleNoLogin}},
		{"a short login is not looked for", "al", "Always-Aligned-12", nil, nil},
		{"a common password", "alice", "Password12345678!", nil, []string{flow.RuleCommon}},
		{"too easy to guess", "alice", "aaaaaaaaaaaaaaaa1A", nil, []string{flow.RuleStrength}},
		{"confirmation differs", "alice", goodPass, ptr(goodPass + " "), []string{flow.RuleConfirm}},
		{"empty", "alice", "", nil, []string{flow.RuleMinLength, flow.RuleUpper, flow.RuleLower, flow.RuleDigit,
			flow.RuleNoLogin, flow.RuleCommon, flow.RuleStrength, flow.RuleConfirm}},
		{"code points, not bytes", "alice", "Äöüß-Éèñ-Øå-12", nil, nil},
		{"spaces and unicode", "alice", "Pässwörd mit Leerzeichen 2025", nil, nil},
		{"escape sequence", "alice", "Correct-Horse\x1b[2J-9", nil, []string{flow.RulePrintable}},
		{"NUL", "alice", "Correct-Horse\x00-Battery-9", nil, []string{flow.RulePrintable}},
		{"line break", "alice", "Correct-Horse\n-Battery-9", nil, []string{flow.RulePrintable}},
		// zxcvbn does not score bytes that are not UTF-8.
		{"invalid UTF-8", "alice", "Correct-Horse-\xff-Battery-9", nil, []string{flow.RuleStrength, flow.RulePrintable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			confirm := tc.pw
			if tc.confirm != nil {
				confirm = *tc.confirm
			}
			rules := flow.CheckPassword(p, tc.login, tc.pw, confirm)
			if got := unmetIDs(rules); !slices.Equal(got, tc.unmet) {
				t.Fatalf("unmet %v, want %v", got, tc.unmet)
			}
			for _, r := range rules {
				if r.Text == "" || strings.Contains(r.Text, tc.pw) && tc.pw != "" {
					t.Errorf("rule %+v", r)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// hintsSession is a session of alice on the password screen, under p.
func hintsSession(tb testing.TB, p flow.PasswordPolicy) *flow.Session {
	tb.Helper()
	return newRig(tb, func(c *flow.Config) { c.Password = p }).verified()
}

// The rules a person sees before typing: the hints list, all unmet.
func TestRuleList(t *testing.T) {
	rules := flow.CheckPassword(flow.DefaultConfig().Password, "alice", "", "")
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	want := []string{flow.RuleMinLength, flow.RuleUpper, flow.RuleLower, flow.RuleDigit, flow.RuleMaxLength,
		flow.RuleNoLogin, flow.RuleCommon, flow.RuleStrength, flow.RuleConfirm}
	if !slices.Equal(ids, want) {
		t.Fatalf("rules %v, want %v", ids, want)
	}
	if !strings.Contains(rules[0].Text, "14") {
		t.Errorf("min length text %q", rules[0].Text)
	}
	if got := ruleByID(t, rules, flow.RuleStrength).Text; got != "Hard to guess (strength 3 of 4 or more)" {
		t.Errorf("strength text %q", got)
	}
}

// Every rule text fits one line of the hints at 80 columns, with the
// longest mark ("[not met] ") and the indent.
func TestRuleTextsFit(t *testing.T) {
	p := flow.DefaultConfig().Password
	p.Breached = openBreach(t, breachList(t, 10, "\n", breachedPass))
	who := flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}
	for _, pw := range []string{"", "a", "aaaaaaaaaaaaaaaaaaaaaaa1A", "Qwertyuiop-1A", "abcdefghijklmnop1A", "1987-06-05-1A",
		"Alice-Example", "Elephant20262026", "Dragon", "\x1b", "Xk9#mQ2$vL7!pR4w", "Xk9#mQ2$vL7!pR", breachedPass} {
		for _, lookup := range []bool{false, true} {
			var rules []flow.Rule
			if lookup {
				rules = flow.CheckPasswordFor(p, who, pw, pw+"x")
			} else {
				rules = hintsSession(t, p).Check(pw, pw)
			}
			for _, r := range rules {
				if n := utf8.RuneCountInString(r.Text); n > 80-2-10 {
					t.Errorf("%q: %q is %d characters", pw, r.Text, n)
				}
			}
		}
	}
}

// The composition switches can be turned off, and so can the strength score.
func TestPolicyWithoutComposition(t *testing.T) {
	p := flow.PasswordPolicy{MinLength: 15, MaxLength: 64}
	if got := unmetIDs(flow.CheckPassword(p, "alice", "correct horse battery", "correct horse battery")); got != nil {
		t.Fatalf("unmet %v", got)
	}
	for _, r := range flow.CheckPassword(p, "alice", "aaaaaaaaaaaaaaaaaaaa", "") {
		if r.ID == flow.RuleStrength {
			t.Fatal("strength rule listed with MinScore 0")
		}
	}
}

// A session checks the login the directory knows, however it was typed.
func TestCheckUsesDirectoryLogin(t *testing.T) {
	r := newRig(t)
	s := r.begin()
	mustOK(t, s.Identify(bg, " ALICE ", ""))
	if got := unmetIDs(s.Check("xx-Alice-xx-12345", "xx-Alice-xx-12345")); !slices.Equal(got, []string{flow.RuleNoLogin}) {
		t.Fatalf("unmet %v", got)
	}
}

// The person's own data: login and address anywhere, name parts for half
// the letters or more, whatever the case and look-alike characters.
func TestPersonalData(t *testing.T) {
	p := flow.DefaultConfig().Password
	p.MinScore = 0
	ann := flow.Person{Login: "asmith", DisplayName: "Ann-Marie Smith", Email: "annie.s@example.com"}
	tests := []struct {
		name string
		who  flow.Person
		pw   string
		bad  bool
	}{
		{"the login", ann, "Vrilk-ASMITH-Tosquen-4", true},
		{"the login in look-alikes", ann, "Vrilk-@5m17h-Tosquen-4", true},
		{"the mail local part", ann, "Vrilk-Annie.S-Tosquen-4", true},
		{"name parts for all the letters", ann, "Ann-Marie-Smith-2026!", true},
		{"a name part and padding", ann, "Smith2026!!!!!!!", true},
		{"name parts in look-alikes", ann, "M4r13-5m17h-2026-xy", true},
		{"name parts, reversed order, no separators", ann, "SmithMarieAnn#2026", true},
		{"half the letters", ann, "Smith-Vrilk-2026", true},
		{"under half the letters", ann, "Smith-Vrilk-Tosquen-2026", false},
		{"none of it", ann, "Vrilk-Tosquen-Mabbrey-2026", false},
		{"parts of two letters are not looked for", flow.Person{Login: "wu", DisplayName: "Al Wu"}, "Al-Wu-Always-Aligned-12", false},
		{"a typed address as login", flow.Person{Login: "bob.jones@example.com"}, "Vrilk-B0b.J0nes-42", true},
		{"unicode names", flow.Person{Login: "ez", DisplayName: "Émile Zola"}, "ÉMILE-zola-2026", true},
		{"only the login known", flow.Person{Login: "alice"}, "Example-Vrilk-4821", false},
		{"the whole record", flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}, "Example-Vrilk-4821", true},
		{"the whole record, under half", flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}, "Example-Vrilk-Tosquen-4821", false},
		{"l and i stay apart", flow.Person{Login: "ali"}, "Tail-Mail-Vrilk-9", false},
		{"1 reads as l or as i", flow.Person{Login: "alice"}, "Vrilk-A11ce-Tosquen-9", true},
		{"the whole record, half", flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}, "Example-Vrilk-Al1c3", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ruleByID(t, flow.CheckPasswordFor(p, tc.who, tc.pw, tc.pw), flow.RuleNoLogin)
			if r.Met == tc.bad {
				t.Fatalf("%q for %+v: met %v", tc.pw, tc.who, r.Met)
			}
			if r.Text != "Free of your name and username" {
				t.Fatalf("text %q", r.Text)
			}
		})
	}
}

// zxcvbn's lists are the blocklist: a common password, word or name, with
// digits and symbols around it and look-alike characters.
func TestCommonPasswords(t *testing.T) {
	p := flow.DefaultConfig().Password
	for _, pw := range []string{"Password123!", "Password12345678!", "PASSWORD", "P@ssw0rd2026!!!!", "!!Dragon2026!!!!",
		"Sunshine!!!!!!!!", "iloveyou", "Qwertyuiop-12345", "trustno1", "Trustno1!!!!!!!!", "Elephant20262026",
		"Jennifer1987!!!!", "2026-Summer-2026", "Summer2026!!"} {
		r := ruleByID(t, flow.CheckPassword(p, "alice", pw, pw), flow.RuleCommon)
		if r.Met {
			t.Errorf("%q passes as uncommon", pw)
		}
		if r.Text != "An uncommon password" {
			t.Errorf("text %q", r.Text)
		}
	}
	for _, pw := range []string{goodPass, "Maple-Lantern-4821", "Summer-Dragon-2026", "Xk9#mQ2$vL7!pR4w", "correct horse battery"} {
		if r := ruleByID(t, flow.CheckPassword(p, "alice", pw, pw), flow.RuleCommon); !r.Met {
			t.Errorf("%q refused as common", pw)
		}
	}
}

// The strength rule says why a password is easy to guess.
func TestStrength(t *testing.T) {
	p := flow.DefaultConfig().Password
	who := flow.Person{Login: "asmith", DisplayName: "Ann Smith", Email: "ann@example.com"}
	tests := []struct{ pw, reason string }{
		{"aaaaaaaaaaaaaaaa1A", "repeated characters"},
		{"abcdefghijklmnop1A", "a sequence like abc or 123"},
		{"Qwertyuiop", "a common password"},
		{"asdfghjkl;'", "a keyboard pattern"},
		{"Smith2026", "contains your name"},
		{"Elephant", "a common password"},
		{"Kq9", "add another word or two"},
	}
	for _, tc := range tests {
		r := ruleByID(t, flow.CheckPasswordFor(p, who, tc.pw, tc.pw), flow.RuleStrength)
		if r.Met {
			t.Errorf("%q: strong enough", tc.pw)
			continue
		}
		if want := "Hard to guess (strength 3 of 4 or more): " + tc.reason; r.Text != want {
			t.Errorf("%q: %q, want %q", tc.pw, r.Text, want)
		}
	}
	for _, pw := range []string{goodPass, "Xk9#mQ2$vL7!pR4w", "Vrilk-Tosquen-12"} {
		r := ruleByID(t, flow.CheckPasswordFor(p, who, pw, pw), flow.RuleStrength)
		if !r.Met || r.Text != "Hard to guess (strength 3 of 4 or more)" {
			t.Errorf("%q: %+v", pw, r)
		}
	}
	// The score is configurable: 4 asks for more.
	p.MinScore = 4
	r := ruleByID(t, flow.CheckPasswordFor(p, who, "Vrilk-12345678", "Vrilk-12345678"), flow.RuleStrength)
	if r.Met || !strings.HasPrefix(r.Text, "Hard to guess (strength 4 of 4 or more)") {
		t.Errorf("score 4: %+v", r)
	}
}

// zxcvbn sees the first 32 characters: a weak start is not rescued by a
// strong tail, a strong start carries any tail, and a long paste stays fast.
func TestStrengthLooksAtTheStart(t *testing.T) {
	p := flow.DefaultConfig().Password
	weakStart := strings.Repeat("a", 32) + "Xk9#mQ2$vL7!pR4w"
	if r := ruleByID(t, flow.CheckPassword(p, "alice", weakStart, weakStart), flow.RuleStrength); r.Met {
		t.Error("a weak start passed")
	}
	strongStart := longGood + strings.Repeat("a", 200)
	if r := ruleByID(t, flow.CheckPassword(p, "alice", strongStart, strongStart), flow.RuleStrength); !r.Met {
		t.Errorf("a strong start failed: %+v", r)
	}
	// Look-alike characters are zxcvbn's slowest input.
	leet := strings.Repeat("4@1!3$0|", 32)
	began := time.Now()
	flow.CheckPassword(p, "alice", leet, leet)
	if d := time.Since(began); d > time.Second {
		t.Fatalf("256 look-alike characters took %s", d)
	}
}

// Each rule refuses something the others let through: take one away and
// its case here is accepted.
func TestEachRuleBites(t *testing.T) {
	p := flow.DefaultConfig().Password
	p.Breached = openBreach(t, breachList(t, 1000, "\n", breachedPass))
	who := flow.Person{Login: "asmith", DisplayName: "Ann Smith", Email: "ann@example.com"}
	tests := []struct{ id, pw, confirm string }{
		{flow.RuleMinLength, "Vrilk-Tosq-12", ""},
		{flow.RuleMaxLength, strings.Repeat(longGood+"-", 9)[:257], ""},
		{flow.RuleUpper, "vrilk-tosquen-mabbrey-9", ""},
		{flow.RuleLower, "VRILK-TOSQUEN-MABBREY-9", ""},
		{flow.RuleDigit, "Vrilk-Tosquen-Mabbrey-X", ""},
		{flow.RuleNoLogin, "Vrilk-Tosquen-ASmith-9", ""},
		{flow.RuleCommon, "Summer2026!!!!!!", ""},
		{flow.RuleStrength, "aaaaaaaaaaaaaaaa1A", ""},
		{flow.RuleBreached, breachedPass, ""},
		{flow.RuleConfirm, longGood, longGood + "x"},
		{flow.RulePrintable, "Vrilk-Tosquen\x1b-Mabbrey-9", ""},
	}
	for _, tc := range tests {
		confirm := tc.pw
		if tc.confirm != "" {
			confirm = tc.confirm
		}
		if got := unmetIDs(flow.CheckPasswordFor(p, who, tc.pw, confirm)); !slices.Equal(got, []string{tc.id}) {
			t.Errorf("%s: unmet %v, want only %s", tc.id, got, tc.id)
		}
	}
}

// The demo directory's published passwords meet the default policy, with
// each demo person's own data.
func TestDemoPasswordsPass(t *testing.T) {
	p := flow.DefaultConfig().Password
	demo := []struct {
		who flow.Person
		pw  string
	}{
		{flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}, "Maple-Lantern-4821"},
		{flow.Person{Login: "bob", DisplayName: "Bob Example"}, "Copper-Violin-3907"},
		{flow.Person{Login: "carol", DisplayName: "Carol Example", Email: "carol@example.com"}, "Harbor-Quartz-5163"},
		{flow.Person{Login: "dave", DisplayName: "Dave Example", Email: "dave@example.com"}, "Meadow-Falcon-7240"},
		{flow.Person{Login: "erin", DisplayName: "Erin Example", Email: "erin@example.com"}, "Silver-Cactus-6318"},
	}
	for _, d := range demo {
		if got := unmetIDs(flow.CheckPasswordFor(p, d.who, d.pw, d.pw)); got != nil {
			t.Errorf("%s: unmet %v", d.who.Login, got)
		}
	}
}

// One key press of the password screen: the rules for a 20-character
// password, zxcvbn included.
func BenchmarkCheckPassword(b *testing.B) {
	p := flow.DefaultConfig().Password
	who := flow.Person{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com"}
	for _, c := range []struct{ name, pw string }{
		{"20 chars", "Correct-Horse-Batt9x"},
		{"20 look-alikes", "4@1!3$0|xE7s5a4@1!3$"},
		{"32 chars", "Correct-Horse-Battery-Staple-9x!"},
		{"256 chars", strings.Repeat(longGood+"-", 9)[:256]},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				flow.CheckPasswordFor(p, who, c.pw, "")
			}
		})
	}
	// Typing the confirmation: the password is the same, its score is kept.
	b.Run("20 chars, confirming", func(b *testing.B) {
		s := hintsSession(b, p)
		s.Check("Correct-Horse-Batt9x", "")
		for b.Loop() {
			s.Check("Correct-Horse-Batt9x", "Correct-Horse")
		}
	})
}
