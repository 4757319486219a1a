package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sspr-project/sspr/flow"
)

// keyDriver is the first screen as the demo serves it over SSH (the demo
// phone below, 80x24, a 256-colour terminal), with or without the CAPTCHA.
func keyDriver(tb testing.TB, captcha bool) *driver {
	tb.Helper()
	cfg, want := testConfig(), []string{"Who are you?"}
	if captcha {
		cfg = flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}
		want = append(want, "█")
	}
	d := newDriverWith(tb, cfg, Options{Remote: true}, true)
	d.send(tea.ColorProfileMsg{Profile: colorprofile.ANSI256})
	d.waitFor(want...)
	return d
}

// TestKeyPressAllocations: a key press (its Update and the View of the
// frame it changes) on the first screen allocates a bounded number of
// times. The frame's words (title, breadcrumb, links, labels, the keys in
// the footer) come from the theme's cache and the lines that did not
// change are not measured again; drawn anew with lipgloss for every key,
// they took 606 allocations with the CAPTCHA and 419 without, and made a
// key's View cost four times what it does now (BenchmarkKey).
func TestKeyPressAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what is allocated")
	}
	for _, c := range []struct {
		name    string
		captcha bool
		most    float64
	}{
		{"captcha", true, 350},
		{"login", false, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := keyDriver(t, c.captcha)
			keys := []tea.KeyPressMsg{{Code: 'z', Text: "z"}, {Code: tea.KeyBackspace}}
			n := 0
			got := testing.AllocsPerRun(200, func() {
				d.send(keys[n%2])
				n++
				if d.w.View().Content == "" {
					t.Fatal("empty frame")
				}
			})
			if got > c.most {
				t.Errorf("a key press allocates %.0f times, want at most %.0f", got, c.most)
			}
			if v := d.view(); !strings.Contains(v, "Who are you?") {
				t.Errorf("the screen changed:\n%s", v)
			}
		})
	}
}

// TestStyledKeepsNoTypedText: the theme's cache is shared by every
// session, so what a person types never enters it, nor what the screens
// after it show of it.
func TestStyledKeepsNoTypedText(t *testing.T) {
	d := keyDriver(t, false)
	const mark = "qzxjv"
	for i := range 20 {
		d.typeText(fmt.Sprintf("%s%02d", mark, i))
		d.w.View()
		for range 7 {
			d.send(tea.KeyPressMsg{Code: tea.KeyBackspace})
			d.w.View()
		}
	}
	d.typeText(mark + "-login")
	d.waitFor(mark + "-login")
	d.enter()
	d.waitFor("Please choose the contact method we should use for verification:")
	// An unknown login gets methods made up from it (a decoy), masked.
	d.choose("Email my alternate email")
	d.waitFor("Enter your verification code")
	d.typeText("1234567")
	d.waitFor("1234567")
	d.w.e.theme.styled.Range(func(k, _ any) bool {
		if text := k.(styledKey).text; strings.Contains(text, mark) || strings.Contains(text, "q***") || strings.Contains(text, "1234567") {
			t.Errorf("the theme keeps typed text: %q", text)
		}
		return true
	})
}

// TestStyledBounded: past maxStyled texts a theme draws without keeping,
// and what it returns is what the style draws either way.
func TestStyledBounded(t *testing.T) {
	th := buildTheme(true, false, false, false, false)
	for i := range maxStyled + 500 {
		text := fmt.Sprintf("word %d", i)
		if got, want := th.style(&th.dim, text), th.dim.Render(text); got != want {
			t.Fatalf("style(%q) = %q, want %q", text, got, want)
		}
	}
	// Again, from the cache where kept.
	for _, i := range []int{0, maxStyled - 1, maxStyled + 499} {
		text := fmt.Sprintf("word %d", i)
		if got, want := th.style(&th.dim, text), th.dim.Render(text); got != want {
			t.Fatalf("style(%q) again = %q, want %q", text, got, want)
		}
	}
	kept := 0
	th.styled.Range(func(_, _ any) bool { kept++; return true })
	if kept > maxStyled {
		t.Errorf("the theme keeps %d texts, at most %d", kept, maxStyled)
	}
	// Each style is its own entry: the same word in two styles.
	other := buildTheme(true, false, false, false, false)
	if a, b := other.style(&other.dim, "x"), other.style(&other.heading, "x"); a == b || b != other.heading.Render("x") {
		t.Errorf("dim and heading drew %q and %q", a, b)
	}
}
