package tui

import (
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

// The wizard is laid out in a column of 80 cells; the demo phone goes
// beside it from sideBySide columns, below it otherwise.
const (
	columnWidth = 80
	sideBySide  = 110
	phoneWidth  = 40
	title       = "Get back into your account"
	demoBanner  = "Demo mode: no real messages are sent"
	enlarge     = "Please enlarge the window to at least 80x24."
)

// hint is one key of the footer; lower prio numbers stay when room is short.
type hint struct {
	key, what string
	prio      int
}

// View draws the frame: header, the screen, the demo phone, the notice and
// the footer, and places the real terminal cursor in the focused field.
func (w *Wizard) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.WindowTitle = title
	if w.tooSmall() {
		v.Content = w.smallView()
		return v
	}
	// Plain mode keeps the phone below: a box beside the form would
	// interleave the two in every line a screen reader reads.
	side := w.phone != nil && w.width >= sideBySide && !w.e.theme.plain
	below := w.phone != nil && !side
	header, footer := w.header(), w.footer()
	room := w.height - len(header) - len(footer)
	bodyRoom := room
	if below {
		bodyRoom -= 2 // the phone's title and one line at least
	}
	b := w.screen.View(columnWidth, bodyRoom)
	bl := b.lines[:min(len(b.lines), room)]
	var cursor *tea.Position
	if b.cursor != nil && b.cursor.Y < len(bl) {
		cursor = &tea.Position{X: b.cursor.X, Y: b.cursor.Y + len(header)}
	}
	var pl []string
	var pc *tea.Position
	if below {
		pl, pc = w.phoneBelow(min(room-len(bl), 1+w.phoneLines()))
	}
	lines := append(append([]string{}, header...), bl...)
	for len(lines) < w.height-len(footer)-len(pl) {
		lines = append(lines, "")
	}
	if pc != nil {
		pc = &tea.Position{X: pc.X, Y: pc.Y + len(lines)}
	}
	lines = append(append(lines, pl...), footer...)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, columnWidth, "")
	}
	content := strings.Join(lines, "\n")
	if side {
		var box string
		box, pc = w.phoneBeside(w.height)
		content = lipgloss.JoinHorizontal(lipgloss.Top, lipgloss.NewStyle().Width(columnWidth+2).Render(content), box)
		if pc != nil {
			pc = &tea.Position{X: columnWidth + 2 + pc.X, Y: pc.Y}
		}
	}
	if w.phone != nil && w.phone.active() {
		cursor = pc
	}
	v.Content = content
	if cursor != nil {
		v.Cursor = tea.NewCursor(cursor.X, cursor.Y)
		v.Cursor.Blink = false
	}
	return v
}

// smallView asks for a bigger window, fitted to whatever is there.
func (w *Wizard) smallView() string {
	s := lipgloss.NewStyle().Width(max(w.width, 1)).Render(enlarge)
	lines := strings.Split(s, "\n")
	if len(lines) > w.height {
		lines = lines[:max(w.height, 1)]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, max(w.width, 1), "")
	}
	return strings.Join(lines, "\n")
}

// header is the title (and the demo banner), the breadcrumb and a rule.
func (w *Wizard) header() []string {
	t := w.e.theme
	top := t.title.Render(title)
	if w.phone != nil {
		gap := columnWidth - 2 - lipgloss.Width(title) - lipgloss.Width(demoBanner)
		top += strings.Repeat(" ", gap) + t.info.Render(demoBanner)
	}
	if t.plain {
		return []string{" " + top, " " + w.breadcrumb(), ""}
	}
	return []string{" " + top, " " + w.breadcrumb(), t.rule.Render(strings.Repeat(ruleChar, columnWidth))}
}

// breadcrumb shows the trail on the verification and password screens, the
// current step in bold and underlined.
func (w *Wizard) breadcrumb() string {
	t := w.e.theme
	var now int
	switch w.step {
	case flow.StepChooseMethod, flow.StepConfirmNumber, flow.StepEnterCode, flow.StepWaiting:
		now = w.e.st.Verification - 1
	case flow.StepSetPassword:
		now = len(w.e.crumbs) - 1
	default:
		return ""
	}
	parts := make([]string, len(w.e.crumbs))
	for i, c := range w.e.crumbs {
		if i == now && t.plain {
			parts[i] = c + plainNow
		} else if i == now {
			parts[i] = t.crumbNow.Render(c)
		} else {
			parts[i] = t.crumb.Render(c)
		}
	}
	return strings.Join(parts, t.crumb.Render(" > "))
}

