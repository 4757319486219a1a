package sshserver

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/i18n"
)

// RestartNotice is what every session is shown when the server begins to
// shut down.
const RestartNotice = "The service is restarting. If you were setting your password, it will finish; otherwise please connect again in a minute."

// localNotice words a notice for the session's language: the server's
// own notices are in the catalogues, any other text is shown as given.
func localNotice(text string, tr *i18n.Printer) string {
	if text == RestartNotice {
		return tr.T("sshserver.restart_notice")
	}
	return text
}

// noticeMsg asks a session's guard to show text over the screen.
type noticeMsg struct{ text string }

// quietAfterNotice reports whether msg is input to drop once a notice is
// shown: every key but Ctrl+C (which hangs up), pastes and the mouse.
func quietAfterNotice(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return msg.String() != "ctrl+c"
	case tea.KeyReleaseMsg, tea.PasteMsg, tea.PasteStartMsg, tea.PasteEndMsg, tea.MouseMsg:
		return true
	}
	return false
}

// withNotice puts notice, wrapped to width, in reverse video over the
// first lines of content: the rest of the screen stays where it was, and
// so does the cursor. Reverse video is no colour, so it shows under
// NO_COLOR and on the Linux console too.
func withNotice(content, notice string, width int) string {
	if width < 20 {
		width = defaultWidth
	}
	var top []string
	for _, l := range strings.Split(ansi.Wrap(notice, width-2, ""), "\n") {
		pad := max(width-1-ansi.StringWidth(l), 0)
		top = append(top, "\x1b[7m "+l+strings.Repeat(" ", pad)+"\x1b[m")
	}
	lines := strings.Split(content, "\n")
	if len(lines) > len(top) {
		return strings.Join(append(top, lines[len(top):]...), "\n")
	}
	return strings.Join(top, "\n")
}
