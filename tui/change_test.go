package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// A change from its first screen to the end: login and current password
// side by side, a wrong password refused in the words of an unknown
// login and typed again, the rule that the new password differs, and the
// words of a change at the end.
func TestChangeWizard(t *testing.T) {
	opts := Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200"}, Remote: true,
		Task: flow.TaskChange, SignInURL: "https://myapps.example.com"}
	h := start(t, testConfig(), opts, false)
	v := h.waitFor("Change your password", "Email or Username", "Current password", "[Forgot my password]", "[Update my security info]")
	if strings.Contains(v, "Get back into your account") {
		t.Fatalf("the reset's title:\n%s", v)
	}
	h.typeText("alice")
	h.press(tea.KeyTab)
	h.typeText("Wrong-Pass-1")
	h.waitFor("alice", "┃ ************")
	h.enter()
	v = h.waitFor("The username or password is incorrect.")
	if !strings.Contains(v, "✗ Error: The username or password is incorrect.") {
		t.Fatalf("the refusal is not on the error row under the fields:\n%s", v)
	}
	if strings.Contains(h.view(), "*****") {
		t.Fatalf("the wrong password is still in its field:\n%s", h.view())
	}
	// The focus is back on the password, the login kept.
	h.typeText(alicePass)
	h.waitFor("┃ " + strings.Repeat("*", len(alicePass)))
	h.enter()
	h.waitFor("Enter new password", "Differs from your current password")
	h.setPassword("Brand-New-Horse-42")
	h.waitFor("Your password has been changed", "https://myapps.example.com")
	if got := h.dir.password("alice"); got != "Brand-New-Horse-42" {
		t.Fatalf("the directory has %q", got)
	}
	// An unknown login reads the same.
	h = start(t, testConfig(), opts, false)
	h.waitFor("Current password")
	h.typeText("nobody")
	h.press(tea.KeyTab)
	h.typeText("Wrong-Pass-1")
	h.enter()
	h.waitFor("The username or password is incorrect.")
}

// The links on the first screen lead to the other tasks: Tab reaches
// them, Enter begins the task; a task the service does not offer says so
// and links back.
func TestTaskLinks(t *testing.T) {
	opts := Options{Origin: flow.Origin{Channel: flow.Kiosk, Remote: "lobby"}}
	h := start(t, testConfig(), opts, false)
	h.waitFor("Get back into your account", "[Change my password]", "[Update my security info]")
	h.press(tea.KeyTab) // the first link
	h.waitView("the cursor on the first link", func(string) bool { c := h.cursor(); return c != nil && c.Y == 1 })
	h.enter()
	h.waitFor("Change your password", "Current password", "[Forgot my password]")
	h.press(tea.KeyTab)
	h.press(tea.KeyTab)
	h.press(tea.KeyTab) // the second link
	h.enter()
	h.waitFor("Update your security info", "Not available here", "[Forgot my password]", "[Change my password]")
	h.enter() // the first link: the reset
	h.waitFor("Get back into your account", "Who are you?")
	// Esc in a kiosk goes back to the task it started with.
	h.press(tea.KeyTab)
	h.enter()
	h.waitFor("Current password")
	h.press(tea.KeyEscape)
	h.waitFor("Get back into your account", "Who are you?")
}

// The change's first screen with the CAPTCHA, its audio link and the
// longest notice, then the password screen, fit 80x24 in every language,
// styled and plain.
func TestChangeFitsEveryLanguage(t *testing.T) {
	for _, lang := range i18n.Languages() {
		for _, plain := range []bool{false, true} {
			t.Run(lang+map[bool]string{true: " plain"}[plain], func(t *testing.T) {
				tr := i18n.For(lang)
				opts := Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200", Lang: lang}, Remote: true,
					Task: flow.TaskChange, Plain: plain, CaptchaAudioURL: (&audioLinks{}).url, SignInURL: "https://myapps.example.com"}
				h := start(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, opts, true)
				h.waitText(tr.T("tui.title_change"), tr.T("tui.identify.current"), tr.T("tui.task.info"), "https://reset.example.com/captcha/")
				h.waitView("the picture", func(v string) bool { return picture(v) != "" })
				h.frame("sign in", plain)
				h.typeText("alice")
				h.press(tea.KeyTab)
				h.typeText(alicePass)
				h.enter()
				h.typeText("00000")
				h.enter()
				h.waitText(tr.T("flow.captcha.wrong"))
				h.waitView("the picture", func(v string) bool { return picture(v) != "" })
				h.frame("sign in, wrong picture", plain)
				h = start(t, testConfig(), opts, true)
				h.waitText(tr.T("tui.identify.current"))
				h.typeText("carol")
				h.press(tea.KeyTab)
				h.typeText(carolPass)
				h.enter()
				h.waitText(tr.T("tui.password.new"), tr.T("flow.rule.differs"), tr.T("tui.password.expired"))
				h.frame("new password, the old one expired", plain)
				h = start(t, testConfig(), opts, true)
				h.waitText(tr.T("tui.identify.current"))
				h.typeText("alice")
				h.press(tea.KeyTab)
				h.typeText(alicePass)
				h.enter()
				h.waitText(tr.T("tui.password.new"), tr.T("flow.rule.differs"))
				h.frame("new password", plain)
				h.typeText("Brand-New-Horse-42")
				h.enter()
				h.typeText("Brand-New-Horse-42")
				h.enter()
				h.waitText(tr.T("tui.done.changed_title"))
				h.frame("changed", plain)
				opts.Task = flow.TaskInfo
				h = start(t, testConfig(), opts, true)
				h.waitText(tr.T("tui.refused.not_offered"), tr.T("tui.task.reset"), tr.T("tui.task.change"))
				h.frame("a task not offered", plain)
			})
		}
	}
}
