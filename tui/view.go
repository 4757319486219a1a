package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

// The wizard is a card of columnWidth cells and at most cardHeight lines,
// centred in the window; the demo phone goes beside it from sideBySide
// columns, below it otherwise.
const (
	columnWidth = 80
	cardHeight  = 30
	sideBySide  = 110
	phoneWidth  = 40
)

// View draws the frame: the card (header, the screen, its notice, the
// footer) centred in the window with the demo phone beside or below it,
// and places the real terminal cursor in the focused field.
func (w *Wizard) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.WindowTitle = w.e.title()
	if w.tooSmall() {
		v.Content = w.smallView()
		return v
	}
	t := w.e.theme
	// Plain mode keeps the phone below, and the card top left: a box
	// beside the form would interleave the two in every line a screen
	// reader reads.
	side := w.phone != nil && w.width >= sideBySide && !t.plain
	below := w.phone != nil && !side
	height := min(w.height, cardHeight)
	if t.plain {
		height = w.height
	}
	w.cut, w.headCursor = "", nil
	header, footer := w.header(), w.footer()
	note := w.noticeLines()
	room := height - len(header) - len(footer)
	screenRoom := room
	if len(note) > 0 {
		screenRoom = max(room-len(note)-1, 0)
	}
	// The screen comes first; the phone below gets the lines it leaves.
	b := w.screen.View(columnWidth, screenRoom)
	bl := b.lines[:min(len(b.lines), room)]
	if len(b.lines) > room && w.cut == "" {
		w.cut = fmt.Sprintf("%d lines of the screen past the bottom", len(b.lines)-room)
	}
	if len(note) > 0 && len(bl)+1+len(note) <= room {
		bl = append(append(append([]string{}, bl...), ""), note...)
	} else if len(note) > 0 && w.cut == "" {
		w.cut = "a notice past the bottom"
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
	for len(lines) < height-len(footer)-len(pl) {
		lines = append(lines, "")
	}
	if pc != nil {
		pc = &tea.Position{X: pc.X, Y: pc.Y + len(lines)}
	}
	lines = append(append(lines, pl...), footer...)
	// Measuring walks a line's graphemes (the CAPTCHA's 76 a row): a line
	// the last frame had at the same place has the width it had then.
	drawn, widths := slices.Clone(lines), make([]int, len(lines))
	for i, l := range drawn {
		var lw int
		if i < len(w.lastLines) && w.lastLines[i] == l {
			lw = w.lastWidths[i]
		} else {
			lw = ansi.StringWidth(l)
		}
		widths[i] = lw
		if lw > columnWidth {
			if w.cut == "" {
				w.cut = fmt.Sprintf("line %d is %d columns: %q", i, lw, ansi.Strip(l))
			}
			lines[i] = ansi.Truncate(l, columnWidth, "")
		}
	}
	w.lastLines, w.lastWidths = drawn, widths
	total := columnWidth
	var box []string
	if side {
		var s string
		s, pc = w.phoneBeside(height)
		box = strings.Split(s, "\n")
		total = columnWidth + 2 + lipgloss.Width(s)
		if pc != nil {
			pc = &tea.Position{X: columnWidth + 2 + pc.X, Y: pc.Y}
		}
	}
	if w.phone != nil && w.phone.active() {
		cursor = pc
	}
	// Centre the card (and the phone) in the window.
	left, top := 0, 0
	if !t.plain {
		left, top = max((w.width-total)/2, 0), max((w.height-height)/2, 0)
	}
	out := make([]string, 0, w.height)
	for range top {
		out = append(out, "")
	}
	pad := strings.Repeat(" ", left)
	for i, l := range lines {
		if box != nil {
			lw := widths[i]
			if lw > columnWidth { // cut above: measure what is left
				lw = ansi.StringWidth(l)
			}
			l += strings.Repeat(" ", columnWidth+2-lw)
			if i < len(box) {
				l += box[i]
			}
		}
		if left > 0 {
			l = pad + l
		}
		if box == nil {
			l = strings.TrimRight(l, " ")
		}
		out = append(out, l)
	}
	for len(out) < w.height {
		out = append(out, "")
	}
	v.Content = t.toASCII(strings.Join(out, "\n"))
	if cursor != nil {
		v.Cursor = tea.NewCursor(cursor.X+left, cursor.Y+top)
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
	top := t.style(&t.title, title)
	if w.phone != nil {
		gap := max(columnWidth-2-lipgloss.Width(title)-lipgloss.Width(banner), 1)
		top += strings.Repeat(" ", gap) + t.style(&t.info, banner)
	}
	out := append([]string{" " + top}, w.crumbLine()...)
	if t.plain {
		return append(out, "")
	}
	return append(out, t.style(&t.rule, strings.Repeat(t.ruleChar(), columnWidth)))
}

// crumbLine is the breadcrumb's line of the header. A first screen's
// links to the other tasks go there too, right of the breadcrumb, or in
// its place when both do not fit: the first screens have no line to spare
// for them below the CAPTCHA. The cursor goes on the focused link.
func (w *Wizard) crumbLine() []string {
	crumb := w.breadcrumb()
	hl, ok := w.screen.(headerLinker)
	if !ok || hl.headerLinks() == nil {
		return []string{" " + crumb}
	}
	lb := newBody(columnWidth)
	lb.links(w.e, hl.headerLinks())
	const gap = "   "
	if len(lb.lines) == 1 && crumb != "" {
		links := strings.TrimPrefix(lb.lines[0], indent)
		if 1+lipgloss.Width(crumb)+len(gap)+lipgloss.Width(links) <= columnWidth {
			if lb.cursor != nil {
				x := 1 + lipgloss.Width(crumb) + len(gap) + lb.cursor.X - len(indent)
				w.headCursor = &tea.Position{X: x, Y: 1} // below the title
			}
			return []string{" " + crumb + gap + links}
		}
	}
	out := make([]string, len(lb.lines))
	for i, l := range lb.lines {
		out[i] = " " + strings.TrimPrefix(l, indent)
	}
	if lb.cursor != nil {
		w.headCursor = &tea.Position{X: lb.cursor.X - 1, Y: lb.cursor.Y + 1}
	}
	return out
}

// headerLinker is a first screen whose links to the other tasks go in the
// header (crumbLine).
type headerLinker interface{ headerLinks() *form }

// breadcrumb says where the person is: "Step 2 of 4 · Verify by text".
// The steps are who you are, each verification, the new password.
func (w *Wizard) breadcrumb() string {
	t, e, st := w.e.theme, w.e, w.e.st
	required := max(st.MethodsRequired, 1)
	if e.task == flow.TaskChange {
		required = 0 // the current password is the proof
	}
	total := 2 + required
	n, name := 1, e.t("tui.crumb.identify")
	switch w.step {
	case flow.StepChooseMethod:
		n, name = 1+max(st.Verification, 1), e.t("tui.crumb.choose")
	case flow.StepConfirmNumber, flow.StepEnterCode, flow.StepWaiting:
		n, name = 1+max(st.Verification, 1), crumbMethod(e, st.Method.ID)
		if st.Registering {
			// A new number or address answering its code: still the
			// security info, the person proved themselves before.
			n, name = total, e.t("tui.crumb.manage")
		}
	case flow.StepSetPassword:
		n, name = total, e.t("tui.crumb.password")
		if _, ok := w.screen.(*unlock); ok {
			name = e.t("tui.crumb.unlock")
		}
	case flow.StepManage:
		n, name = total, e.t("tui.crumb.manage")
	case flow.StepDone:
		return t.style(&t.ok, t.checkGlyph()+" "+e.t("tui.crumb.done"))
	}
	if _, ok := w.screen.(*refused); ok {
		return ""
	}
	text := e.t("tui.crumb.step", "N", n, "Total", total, "Name", name)
	if i := strings.LastIndex(text, name); i >= 0 && !t.plain {
		return t.style(&t.crumb, text[:i]) + t.style(&t.crumbNow, name) + t.style(&t.crumb, text[i+len(name):])
	}
	return t.style(&t.crumb, text)
}

// crumbMethod names the verification under way.
func crumbMethod(e *env, id flow.MethodID) string {
	switch id {
	case flow.TextMobile:
		return e.t("tui.crumb.verify_text")
	case flow.CallMobile, flow.CallOffice:
		return e.t("tui.crumb.verify_call")
	case flow.EmailAltern:
		return e.t("tui.crumb.verify_email")
	case flow.TOTPApp:
		return e.t("tui.crumb.verify_app_code")
	case flow.PushApp:
		return e.t("tui.crumb.verify_app")
	case flow.Helpdesk:
		return e.t("tui.crumb.verify_helpdesk")
	}
	return e.t("tui.crumb.verify")
}

// noticeLines is the notice under the screen, wrapped: an error with its
// glyph and word, a countdown that counts down, or a note.
func (w *Wizard) noticeLines() []string {
	n := w.notice
	if n == nil {
		return nil
	}
	t := w.e.theme
	text := n.text
	if !n.until.IsZero() {
		left := int((time.Until(n.until) + time.Second - 1) / time.Second)
		text = w.e.tr.N(n.countID, max(left, 1))
	}
	switch {
	case t.plain && n.err:
		text = announce(w.e, text, true)
	case t.plain:
		text = announce(w.e, text, false)
	case n.err:
		text = w.e.errorText(text)
	case !n.until.IsZero():
		text = t.wait.Render(text)
	default:
		text = t.info.Render(text)
	}
	out := strings.Split(lipgloss.NewStyle().Width(columnWidth-len(indent)).Render(text), "\n")
	for i := range out {
		out[i] = strings.TrimRight(indent+out[i], " ")
	}
	return out
}

// footer is a rule carrying the "one moment" while a step runs and the
// support code, then the keys (or the question Esc asked).
func (w *Wizard) footer() []string {
	t := w.e.theme
	ref := w.e.t("tui.support_code", "Ref", w.e.st.Ref)
	busy := ""
	if w.e.busy {
		// A step can take a second (the same time for every login): say so.
		busy = w.e.t("tui.busy")
	}
	var out []string
	if t.plain {
		if busy != "" {
			out = append(out, announce(w.e, busy, false))
		}
		out = append(out, ref)
	} else {
		rc := t.ruleChar()
		left := t.style(&t.rule, rc+rc)
		if busy != "" {
			left += " " + t.style(&t.info, busy) + " "
		}
		right := " " + ref + " " + t.style(&t.rule, rc+rc)
		fill := max(columnWidth-lipgloss.Width(left)-lipgloss.Width(right), 0)
		out = append(out, left+t.style(&t.rule, strings.Repeat(rc, fill))+right)
	}
	if w.confirm != "" {
		q := w.e.t(w.confirm)
		if t.plain {
			return append(out, q)
		}
		return append(out, " "+t.style(&t.wait, q))
	}
	keys := helpView(w.e, w.bindings(), columnWidth-2, w.fullHelp)
	for _, l := range strings.Split(keys, "\n") {
		if !t.plain {
			l = " " + l
		}
		out = append(out, l)
	}
	return out
}

// bindings are the keys the footer shows: the phone's while it has the
// focus, else the screen's, then Esc, Ctrl+C, F2 and the help key.
func (w *Wizard) bindings() []key.Binding {
	k := w.e.keys
	var out []key.Binding
	phoneKeys := w.phone != nil && w.phone.active()
	if phoneKeys {
		out = append(out, w.phone.keys()...)
		out = append(out, k.PhoneBack)
	} else {
		out = append(out, w.screen.Keys()...)
	}
	if esc := w.escBinding(); esc != nil {
		out = append(out, *esc)
	}
	switch {
	case w.phone == nil || phoneKeys:
	case w.phone.focused:
		out = append(out, k.PhoneBack)
	default:
		out = append(out, k.Phone)
	}
	switch {
	case w.opts.Origin.Channel == flow.Kiosk:
	case w.opts.Remote:
		out = append(out, k.HangUp)
	default:
		out = append(out, k.Quit)
	}
	if !w.e.theme.plain {
		out = append(out, k.Help)
	}
	return out
}

// phoneLines is how many lines the phone would like below the wizard.
func (w *Wizard) phoneLines() int {
	l, _ := w.phone.lines(columnWidth-4, 8)
	return len(l)
}

// phoneBelow draws the phone under the wizard in height lines: a titled
// rule, lit while it has the focus, then its content.
func (w *Wizard) phoneBelow(height int) ([]string, *tea.Position) {
	if height <= 0 {
		return nil, nil
	}
	t := w.e.theme
	name := " " + w.e.t("tui.phone.name") + " "
	rc := t.ruleChar()
	rule := t.rule
	if w.phone.focused {
		rule = lipgloss.NewStyle().Foreground(t.accent)
	}
	head := rule.Render(rc+rc) + t.heading.Render(name) + rule.Render(strings.Repeat(rc, columnWidth-2-lipgloss.Width(name)))
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

// phoneBeside draws the phone as a rounded box right of the wizard, lit
// while it has the focus, at the height of the card.
func (w *Wizard) phoneBeside(height int) (string, *tea.Position) {
	t := w.e.theme
	width := min(phoneWidth, w.width-columnWidth-2)
	name := w.e.t("tui.phone.name")
	content, cur := w.phone.lines(width-4, height-4)
	inner := append([]string{t.heading.Render(name), ""}, content...)
	edge := t.grey
	if w.phone.focused {
		edge = t.accent
	}
	box := lipgloss.NewStyle().Border(t.border()).BorderForeground(edge).Padding(0, 1).Width(width).Height(height).Render(strings.Join(inner, "\n"))
	if cur != nil {
		cur = &tea.Position{X: cur.X + 2, Y: cur.Y + 3}
	}
	return box, cur
}
