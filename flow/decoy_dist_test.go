package flow_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sspr-project/sspr/flow"
)

// fixtureAccount is one real account of the statistical fixture.
type fixtureAccount struct {
	login, email string
}

// fixtureUsers writes a users file of n real accounts whose registrations
// follow a mix a site might have (no method on every account), plus
// accounts that walk the decoy path (disabled, nothing registered).
func fixtureUsers(n int) (string, []fixtureAccount) {
	mixes := [20]string{
		"me", "me", "me", "me", "me", "me", "me", "me",
		"e", "e", "e", "m", "m", "moe", "moe", "oe", "oe", "mae", "mae", "moae",
	}
	var b strings.Builder
	b.WriteString("users:\n")
	var real []fixtureAccount
	for i := range n {
		login := fmt.Sprintf("%c%s%03d", 'a'+(i*7)%26, "user", i)
		domain := "corp.example"
		if (i/20)%5 == 4 {
			domain = "eu.corp.example"
		}
		mix := mixes[i%20]
		fmt.Fprintf(&b, "  - login: %s\n", login)
		email := ""
		if strings.Contains(mix, "e") {
			email = login + "@" + domain
			fmt.Fprintf(&b, "    email: %s\n", email)
		}
		if strings.Contains(mix, "m") {
			fmt.Fprintf(&b, "    mobile: +1 212 555 01%02d\n", (i*37+11)%100)
		}
		if strings.Contains(mix, "o") {
			fmt.Fprintf(&b, "    office: +1 212 555 02%02d\n", (i*53+29)%100)
		}
		if strings.Contains(mix, "a") {
			fmt.Fprintf(&b, "    totp_secret: %s\n", aliceSecret)
		}
		real = append(real, fixtureAccount{login: login, email: email})
	}
	// Not real to a stranger: they get decoys.
	for i := range 5 {
		fmt.Fprintf(&b, "  - login: gone%d\n    email: gone%d@corp.example\n    mobile: +1 212 555 0300\n    disabled: true\n", i, i)
		fmt.Fprintf(&b, "  - login: empty%d\n", i)
	}
	return b.String(), real
}

var maskedPhone = regexp.MustCompile(`^\*{5}\d{2}$`)

// listOf is the method list as a category: the IDs in order.
func listOf(ms []flow.Method) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = string(m.ID)
	}
	return strings.Join(ids, "+")
}

// shapeOf is the look of the hints, method by method: a masked number, or
// an email's first letter (the login's own, or another) and its domain
// (the one typed, or which).
func shapeOf(login string, ms []flow.Method) string {
	typed := ""
	if at := strings.LastIndexByte(login, '@'); at >= 0 {
		typed = strings.ToLower(login[at+1:])
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		switch {
		case m.Hint == "":
			parts[i] = "-"
		case maskedPhone.MatchString(m.Hint):
			parts[i] = "phone"
		default:
			first, _ := utf8.DecodeRuneInString(m.Hint)
			want, _ := utf8.DecodeRuneInString(strings.ToLower(login))
			letter := "own"
			if first != want {
				letter = "other"
			}
			domain := m.Hint[strings.LastIndexByte(m.Hint, '@')+1:]
			if domain == typed {
				domain = "typed"
			}
			parts[i] = "email:" + letter + "@" + domain
		}
	}
	return strings.Join(parts, "+")
}

