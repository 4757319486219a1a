package tui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

func (h *harness) rawView() string {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.raw
}

// plainOK checks a plain-mode frame as drawn: no escape sequence, no box
// drawing, 80x24 at most, and every string of want on it (on one line or
// across wrapped lines). It logs the frame (go test -v shows every screen).
func plainOK(t *testing.T, name, raw string, want ...string) {
	t.Helper()
	if strings.ContainsRune(raw, 0x1b) {
		t.Errorf("%s: an escape sequence in plain mode: %q", name, raw)
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r >= 0x2500 && r <= 0x257f }); i >= 0 {
		t.Errorf("%s: box drawing %q in plain mode:\n%s", name, []rune(raw[i:])[0], raw)
	}
	lines := strings.Split(raw, "\n")
	if len(lines) > 24 && !strings.HasSuffix(name, "120x30") {
		t.Errorf("%s: %d lines", name, len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("%s: line %d is %d columns: %q", name, i, w, l)
		}
	}
	flat := strings.Join(strings.Fields(raw), " ")
	for _, s := range want {
		if !strings.Contains(raw, s) && !strings.Contains(flat, s) {
			t.Errorf("%s: %q is missing:\n%s", name, s, raw)
		}
	}
	t.Logf("%s, plain, 80x24:\n%s", name, raw)
}

// plainScreen waits for want on the plain view and checks the frame.
func (h *harness) plainScreen(name string, want ...string) string {
	h.t.Helper()
	h.waitFor(want...)
	raw := h.rawView()
	want = append(want, "Support code: "+ref(raw))
	if !strings.HasPrefix(name, "identify") {
		want = append(want, "Esc: ") // back or start over; the first screen is the start
	}
	plainOK(h.t, name, raw, want...)
	if ref(raw) == "" {
		h.t.Errorf("%s: no support code:\n%s", name, raw)
	}
	return raw
}

var plainNumberRE = regexp.MustCompile(`Number: (\d+)`)

func (h *harness) plainShownNumber() string {
	h.t.Helper()
	m := plainNumberRE.FindStringSubmatch(h.waitFor("Waiting for your answer.", "Number: "))
	if m == nil {
		h.t.Fatalf("no number on the waiting screen:\n%s", h.view())
	}
	return m[1]
}

func plainOpts(o Options) Options {
	o.Plain = true
	return o
}

// TestPlainIdentifyWithCaptcha: the picture stays, introduced by a sentence
// that says how to get a new one.
func TestPlainIdentifyWithCaptcha(t *testing.T) {
	cfg := flow.Config{SecretKey: testKey, EmailEnabled: true}
	h := start(t, cfg, plainOpts(Options{}), true)
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.plainScreen("identify", "Get back into your account", "Demo mode: no real messages are sent",
		"Who are you?", "Email or Username", "Type the 5 digits of the picture below. Ctrl+R draws a new picture.",
		"Type the 5 digits", "Enter: next", "Ctrl+R: new picture", "Ctrl+C: quit", "F2: phone")
	// A wrong answer is announced as an error, and a new picture drawn.
	h.typeText("alice")
	h.enter()
	h.typeText("00000")
	h.enter()
	raw := h.plainScreen("identify, wrong picture", "Error: ")
	if picture(raw) == "" {
		t.Errorf("no picture after a wrong answer:\n%s", raw)
	}
}

// TestPlainScreens walks every screen of a reset in plain mode at 80x24.
func TestPlainScreens(t *testing.T) {
	h := start(t, testConfig(), plainOpts(Options{SignInURL: "https://myapps.example.com"}), true)
	h.plainScreen("identify without CAPTCHA", "Who are you?",
		"To recover your account, begin by entering your email or username.", "Email or Username", "Enter: next")
	h.identify("alice")
	h.plainScreen("methods", "Step 2 of 3 · Choose how to verify",
		"Please choose the contact method we should use for verification:",
		"(*) Text my mobile phone *****80", "( ) Call my mobile phone *****80", "( ) Call my office phone *****23",
		"( ) Email my alternate email", "a***@example.com", "Up/Down: choose", "Enter: continue",
		"Demo phone:", "F2: phone", "No messages yet.")
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550180")
	h.plainScreen("number", "Step 2 of 3 · Verify by text", "Text my mobile phone",
		"In order to protect your account, we need you to enter your complete mobile phone number (*****80) below.",
		"Enter your phone number", "> [4155550180", "[Choose another method]", "Enter: send text", "Tab: other method", "Esc: back")
	h.press(tea.KeyTab)
	h.plainScreen("number, link focused", "[Choose another method] (selected)")
	h.press(tea.KeyTab)
	h.enter()
	h.plainScreen("code (text)", "We've sent you a text message containing a verification code to your phone.",
		"Enter your verification code", "[Send a new code (in 60 s)] (not yet)", "[Choose another method]",
		"Enter: verify", "Ctrl+R: new code", "Text message to +14155550180:")
	h.press('r', tea.ModCtrl)
	h.plainScreen("code, a new code too soon", "Note: You can ask for a new code in", "[Send a new code (in ")
	h.typeText("00000000")
	h.enter()
	h.plainScreen("code, wrong", "Error: That code isn't right.")
	h.press(tea.KeyTab)
	h.press(tea.KeyTab)
	h.plainScreen("code, second link focused", "(not yet)   [Choose another method] (selected)")
	h.enter()
	h.waitFor("Please choose the contact method")
	h.choose("Call my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550180")
	h.enter()
	h.plainScreen("waiting (call)", "Call my mobile phone", "We're calling your phone. Please answer it to continue.",
		"When the call asks for it, key in this number on the phone's keypad:", "Number: ",
		"Waiting for your answer.", "Esc: back", "Demo phone:", "F2: back to the form", "0-9: key in", "Incoming call to", "Keypad")
	h.typeText(h.plainShownNumber())
	h.enter()
	h.waitFor("Enter new password")
	h.typeText("Abc")
	h.plainScreen("password", "Step 3 of 3 · New password",
		"Enter new password", "> [***", "Confirm new password", "Your new password needs:",
		"[met]     An upper case letter", "[met]     A lower case letter", "[not met] At least",
		"[not met] A digit", "[met]     Free of your name and username", "[met]     An uncommon password",
		"[not met] Hard to guess", "[to do]   Both passwords match", "Enter: next", "Ctrl+T: show password", "Tab: field")
	if strings.Contains(h.view(), "At most") {
		t.Error("the longest length is shown while the password is far from it")
	}
	h.typeText("-Vrilk-Tosquen-9")
	h.enter()
	h.typeText("Abc-Vrilk-Tosquen-9")
	h.enter()
	h.plainScreen("done", "Your password has been reset",
		"To sign in with your new password, go to https://myapps.example.com", "Enter: close")
}

