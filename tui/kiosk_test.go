package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

func kioskOptions() Options {
	return Options{Origin: flow.Origin{Channel: flow.Kiosk, Remote: "lobby"}, IdleTimeout: 300 * time.Millisecond, ExitKeys: []string{"ctrl+x", "ctrl+x", "ctrl+k"}}
}

// Idle on a kiosk: back to a fresh first screen, the old session cancelled,
// and the program still running.
func TestKioskIdleStartsOver(t *testing.T) {
	h := start(t, testConfig(), kioskOptions(), false)
	h.identify("alice")
	first := h.view()
	v := h.waitFor("Who are you?")
	if strings.Contains(v, "alice") || ref(v) == ref(first) {
		t.Fatalf("not a fresh start:\n%s", v)
	}
	h.typeText("bob")
	h.waitValue("bob")
	w := h.stop()
	if w.AdminExit() {
		t.Fatal("an admin exit nobody typed")
	}
}

// The admin exit keys end the program; the same keys in another order do not.
func TestKioskAdminExit(t *testing.T) {
	h := start(t, testConfig(), kioskOptions(), false)
	h.waitFor("Who are you?")
	h.press('x', tea.ModCtrl)
	h.press('k', tea.ModCtrl)
	h.press('x', tea.ModCtrl)
	h.typeText("z")
	h.waitValue("z")
	h.press('x', tea.ModCtrl)
	h.press('x', tea.ModCtrl)
	h.press('k', tea.ModCtrl)
	w := h.final()
	if !w.AdminExit() || !w.finished {
		t.Fatal("the admin exit keys did not end the kiosk")
	}
}
