package tui

import "testing"

// TestNoticeOnDemoPhone: after a reset the demo phone shows the notice
// that went to the person's phone.
func TestNoticeOnDemoPhone(t *testing.T) {
	h := start(t, testConfig(), Options{}, true, 120, 30)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.setPassword(goodPassword)
	h.waitFor("Your password has been reset", "Text message to +14155550180:", "Your password was reset on")
}