// chiSquare tests whether two samples of categories come from one
// distribution (Pearson's test of homogeneity). Categories expected fewer
// than 5 times in either sample are pooled, as the test requires.
func chiSquare(a, b map[string]int) (stat float64, df int, p float64) {
	na, nb := 0, 0
	for _, n := range a {
		na += n
	}
	for _, n := range b {
		nb += n
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	total := float64(na + nb)
	type cell struct{ a, b int }
	var cells []cell
	var rare cell
	for k := range keys {
		c := cell{a[k], b[k]}
		col := float64(c.a + c.b)
		if col*float64(na)/total < 5 || col*float64(nb)/total < 5 {
			rare.a, rare.b = rare.a+c.a, rare.b+c.b
			continue
		}
		cells = append(cells, c)
	}
	if rare.a+rare.b > 0 {
		cells = append(cells, rare)
	}
	if len(cells) < 2 {
		return 0, 0, 1
	}
	for _, c := range cells {
		col := float64(c.a + c.b)
		for _, o := range []struct{ obs, n int }{{c.a, na}, {c.b, nb}} {
			e := col * float64(o.n) / total
			stat += (float64(o.obs) - e) * (float64(o.obs) - e) / e
		}
	}
	df = len(cells) - 1
	return stat, df, distuv.ChiSquared{K: float64(df)}.Survival(stat)
}

func top(m map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range m {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	var b strings.Builder
	for i, x := range all {
		if i == 8 {
			fmt.Fprintf(&b, " ... (%d kinds)", len(all))
			break
		}
		fmt.Fprintf(&b, "\n\t%4d %s", x.n, x.k)
	}
	return b.String()
}

// Decoys are drawn from the distribution of the real accounts: over 1,000
// unknown logins and every real account of a directory, a chi-square test
// cannot tell the method lists, nor the look of their hints, apart. Both
// ways of typing a login are tested: the login itself, and an email
// address (the real accounts then found by theirs).
func TestDecoyDistributionMatchesReal(t *testing.T) {
	users, real := fixtureUsers(400)
	r := newDirRig(t, users)
	for _, form := range []string{"login", "email"} {
		t.Run(form, func(t *testing.T) {
			realLists, realShapes := map[string]int{}, map[string]int{}
			for _, a := range real {
				login := a.login
				if form == "email" {
					if a.email == "" {
						continue
					}
					login = a.email
				}
				ms := r.identified(login).Methods()
				realLists[listOf(ms)]++
				realShapes[shapeOf(login, ms)]++
			}
			decoyLists, decoyShapes := map[string]int{}, map[string]int{}
			for i := range 1000 {
				login := fmt.Sprintf("%c%s%04d", 'a'+(i*11)%26, "ghost", i)
				if form == "email" {
					login += []string{"@corp.example", "@eu.corp.example"}[min(i%5, 4)/4]
				}
				ms := r.identified(login).Methods()
				decoyLists[listOf(ms)]++
				decoyShapes[shapeOf(login, ms)]++
			}
			for _, c := range []struct {
				what        string
				real, decoy map[string]int
			}{{"method lists", realLists, decoyLists}, {"hint shapes", realShapes, decoyShapes}} {
				stat, df, p := chiSquare(c.real, c.decoy)
				t.Logf("%s: chi-square %.1f, df %d, p = %.3g", c.what, stat, df, p)
				if p <= 0.01 {
					t.Errorf("%s of decoys differ from real accounts' (chi-square %.1f, df %d, p = %.3g)\nreal:%s\ndecoy:%s",
						c.what, stat, df, p, top(c.real), top(c.decoy))
				}
			}
		})
	}
}

// The decoy of a near miss of each real login looks like that account:
// a method list real accounts have, masked numbers, and an email hint
// with the login's first letter and an organisation's domain; typed as
// an email address, the near miss shows the very hint the account does.
func TestDecoyOfNearMissLooksReal(t *testing.T) {
	users, real := fixtureUsers(400)
	r := newDirRig(t, users)
	lists, domains := map[string]bool{}, map[string]bool{}
	for _, a := range real {
		lists[listOf(r.identified(a.login).Methods())] = true
		if a.email != "" {
			domains[a.email[strings.LastIndexByte(a.email, '@')+1:]] = true
		}
	}
	for _, a := range real {
		near := a.login[:1] + "x" + a.login[1:]
		ms := r.identified(near).Methods()
		if !lists[listOf(ms)] {
			t.Errorf("%s: the decoy of %s offers %s, which no real account does", a.login, near, listOf(ms))
		}
		for _, m := range ms {
			switch m.ID {
			case flow.TextMobile, flow.CallMobile, flow.CallOffice:
				if !maskedPhone.MatchString(m.Hint) {
					t.Errorf("%s: number hint %q", near, m.Hint)
				}
			case flow.EmailAltern:
				at := strings.LastIndexByte(m.Hint, '@')
				if m.Hint[:1] != near[:1] || !domains[m.Hint[at+1:]] {
					t.Errorf("%s: email hint %q, real accounts show %s***@%v", near, m.Hint, near[:1], domains)
				}
			}
		}
		if a.email == "" {
			continue
		}
		want := hintOf(r.identified(a.email).Methods(), flow.EmailAltern)
		near = a.email[:1] + "x" + a.email[1:]
		if got := hintOf(r.identified(near).Methods(), flow.EmailAltern); got != want {
			t.Errorf("typed %s: email hint %q, the account's (%s) is %q", near, got, a.email, want)
		}
	}
}

func hintOf(ms []flow.Method, id flow.MethodID) string {
	for _, m := range ms {
		if m.ID == id {
			return m.Hint
		}
	}
	return "(none)"
}
