package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

const goodPassword = "Correct-Horse-42x"

func TestTextMethodFullReset(t *testing.T) {
	h := start(t, testConfig(), Options{SignInURL: "https://myapps.example.com"}, false)
	h.identify("alice")
	h.waitFor("(*) Text my mobile phone", "*****80", "Email my alternate email", "Step 2 of 3 · Choose how to verify")
	h.choose("Text my mobile phone")
	h.waitFor("In order to protect your account, we need you to enter your complete mobile phone number (*****80) below.")
	h.typeText("(415) 555-0180")
	h.enter()
	h.waitFor("We've sent you a text message containing a verification code to your phone.", "Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.setPassword(goodPassword)
	v := h.waitFor("Your password has been reset", "To sign in with your new password, go to https://myapps.example.com")
	if strings.Contains(v, goodPassword) {
		t.Fatal("the password is on the screen")
	}
	h.enter()
	w := h.final()
	if got := h.dir.password("alice"); got != goodPassword {
		t.Fatalf("directory got %q", got)
	}
	if w.e.st.Step != flow.StepDone {
		t.Fatalf("step %v", w.e.st.Step)
	}
}

// TestTextUndelivered: the provider's report that the text did not arrive
// brings the person from the code screen back to the methods, with why.
func TestTextUndelivered(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	h.choose("Text my mobile phone")
	h.waitFor("complete mobile phone number (*****80)")
	h.typeText("(415) 555-0180")
	h.enter()
	h.waitFor("Enter your verification code")
	d, _ := h.out.last()
	if d.Method != flow.TextMobile || d.Token == "" {
		t.Fatalf("delivery %+v", d)
	}
	if err := h.eng.Approve(context.Background(), d.Token, flow.AnswerUnreachable); err != nil {
		t.Fatal(err)
	}
	h.waitFor("We couldn't reach you that way right now", "(*) Text my mobile phone", "Email my alternate email")
}

func TestCallAnsweredOnDemoPhone(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.waitFor("Demo mode: no real messages are sent", "Demo phone", "F2 phone", "No messages yet.")
	h.identify("alice")
	h.choose("Call my mobile phone")
	h.waitFor("complete mobile phone number (*****80)")
	h.typeText("+1 415 555 0180")
	h.enter()
	h.waitFor("We're calling your phone. Please answer it to continue.", "Incoming call to +14155550180", "Keypad")
	n := h.shownNumber()
	// The ringing phone has the focus: the digits go to its keypad.
	h.typeText(n)
	h.enter()
	h.waitFor("Enter new password", "Step 3 of 3 · New password")
}

func TestPushApprovedByToken(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("carol")
	h.choose("Approve a notification on my authenticator app")
	h.waitFor("We've sent a notification to your authenticator app. Tap the number shown below.")
	n := h.shownNumber()
	d, _ := h.out.last()
	if d.Method != flow.PushApp || len(d.Choices) != 3 {
		t.Fatalf("delivery %+v", d)
	}
	if err := h.eng.Approve(context.Background(), d.Token, n); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Verification step 1 is done. Choose a second method.")
}

func TestPushTappedOnDemoPhone(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("carol")
	h.choose("Approve a notification on my authenticator app")
	n := h.shownNumber()
	h.waitFor("Tap a number:", "[1]", "[3]")
	d, _ := h.out.last()
	for i, c := range d.Choices {
		if c == n {
			h.typeText(string(rune('1' + i)))
		}
	}
	h.waitFor("Verification step 1 is done. Choose a second method.")
}

func TestWrongPushNumberBackToList(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("carol")
	h.choose("Approve a notification on my authenticator app")
	n := h.shownNumber()
	d, _ := h.out.last()
	for i, c := range d.Choices {
		if c != n {
			h.typeText(string(rune('1' + i)))
			break
		}
	}
	h.waitFor("That wasn't the number on your screen. Choose a method to try again.", "Please choose the contact method")
}

func TestTOTP(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("carol")
	h.choose("Enter a code from my authenticator app")
	h.waitFor("Enter the code displayed in your authenticator app.", "Authenticator app, code for carol:")
	c, err := totp.Code(totpSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor(c[:3] + " " + c[3:]) // the demo authenticator shows it
	h.typeText(c)
	h.enter()
	h.waitFor("Verification step 1 is done. Choose a second method.")
}

func TestEmail(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("We've sent an email message containing a verification code to your inbox (a***@example.com).")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("Enter new password")
}

func TestTwoGatePolicy(t *testing.T) {
	cfg := testConfig()
	cfg.MethodsRequired = 2
	h := start(t, cfg, Options{}, false)
	h.identify("carol")
	h.waitFor("Step 2 of 4 · Choose how to verify", "Verification step 1")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	v := h.waitFor("Verification step 2", "Verification step 1 is done. Choose a second method.")
	if strings.Contains(v, "Email my alternate email") {
		t.Fatalf("a used method is offered again:\n%s", v)
	}
	h.choose("Enter a code from my authenticator app")
	h.waitFor("Enter the code displayed in your authenticator app.")
	c, _ := totp.Code(totpSecret, time.Now())
	h.typeText(c)
	h.enter()
	h.waitFor("Enter new password", "Step 4 of 4 · New password")
}

// Esc where no step back exists asks first; any key but y takes it back,
// y starts over with every field empty.
func TestEscStartsOver(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	first := h.view()
	h.press(tea.KeyEscape)
	h.waitFor("Start over? What you did so far is lost. y/N")
	h.press('n')
	v := h.waitFor("Enter continue")
	if ref(v) != ref(first) || !strings.Contains(v, "Please choose the contact method") {
		t.Fatalf("n did not keep the session:\n%s", v)
	}
	h.press(tea.KeyEscape)
	h.waitFor("Start over? What you did so far is lost. y/N")
	h.press('y')
	v = h.waitFor("Who are you?")
	if strings.Contains(v, "alice") {
		t.Fatalf("the login survived Esc:\n%s", v)
	}
	if ref(first) == ref(v) {
		t.Fatal("Esc kept the session")
	}
	w := h.stop()
	if s := w.screen.(*identify); s.login.value() != "" {
		t.Fatalf("login field holds %q", s.login.value())
	}
}

func ref(view string) string {
	i := strings.Index(view, "Support code: ")
	if i < 0 {
		return ""
	}
	return view[i+len("Support code: "):][:8]
}

func TestWrongNumber(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550199")
	h.enter()
	v := h.waitFor("That number doesn't match the one we have. Check it and try again.")
	// The error is on the row under the field, with a glyph and a word,
	// and the next edit clears it.
	under(t, v, "┃ 4155550199", "✗ Error: That number doesn't match the one we have.")
	h.press(tea.KeyBackspace)
	h.waitView("the error cleared by the edit", func(v string) bool {
		return !strings.Contains(v, "doesn't match") && strings.Contains(v, "┃ 415555019\n")
	})
}

// under checks that the line after the one holding value starts with want
// (after the indent).
func under(t *testing.T, v, value, want string) {
	t.Helper()
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		if strings.Contains(l, value) && i+1 < len(lines) {
			if got := strings.TrimSpace(lines[i+1]); !strings.HasPrefix(got, want) {
				t.Fatalf("under %q: %q, want %q:\n%s", value, got, want, v)
			}
			return
		}
	}
	t.Fatalf("no %q on the screen:\n%s", value, v)
}

// Esc on the number screen goes back one step, the session kept.
func TestEscBackFromNumber(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	first := ref(h.view())
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number", "Esc back")
	h.press(tea.KeyEscape)
	v := h.waitFor("Please choose the contact method", "Step 2 of 3 · Choose how to verify")
	if ref(v) != first {
		t.Fatal("Esc lost the session")
	}
}

// Esc on the code screen asks before the code sent stops working.
func TestEscOnCodeAsks(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	first := ref(h.view())
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.press(tea.KeyEscape)
	h.waitFor("Back to the methods? The code we sent stops working. y/N")
	h.press(tea.KeyEscape) // not y: stays
	h.waitFor("Enter verify")
	h.typeText(h.out.code(t))
	h.enter()
	v := h.waitFor("Enter new password")
	if ref(v) != first {
		t.Fatal("the session changed")
	}
}

// Esc on the code screen of an authenticator app goes back at once: no
// code was sent, so nothing is lost.
func TestEscBackFromAppCode(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("carol")
	first := ref(h.view())
	h.choose("Enter a code from my authenticator app")
	h.waitFor("Enter the code displayed in your authenticator app.", "Esc back")
	h.press(tea.KeyEscape)
	v := h.waitFor("Please choose the contact method")
	if strings.Contains(v, "stops working") || ref(v) != first {
		t.Fatalf("Esc asked, or lost the session:\n%s", v)
	}
}

func TestWrongCode(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	good := h.out.code(t)
	bad := "00000000"
	if good == bad {
		bad = "11111111"
	}
	h.typeText(bad)
	h.enter()
	v := h.waitFor("That code isn't right. Check it and try again.")
	if strings.Contains(v, bad) {
		t.Fatal("a wrong code stays on the screen")
	}
}

func TestResendCooldown(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.identify("alice")
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("4155550180")
	h.enter()
	// The link is dim with its countdown until a new code may be sent.
	v := h.waitFor("[Send a new code (in ")
	h.press('r', tea.ModCtrl)
	v = h.waitFor("You can ask for a new code in")
	red := newTheme(true, false, false, false).errText.Render("X")
	red = red[:strings.Index(red, "X")]
	if strings.Contains(h.rawView(), red) || strings.Contains(v, "Error:") {
		t.Logf("red is %q", red)
		t.Fatalf("a wait drawn as an error:\n%s", v)
	}
	// It counts down live.
	n := seconds(t, v, "You can ask for a new code in ")
	h.waitView("the countdown to move", func(v string) bool {
		return strings.Contains(v, "You can ask for a new code in ") && seconds(t, v, "You can ask for a new code in ") < n
	})
}

// seconds reads the number after prefix on the screen.
func seconds(t *testing.T, v, prefix string) int {
	t.Helper()
	flat := strings.Join(strings.Fields(v), " ")
	i := strings.Index(flat, prefix)
	if i < 0 {
		t.Fatalf("no %q:\n%s", prefix, v)
	}
	var n int
	fmt.Sscanf(flat[i+len(prefix):], "%d", &n)
	return n
}

func TestPasswordHintsTick(t *testing.T) {
	h := toPassword(t)
	// Neutral until something is typed; the longest length is far away.
	v := h.waitFor("· At least 14 characters", "· An upper case letter", "· A digit", "· Both passwords match")
	if strings.Contains(v, "✗") || strings.Contains(v, "At most") {
		t.Fatalf("a verdict before anything was typed:\n%s", v)
	}
	h.typeText("Abc")
	h.waitFor("✗ At least 14 characters", "✓ An upper case letter", "✓ A lower case letter", "✗ A digit", "· Both passwords match")
	h.typeText("defghijk12345")
	h.waitFor("✓ At least 14 characters", "✓ A digit", "· Both passwords match")
	h.press(tea.KeyTab)
	h.typeText("x")
	h.waitFor("✗ Both passwords match")
	if strings.Contains(h.view(), "Abcdefghijk12345") {
		t.Fatal("the password is shown")
	}
}

func TestPasswordMismatch(t *testing.T) {
	h := toPassword(t)
	h.typeText(goodPassword)
	h.enter()
	h.typeText(goodPassword + "y")
	h.enter()
	v := h.waitFor("The passwords don't match.")
	under(t, v, "Confirm new password", "") // the field's value row
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Confirm new password") && !strings.HasPrefix(strings.TrimSpace(lines[i+2]), "✗ Error: The passwords don't match.") {
			t.Fatalf("the mismatch is not under the confirmation:\n%s", v)
		}
	}
	if h.dir.password("alice") != "" {
		t.Fatal("the password was set")
	}
	// The next edit clears it.
	h.typeText("a")
	h.waitView("the error cleared", func(v string) bool { return !strings.Contains(v, "don't match") })
}

