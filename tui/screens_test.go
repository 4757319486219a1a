package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

// capture checks the frame fills the window exactly and logs it (go test -v
// shows every screen as text).
func (h *harness) capture(name string, width, height int) {
	h.t.Helper()
	v := h.view()
	lines := strings.Split(v, "\n")
	if len(lines) != height {
		h.t.Errorf("%s: %d lines, want %d", name, len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			h.t.Errorf("%s: line %d is %d columns: %q", name, i, w, l)
		}
	}
	h.t.Logf("%s at %dx%d:\n%s", name, width, height, v)
}

// TestScreensAt80x24 walks every screen in demo mode at 80x24.
func TestScreensAt80x24(t *testing.T) {
	cfg := flow.Config{SecretKey: testKey, EmailEnabled: true}
	h := start(t, cfg, Options{SignInURL: "https://myapps.example.com"}, true)
	h.waitFor("Who are you?", "Email or Username", "Type the 5 digits", "Demo mode: no real messages are sent")
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.capture("identify", 80, 24)

	// Past the CAPTCHA without reading it: start again with it off.
	h = start(t, testConfig(), Options{SignInURL: "https://myapps.example.com"}, true)
	h.waitFor("Who are you?")
	h.capture("identify without CAPTCHA", 80, 24)
	h.identify("alice")
	h.capture("methods", 80, 24)
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550180")
	h.waitValue("4155550180")
	h.capture("number", 80, 24)
	h.enter()
	h.waitFor("Enter your verification code", "Text message to +14155550180:")
	h.capture("code (text)", 80, 24)
	h.press(tea.KeyTab)
	h.press(tea.KeyTab)
	h.waitView("the focus on the second link", func(string) bool { return h.cursor() != nil && h.cursor().X > 20 })
	h.enter()
	h.waitFor("Please choose the contact method")
	h.choose("Call my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550180")
	h.enter()
	h.waitFor("We're calling your phone", "Keypad")
	h.capture("waiting (call)", 80, 24)
	h.typeText(h.shownNumber())
	h.enter()
	h.waitFor("Enter new password")
	h.typeText("Abc")
	h.waitFor("✓ An upper case letter")
	h.capture("password", 80, 24)
	h.typeText("-Vrilk-Tosquen-9")
	h.enter()
	h.typeText("Abc-Vrilk-Tosquen-9")
	h.enter()
	h.waitFor("Your password has been reset")
	h.capture("done", 80, 24)
}

func TestPushAndTOTPScreens(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("carol")
	h.choose("Approve a notification on my authenticator app")
	h.waitFor("Tap a number:")
	h.capture("waiting (push)", 80, 24)
	h.press('b')
	h.waitFor("Please choose the contact method", "The notification has closed.")
	h.choose("Enter a code from my authenticator app")
	h.waitFor("Authenticator app, code for carol:")
	h.capture("code (authenticator)", 80, 24)
}

func TestSideBySidePhone(t *testing.T) {
	h := start(t, testConfig(), Options{}, true, 120, 30)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Email to alice@example.com:", "Demo phone")
	h.capture("code (email) beside the phone", 120, 30)
}

func TestSmallWindowCaptures(t *testing.T) {
	h := start(t, testConfig(), Options{}, false, 60, 10)
	v := h.waitFor("Please enlarge the window to at least 80x24.")
	if h.cursor() != nil {
		t.Fatal("a cursor on the enlarge message")
	}
	t.Logf("too small at 60x10:\n%s", v)
}
