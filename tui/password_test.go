package tui

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

const breachedPassword = "Vrilk-Tosquen-Mabbrey-1999"

// breachConfig is testConfig with the default policy and a breached-password
// list that holds breachedPassword.
func breachConfig(t *testing.T) flow.Config {
	t.Helper()
	var lines []string
	for _, pw := range []string{breachedPassword, "123456", "password"} {
		s := sha1.Sum([]byte(pw))
		lines = append(lines, strings.ToUpper(hex.EncodeToString(s[:]))+":42")
	}
	slices.Sort(lines)
	path := filepath.Join(t.TempDir(), "pwned.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := flow.OpenBreachFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg := testConfig()
	cfg.Password = flow.DefaultConfig().Password
	cfg.Password.Breached = b
	return cfg
}

func toPasswordWith(t *testing.T, cfg flow.Config, demo bool) *harness {
	h := start(t, cfg, Options{}, demo)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("Enter new password")
	return h
}

// The list is looked up when the person leaves the first field, not per key.
func TestBreachedPasswordHint(t *testing.T) {
	h := toPasswordWith(t, breachConfig(t), false)
	h.typeText(breachedPassword)
	h.waitFor("✗ Not found in known data breaches (checked when you go on)", "✓ Hard to guess")
	h.press(tea.KeyTab)
	v := h.waitFor("✗ Not found in known data breaches\n")
	if strings.Contains(v, "checked when you go on") {
		t.Fatal("the verdict is not shown")
	}
	// A new password is a new question.
	h.press(tea.KeyTab, tea.ModShift)
	h.typeText("x")
	h.waitFor("✗ Not found in known data breaches (checked when you go on)")
	h.enter()
	h.waitFor("✓ Not found in known data breaches")
	h.typeText(breachedPassword + "x")
	h.enter()
	h.waitFor("Your password has been reset")
	if h.dir.password("alice") != breachedPassword+"x" {
		t.Fatal("the password was not set")
	}
}

// Submitting a breached password names the rule.
func TestBreachedPasswordRefused(t *testing.T) {
	h := toPasswordWith(t, breachConfig(t), false)
	h.setPassword(breachedPassword)
	h.waitFor("Not met: Not found in known data breaches")
	if h.dir.password("alice") != "" {
		t.Fatal("the password was set")
	}
}

// The strength rule says why while the person types.
func TestStrengthHint(t *testing.T) {
	h := toPassword(t)
	// Neutral until something is typed.
	h.waitFor("· Hard to guess (strength 3 of 4 or more)", "· An uncommon password")
	// A common password gets one verdict: common, not also "weak because
	// common".
	h.typeText("Password12345678")
	v := h.waitFor("✗ An uncommon password")
	if strings.Contains(v, "Hard to guess") {
		t.Fatalf("two verdicts for a common password:\n%s", v)
	}
	h.typeText("x")
	h.waitFor("✓ An uncommon password", "Hard to guess (strength 3 of 4 or more)")
}

// With the list and the demo phone, every rule still shows at 80x24.
func TestPasswordScreenFits(t *testing.T) {
	h := toPasswordWith(t, breachConfig(t), true)
	h.typeText("Abc")
	h.waitFor("✓ An upper case letter", "Not found in known data breaches", "· Both passwords match", "Demo phone")
	h.capture("password with a breached-password list", 80, 24)
}