func TestPasswordPolicyNamesRules(t *testing.T) {
	h := toPassword(t)
	h.typeText("short")
	h.enter()
	h.typeText("short")
	h.enter()
	h.waitFor("The password doesn't meet every requirement. Not met: At least 14 characters")
}

// toPassword gets to the password screen by email.
func toPassword(t *testing.T, environ ...string) *harness {
	h := startEnv(t, testConfig(), Options{}, false, environ)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("Enter new password")
	return h
}

func TestASCIIMarksOnLinuxConsole(t *testing.T) {
	h := toPassword(t, "TERM=linux")
	h.waitFor("[to do]   At least 14 characters")
	h.typeText("a")
	h.waitFor("[not met] At least 14 characters")
	h.typeText(goodPassword)
	h.waitFor("[met]     At least 14 characters")
}

func TestEnlargeThenScreen(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.waitFor("Who are you?")
	h.tm.Send(tea.WindowSizeMsg{Width: 79, Height: 24})
	h.waitFor("Please enlarge the window to at least 80x24.")
	h.tm.Send(tea.WindowSizeMsg{Width: 1, Height: 1})
	h.waitView("a 1x1 view", func(v string) bool { return v == "P" })
	h.typeText("alice") // ignored while too small
	h.tm.Send(tea.WindowSizeMsg{Width: 0, Height: 0})
	v := h.waitFor("Who are you?")
	if strings.Contains(v, "alice") {
		t.Fatal("typing went through while the window was too small")
	}
	h.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	v = h.waitFor("Who are you?", "Demo mode")
	if n := len(strings.Split(v, "\n")); n != 24 {
		t.Fatalf("%d lines at 80x24", n)
	}
}

