package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// TestBeginRefused: when no session may begin (here: too many from one
// address), the wizard says why and when, and Enter tries again.
func TestBeginRefused(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.SessionsPerSource = flow.Rate{Count: 1, Per: time.Hour}
	h := start(t, cfg, Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200"}, Remote: true}, false)
	h.waitFor("Who are you?")
	h.press(tea.KeyEscape)
	v := h.waitFor("We can't start a reset right now",
		"Too many new sessions from your address. Please try again in 60 minutes.", "Press Enter to try again.")
	first := ref(v)
	if first == "" {
		t.Fatalf("no support code:\n%s", v)
	}
	h.enter()
	h.waitView("a new refusal", func(v string) bool { return ref(v) != first })
	h.waitFor("Too many new sessions from your address.")
	if w := h.stop(); w.e.sess != nil {
		t.Fatal("a session began")
	}
}