func TestPlainPush(t *testing.T) {
	h := start(t, testConfig(), plainOpts(Options{}), true)
	h.identify("carol")
	h.plainScreen("methods, two steps", "Verification step 1", "Step 2 of 4 · Choose how to verify")
	h.choose("Approve a notification on my authenticator app")
	h.plainScreen("waiting (push)", "We've sent a notification to your authenticator app. Tap the number shown below.",
		"Number: ", "Waiting for your answer.", "Tap a number:", "1-3: tap", "F2: back to the form")
	h.press('b')
	h.plainScreen("methods after the push", "The notification has closed.")
	h.choose("Enter a code from my authenticator app")
	h.plainScreen("code (authenticator)", "Enter the code displayed in your authenticator app.",
		"Authenticator app, code for carol:")
}

func TestPlainRefused(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.SessionsPerSource = flow.Rate{Count: 1, Per: time.Hour}
	h := start(t, cfg, plainOpts(Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200"}, Remote: true}), false)
	h.waitFor("Who are you?")
	h.press(tea.KeyEscape)
	h.plainScreen("refused", "We can't start a reset right now",
		"Too many new sessions from your address. Please try again in 60 minutes.",
		"Press Enter to try again.", "Enter: try again", "Ctrl+C: hang up")
}

// TestPlainAnnouncements draws the notices and "One moment..." directly:
// each is a line of its own that says what kind it is.
func TestPlainAnnouncements(t *testing.T) {
	h := start(t, testConfig(), plainOpts(Options{}), false)
	h.waitFor("Who are you?")
	w := h.stop()
	for _, c := range []struct {
		n    *notice
		busy bool
		want string
	}{
		{&notice{text: "This reset has ended. Please start again.", err: true}, false, " Error: This reset has ended. Please start again."},
		{&notice{text: "Verification step 1 is done. Choose a second method."}, false, " Note: Verification step 1 is done. Choose a second method."},
		{nil, true, "Note: One moment..."},
	} {
		w.notice, w.e.busy = c.n, c.busy
		raw := w.View().Content
		plainOK(t, c.want, raw, c.want)
		if len(strings.Split(raw, "\n")) != 24 {
			t.Errorf("%q: not 24 lines", c.want)
		}
	}
}

// TestPlainWide keeps the phone below the form at any width: a box beside
// it would mix the two on every line.
func TestPlainWide(t *testing.T) {
	h := start(t, testConfig(), plainOpts(Options{}), true, 120, 30)
	h.identify("alice")
	v := h.waitFor("Demo phone:")
	plainOK(t, "methods at 120x30", h.rawView(), "Demo phone:")
	if strings.Count(v, "\n") != 29 {
		t.Errorf("not 30 lines:\n%s", v)
	}
}

// TestPlainWaitingDoesNotAnimate: no spinner ticks in plain mode.
func TestPlainWaitingDoesNotAnimate(t *testing.T) {
	h := start(t, testConfig(), plainOpts(Options{}), true)
	h.identify("carol")
	h.choose("Approve a notification on my authenticator app")
	h.waitFor("Waiting for your answer.", "Tap a number:")
	time.Sleep(100 * time.Millisecond)
	before := h.messages()
	time.Sleep(600 * time.Millisecond)
	if n := h.messages() - before; n != 0 {
		t.Fatalf("%d messages on the waiting screen in plain mode", n)
	}
}

// TestPlainOnTheConsole: plain mode on the Linux console draws the CAPTCHA
// with half blocks (block elements, not box drawing) and words for the keys.
func TestPlainOnTheConsole(t *testing.T) {
	cfg := flow.Config{SecretKey: testKey}
	h := startEnv(t, cfg, plainOpts(Options{}), false, []string{"TERM=linux"})
	h.waitView("the half-block picture", func(v string) bool { return strings.ContainsAny(v, "▀▄█") })
	h.plainScreen("identify on the console", "Type the 5 digits of the picture below.",
		"Type the 5 digits", "Ctrl+R: new picture")
}