func TestHugePasteIsCut(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.waitFor("Who are you?")
	began := time.Now()
	h.tm.Send(tea.PasteMsg{Content: strings.Repeat("b", 1<<20)})
	h.waitValue("bbbbbbbb")
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("a 1 MB paste took %s", d)
	}
	w := h.stop()
	if n := len([]rune(w.screen.(*identify).login.value())); n != limitLogin {
		t.Fatalf("login has %d characters, want %d", n, limitLogin)
	}
}

func TestPasteStripsControls(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.waitFor("Who are you?")
	h.tm.Send(tea.PasteMsg{Content: "al\x1b[31mi\x07ce\t\r\n\x1b]0;title\x07"})
	h.waitValue("alice")
	w := h.stop()
	if got := w.screen.(*identify).login.value(); got != "alice" {
		t.Fatalf("login is %q", got)
	}
}

func TestCtrlCQuits(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.waitFor("Who are you?")
	h.press('c', tea.ModCtrl)
	w := h.final()
	if !w.finished {
		t.Fatal("the wizard did not close")
	}
	if w.e.sess.State().Step != flow.StepClosed {
		// Cancel runs in the background; give it a moment.
		deadline := time.Now().Add(2 * time.Second)
		for w.e.sess.State().Step != flow.StepClosed && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if w.e.sess.State().Step != flow.StepClosed {
			t.Fatal("the session was not cancelled")
		}
	}
}

