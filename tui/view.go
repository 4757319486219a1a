package tui

import (
	"fmt"
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
	v.WindowTitle = w.e.title()
	if w.tooSmall() {
		v.Content = w.smallView()
		return v
	}
	// Plain mode keeps the phone below: a box beside the form would
	// interleave the two in every line a screen reader reads.
	side := w.phone != nil && w.width >= sideBySide && !w.e.theme.plain
	below := w.phone != nil && !side
	w.cut, w.headCursor = "", nil
	header, footer := w.header(), w.footer()
	room := w.height - len(header) - len(footer)
	// The screen comes first; the phone below gets the lines it leaves.
	b := w.screen.View(columnWidth, room)
	bl := b.lines[:min(len(b.lines), room)]
	if len(b.lines) > room && w.cut == "" {
		w.cut = fmt.Sprintf("%d lines of the screen past the bottom", len(b.lines)-room)
	}
	cursor := w.headCursor
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
		if ansi.StringWidth(l) > columnWidth && w.cut == "" {
			w.cut = fmt.Sprintf("line %d is %d columns: %q", i, ansi.StringWidth(l), ansi.Strip(l))
		}
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
	s := lipgloss.NewStyle().Width(max(w.width, 1)).Render(w.e.t("tui.enlarge"))
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
	title, banner := w.e.title(), w.e.t("tui.demo_banner")
	top := t.title.Render(title)
	if w.phone != nil {
		gap := max(columnWidth-2-lipgloss.Width(title)-lipgloss.Width(banner), 1)
		top += strings.Repeat(" ", gap) + t.info.Render(banner)
	}
	out := []string{" " + top}
	for _, l := range w.breadcrumb() {
		out = append(out, " "+l)
	}
	if t.plain {
		return append(out, "")
	}
	return append(out, t.rule.Render(strings.Repeat(ruleChar, columnWidth)))
}

// breadcrumb shows the trail on the verification and password screens, the
// current step in bold and underlined, wrapped between steps when it is
// too long for one line. It is one empty line on the other screens.
func (w *Wizard) breadcrumb() []string {
	t := w.e.theme
	var now int
	switch w.step {
	case flow.StepEnterCode, flow.StepWaiting:
		now = w.e.st.Verification - 1
		if w.e.st.Registering {
			now = len(w.e.crumbs) - 1
		}
	case flow.StepChooseMethod, flow.StepConfirmNumber:
		now = w.e.st.Verification - 1
	case flow.StepSetPassword:
		now = len(w.e.crumbs) - 1
	default:
		return w.headerLinks()
	}
	parts := make([]string, len(w.e.crumbs))
	for i, c := range w.e.crumbs {
		if i == now && t.plain {
			parts[i] = w.e.t("tui.plain.current", "Text", c)
		} else if i == now {
			parts[i] = t.crumbNow.Render(c)
		} else {
			parts[i] = t.crumb.Render(c)
		}
	}
	sep := t.crumb.Render(" > ")
	lines := []string{""}
	for i, p := range parts {
		last := &lines[len(lines)-1]
		switch {
		case i == 0:
			*last = p
		case lipgloss.Width(*last+sep+p) > columnWidth-1:
			*last += t.crumb.Render(" >")
			lines = append(lines, p)
		default:
			*last += sep + p
		}
	}
	return lines
}

// headerLinker is a first screen whose links to the other tasks go in the
// header, in the line the breadcrumb takes on the later screens: the first
// screens have no line to spare for them below the CAPTCHA.
type headerLinker interface{ headerLinks() *form }

// headerLinks draws the links of a first screen where the breadcrumb goes,
// and places the cursor on the focused one; one empty line otherwise.
func (w *Wizard) headerLinks() []string {
	hl, ok := w.screen.(headerLinker)
	if !ok || hl.headerLinks() == nil {
		return []string{""}
	}
	lb := newBody(columnWidth)
	lb.links(w.e, hl.headerLinks())
	out := make([]string, len(lb.lines))
	for i, l := range lb.lines {
		out[i] = strings.TrimPrefix(l, " ") // header() puts it back
	}
	if lb.cursor != nil {
		w.headCursor = &tea.Position{X: lb.cursor.X, Y: lb.cursor.Y + 1} // below the title
	}
	return out
}

// maxNoticeLines is the room of the notice above the footer's rule.
const maxNoticeLines = 2

// noticeLines is how many lines n takes once wrapped, as footer draws it.
func (w *Wizard) noticeLines(n *notice) int {
	text := n.text
	if w.e.theme.plain {
		text = announce(w.e, text, n.err)
	}
	return len(strings.Split(lipgloss.NewStyle().Width(columnWidth-2).Render(text), "\n"))
}

// footer is the notice, a rule carrying the support code, and the keys.
func (w *Wizard) footer() []string {
	t := w.e.theme
	var n string
	switch {
	case w.notice != nil && t.plain:
		n = announce(w.e, w.notice.text, w.notice.err)
	case w.e.busy && t.plain:
		n = announce(w.e, w.e.t("tui.busy"), false)
	case w.notice != nil:
		n = w.notice.text
		if w.notice.err {
			n = t.errText.Render(n)
		} else {
			n = t.info.Render(n)
		}
	case w.e.busy:
		// A step can take a second (the same time for every login): say so.
		n = t.info.Render(w.e.t("tui.busy"))
	}
	note := strings.Split(lipgloss.NewStyle().Width(columnWidth-2).Render(n), "\n")
	for i := range note {
		note[i] = " " + note[i]
	}
	if len(note) > maxNoticeLines {
		w.cut = fmt.Sprintf("a notice of %d lines", len(note))
		note = note[:maxNoticeLines]
	}
	ref := " " + w.e.t("tui.support_code", "Ref", w.e.st.Ref) + " "
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
	e := w.e
	hs = append(hs, hint{e.t("tui.key.esc"), e.t("tui.hint.start_over"), 2})
	switch {
	case w.opts.Origin.Channel == flow.Kiosk:
	case w.opts.Remote:
		hs = append(hs, hint{e.t("tui.key.ctrl_c"), e.t("tui.hint.hang_up"), 3})
	default:
		hs = append(hs, hint{e.t("tui.key.ctrl_c"), e.t("tui.hint.quit"), 3})
	}
	if w.phone != nil {
		hs = append(hs, hint{"F2", e.t("tui.hint.phone"), 1})
	}
	order := make([]int, len(hs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return hs[order[a]].prio < hs[order[b]].prio })
	// A key is "Enter next" between " · ", or "Enter: next" between ", "
	// in plain mode.
	shown, sep := func(h hint) string { return h.key + " " + h.what }, 3
	if t.plain {
		shown, sep = func(h hint) string { return w.e.t("tui.plain.key", "Key", h.key, "What", h.what) }, 2
	}
	keep := map[int]bool{}
	width := 0
	for _, i := range order {
		wd := lipgloss.Width(shown(hs[i])) + sep
		if width+wd > columnWidth-2+sep {
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
		return plainKeys(w.e, kept)
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
	name := " " + w.e.t("tui.phone.name_f2") + " "
	if w.phone.active() {
		name = " " + w.e.t("tui.phone.name_back") + " "
	}
	head := t.rule.Render(ruleChar+ruleChar) + t.heading.Render(name) + t.rule.Render(strings.Repeat(ruleChar, columnWidth-2-lipgloss.Width(name)))
	if t.plain {
		head = w.e.t("tui.phone.heading", "Name", strings.TrimSpace(name))
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
	name := w.e.t("tui.phone.name_f2")
	if w.phone.active() {
		name = w.e.t("tui.phone.name_back")
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