// footer is the notice, a rule carrying the support code, and the keys.
func (w *Wizard) footer() []string {
	t := w.e.theme
	var n string
	switch {
	case w.notice != nil && t.plain:
		n = announce(w.notice.text, w.notice.err)
	case w.e.busy && t.plain:
		n = announce("One moment...", false)
	case w.notice != nil:
		n = w.notice.text
		if w.notice.err {
			n = t.errText.Render(n)
		} else {
			n = t.info.Render(n)
		}
	case w.e.busy:
		// A step can take a second (the same time for every login): say so.
		n = t.info.Render("One moment...")
	}
	note := strings.Split(lipgloss.NewStyle().Width(columnWidth-2).Render(n), "\n")
	for i := range note {
		note[i] = " " + note[i]
	}
	if len(note) > 2 {
		note = note[:2]
	}
	ref := " Support code: " + w.e.st.Ref + " "
	if t.plain {
		for i := range note {
			note[i] = strings.TrimRight(note[i], " ")
		}
		return append(note, strings.TrimRight(ref, " "), " "+w.keys())
	}
	rule := t.rule.Render(strings.Repeat(ruleChar, columnWidth-lipgloss.Width(ref)-2)) + ref + t.rule.Render(ruleChar+ruleChar)
	return append(note, rule, " "+w.keys())
}

// keys lists the footer keys that fit, most important first kept.
func (w *Wizard) keys() string {
	t := w.e.theme
	hs := append([]hint{}, w.screen.Keys()...)
	hs = append(hs, hint{"Esc", "start over", 2})
	switch {
	case w.opts.Origin.Channel == flow.Kiosk:
	case w.opts.Remote:
		hs = append(hs, hint{"Ctrl+C", "hang up", 3})
	default:
		hs = append(hs, hint{"Ctrl+C", "quit", 3})
	}
	if w.phone != nil {
		hs = append(hs, hint{"F2", "phone", 1})
	}
	order := make([]int, len(hs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return hs[order[a]].prio < hs[order[b]].prio })
	keep := map[int]bool{}
	width := 0
	for _, i := range order {
		wd := lipgloss.Width(hs[i].key+" "+hs[i].what) + 3
		if width+wd > columnWidth-2+3 {
			continue
		}
		width += wd
		keep[i] = true
	}
	var parts []string
	var kept []hint
	for i, h := range hs {
		if keep[i] {
			parts = append(parts, t.key.Render(h.key)+" "+h.what)
			kept = append(kept, h)
		}
	}
	if t.plain {
		return plainKeys(kept)
	}
	return strings.Join(parts, t.hint.Render(" · "))
}

// phoneLines is how many lines the phone would like below the wizard.
func (w *Wizard) phoneLines() int {
	l, _ := w.phone.lines(columnWidth-4, 8)
	return len(l)
}

// phoneBelow draws the phone under the wizard in height lines: a titled
// rule, then its content.
func (w *Wizard) phoneBelow(height int) ([]string, *tea.Position) {
	if height <= 0 {
		return nil, nil
	}
	t := w.e.theme
	name := " Demo phone (F2) "
	if w.phone.active() {
		name = " Demo phone (F2 back to the form) "
	}
	head := t.rule.Render(ruleChar+ruleChar) + t.heading.Render(name) + t.rule.Render(strings.Repeat(ruleChar, columnWidth-2-lipgloss.Width(name)))
	if t.plain {
		head = strings.TrimSpace(name) + ":"
	}
	content, cur := w.phone.lines(columnWidth-4, height-1)
	out := []string{head}
	for _, l := range content {
		out = append(out, "  "+l)
	}
	if cur != nil {
		cur = &tea.Position{X: cur.X + 2, Y: cur.Y + 1}
	}
	return out, cur
}

// phoneBeside draws the phone as a box right of the wizard.
func (w *Wizard) phoneBeside(height int) (string, *tea.Position) {
	t := w.e.theme
	width := min(phoneWidth, w.width-columnWidth-2)
	name := "Demo phone"
	if w.phone.active() {
		name += " (F2 back to the form)"
	} else {
		name += " (F2)"
	}
	content, cur := w.phone.lines(width-4, height-4)
	inner := append([]string{t.heading.Render(name), ""}, content...)
	border := lipgloss.RoundedBorder()
	if t.ascii {
		border = lipgloss.NormalBorder()
	}
	box := lipgloss.NewStyle().Border(border).BorderForeground(t.rule.GetForeground()).Padding(0, 1).Width(width).Render(strings.Join(inner, "\n"))
	if cur != nil {
		cur = &tea.Position{X: cur.X + 2, Y: cur.Y + 3}
	}
	return box, cur
}