func TestIdleTimeoutQuits(t *testing.T) {
	h := start(t, testConfig(), Options{IdleTimeout: 150 * time.Millisecond}, false)
	h.waitFor("Who are you?")
	h.typeText("a")
	w := h.final()
	if !w.finished {
		t.Fatal("idle did not end the program")
	}
}

func TestCaptchaWrongKeepsLogin(t *testing.T) {
	h := start(t, flow.Config{SecretKey: testKey}, Options{}, false)
	h.waitFor("Who are you?", "Type the 5 digits")
	before := h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.typeText("alice")
	h.enter()
	h.typeText("abc")
	h.enter()
	v := h.waitFor("The digits didn't match. Try this new picture.")
	if !hasValue(v, "alice") {
		t.Fatalf("the login is gone:\n%s", v)
	}
	// The error is under the answer's field, whose slots are empty again.
	under(t, v, "┃ _ _ _ _ _", "✗ Error: The digits didn't match.")
	h.waitView("a new picture", func(v string) bool { return picture(v) != picture(before) && picture(v) != "" })
	if hasValue(v, "abc") || hasValue(v, "a b c") {
		t.Fatal("the wrong answer stayed")
	}
	h.press('r', tea.ModCtrl)
	cur := h.view()
	h.waitView("another picture after Ctrl+R", func(v string) bool { return picture(v) != picture(cur) })
}

