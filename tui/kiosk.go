package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// ClearAll homes the cursor, erases the screen and erases the saved lines
// (the scrollback): what a kiosk writes between two people.
const ClearAll = "\x1b[H\x1b[2J\x1b[3J"

// kioskState is what a kiosk Wizard keeps besides a normal one.
type kioskState struct {
	tail      []string // the last key presses, for the admin exit
	adminExit bool
}

// AdminExit reports whether the program ended on the kiosk's admin exit
// keys (Options.ExitKeys) rather than for any other reason.
func (w *Wizard) AdminExit() bool { return w.kiosk.adminExit }

// adminExitKey records k on a kiosk and reports whether it completes the
// admin exit sequence. Without ExitKeys it never does.
func (w *Wizard) adminExitKey(k tea.KeyPressMsg) bool {
	want := w.opts.ExitKeys
	if w.opts.Origin.Channel != flow.Kiosk || len(want) == 0 {
		return false
	}
	w.kiosk.tail = append(w.kiosk.tail, k.String())
	if len(w.kiosk.tail) > len(want) {
		w.kiosk.tail = w.kiosk.tail[len(w.kiosk.tail)-len(want):]
	}
	if len(w.kiosk.tail) < len(want) {
		return false
	}
	for i, key := range want {
		if w.kiosk.tail[i] != key {
			return false
		}
	}
	w.kiosk.tail = nil
	w.kiosk.adminExit = true
	return true
}

// scrub ends a kiosk's reset, finished, cancelled or left idle: the old
// session is cancelled, every field and the model's memory of it dropped,
// a new session begun on the first screen, and the screen and its
// scrollback erased before the first screen is drawn again.
func (w *Wizard) scrub() tea.Cmd {
	w.kiosk.tail = nil
	w.notice = nil
	w.task = w.opts.Task
	cmd := w.restart(nil)
	return tea.Batch(cmd, tea.Sequence(tea.Raw(ClearAll), tea.ClearScreen))
}