// picture returns the half-block lines of a view.
func picture(v string) string {
	var b strings.Builder
	for _, l := range strings.Split(v, "\n") {
		if strings.ContainsAny(l, "▀▄█") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestCursorInFocusedField(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.waitFor("Who are you?")
	h.typeText("bob")
	v := h.waitValue("bob")
	c := h.cursor()
	if c == nil {
		t.Fatal("no cursor")
	}
	lines := strings.Split(v, "\n")
	line := []rune(lines[c.Y])
	if string(line[c.X-5:c.X]) != "┃ bob" {
		t.Fatalf("cursor at %d,%d in %q", c.X, c.Y, lines[c.Y])
	}
}

func TestFinalErrorStartsOver(t *testing.T) {
	h := start(t, flow.Config{SecretKey: testKey, CaptchaMaxFailures: 1}, Options{}, false)
	h.waitFor("Type the 5 digits")
	first := h.view()
	h.typeText("alice")
	h.enter()
	h.typeText("abc")
	h.enter()
	h.waitFor("The digits didn't match.")
	h.typeText("abc")
	h.enter()
	v := h.waitFor("Too many wrong answers. Please start again. (support code "+ref(first)+")", "Step 1 of 3 · Who are you")
	if hasValue(v, "alice") || ref(v) == ref(first) {
		t.Fatalf("not a fresh start:\n%s", v)
	}
}

func TestKioskIgnoresCtrlC(t *testing.T) {
	h := start(t, testConfig(), Options{Origin: flow.Origin{Channel: flow.Kiosk, Remote: "lobby"}}, false)
	v := h.waitFor("Who are you?")
	if strings.Contains(v, "Ctrl+C") {
		t.Fatal("a kiosk offers Ctrl+C")
	}
	h.press('c', tea.ModCtrl)
	h.typeText("still here")
	h.waitValue("still here")
}

func TestRemoteHangsUp(t *testing.T) {
	h := start(t, testConfig(), Options{Remote: true, Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.1:5555"}}, false)
	h.waitFor("Ctrl+C hang up")
	h.press('c', tea.ModCtrl)
	if !h.final().finished {
		t.Fatal("Ctrl+C did not hang up")
	}
}

func TestCtrlVDoesNotPaste(t *testing.T) {
	h := start(t, testConfig(), Options{}, false)
	h.waitFor("Who are you?")
	h.typeText("ab")
	h.press('v', tea.ModCtrl)
	h.typeText("c")
	h.waitValue("abc")
	if got := h.stop().screen.(*identify).login.value(); got != "abc" {
		t.Fatalf("login is %q", got)
	}
}

func TestNoColor(t *testing.T) {
	h := startEnv(t, testConfig(), Options{}, true, []string{"NO_COLOR=1", "TERM=xterm-256color"})
	h.waitFor("Who are you?")
	w := h.stop()
	if !w.e.theme.mono {
		t.Fatal("NO_COLOR was not honoured")
	}
	v := w.View().Content
	for _, sgr := range []string{"\x1b[3", "\x1b[9", "38;", "48;"} {
		if strings.Contains(v, sgr) {
			t.Fatalf("colour %q under NO_COLOR", sgr)
		}
	}
}

func TestCodeLeavesThePhone(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Email to alice@example.com:")
	code := h.out.code(t)
	h.typeText(code)
	h.enter()
	v := h.waitFor("Enter new password", "No new messages.")
	if strings.Contains(v, code) {
		t.Fatal("the code is still on the screen")
	}
}

// TestQuietWhileIdle checks nothing ticks on a screen where nothing changes:
// over SSH every frame is bytes on the wire.
func TestQuietWhileIdle(t *testing.T) {
	h := start(t, flow.Config{SecretKey: testKey}, Options{}, true)
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.typeText("alice")
	h.waitValue("alice")
	time.Sleep(100 * time.Millisecond) // let the start-up messages settle
	before := h.messages()
	time.Sleep(500 * time.Millisecond)
	if n := h.messages() - before; n != 0 {
		t.Fatalf("%d messages while idle", n)
	}
}

// The help key lists every key; in a text field "?" is typed instead, and
// F1 still lists them.
func TestHelpKey(t *testing.T) {
	h := start(t, testConfig(), Options{}, true) // the demo phone's key makes the footer too long
	h.identify("alice")
	v := h.waitFor("? all keys")
	if strings.Contains(v, "Ctrl+C quit") {
		t.Fatalf("the short footer has room for every key here; the test wants a cut one:\n%s", v)
	}
	h.press('?')
	h.waitFor("Ctrl+C quit", "Esc start over", "Enter continue")
	h.press('?')
	h.waitView("the short footer again", func(v string) bool { return !strings.Contains(v, "Ctrl+C quit") })
	h.choose("Text my mobile phone")
	h.waitFor("Enter your phone number")
	h.typeText("?")
	h.waitValue("?")
	h.press(tea.KeyF1)
	h.waitFor("Ctrl+C quit")
}
