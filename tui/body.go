package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// body is a screen's content as lines, with the terminal cursor's place
// counted from its top-left corner. Lines are added already laid out, so the
// cursor row is known exactly. Text is indented by two cells, which leaves
// room for the marker of the focused field.
type body struct {
	width  int // of the text, without the indent
	lines  []string
	cursor *tea.Position
}

const indent = "  "

func newBody(width int) *body { return &body{width: width - len(indent)} }

// add appends a block, wrapped to the body's width.
func (b *body) add(s string) {
	s = lipgloss.NewStyle().Width(b.width).Render(s)
	for _, l := range strings.Split(s, "\n") {
		b.lines = append(b.lines, indent+strings.TrimRight(l, " "))
	}
}

// raw appends lines as they are, indented (they must fit the width).
func (b *body) raw(s string) {
	for _, l := range strings.Split(s, "\n") {
		b.lines = append(b.lines, indent+l)
	}
}

func (b *body) blank() { b.lines = append(b.lines, "") }

// field appends a field the way huh draws one: its title, its value, and a
// row for its error, reserved so nothing moves when one appears. The
// focused field has a coloured bar on its left and the cursor; the others
// are dim. Plain mode keeps the bracketed field with a marker.
func (b *body) field(e *env, f *field, focused bool) {
	b.fieldRows(e, f, focused)
	switch {
	case f.err != "":
		b.add(e.errorText(f.err))
	case !e.theme.plain:
		// A screen reader reads on: plain mode keeps no row for an
		// error to come.
		b.blank()
	}
}

// fieldRows appends a field's title and value, without the error row.
func (b *body) fieldRows(e *env, f *field, focused bool) {
	t := e.theme
	if t.plain {
		b.add(f.label)
		box, col := f.render()
		if focused {
			b.cursor = &tea.Position{X: 2 + col, Y: len(b.lines)}
			b.lines = append(b.lines, "> "+box)
		} else {
			b.lines = append(b.lines, indent+box)
		}
		return
	}
	value, col := f.line(t)
	if focused {
		bar := t.style(&t.accentText, t.bar()) + " "
		b.lines = append(b.lines, bar+t.style(&t.focus, f.label))
		b.cursor = &tea.Position{X: 2 + col, Y: len(b.lines)}
		b.lines = append(b.lines, bar+value)
	} else {
		b.lines = append(b.lines, indent+t.style(&t.dim, f.label))
		b.lines = append(b.lines, indent+value)
	}
}

// links appends the links of a form on one line, or one a line when they
// do not fit on one (the longer words of some languages).
func (b *body) links(e *env, fm *form) {
	var parts []string
	var xs []int
	x := len(indent)
	for i, l := range fm.links {
		text := linkText(e, l, fm.link() == i, fm.off[i])
		parts = append(parts, text)
		xs = append(xs, x)
		x += lipgloss.Width(text) + 3
	}
	at := fm.link()
	if x-3 <= len(indent)+b.width {
		if at >= 0 {
			b.cursor = &tea.Position{X: xs[at], Y: len(b.lines)}
		}
		b.lines = append(b.lines, indent+strings.Join(parts, "   "))
		return
	}
	if at >= 0 {
		b.cursor = &tea.Position{X: len(indent), Y: len(b.lines) + at}
	}
	for _, p := range parts {
		b.lines = append(b.lines, indent+p)
	}
}

// linkText draws a link in brackets: reversed when it has the focus, dim
// when it cannot be used yet; in plain mode, words say both.
func linkText(e *env, label string, focused, off bool) string {
	t := e.theme
	text := "[" + label + "]"
	switch {
	case off && focused && t.plain:
		return e.t("tui.plain.selected", "Text", e.t("tui.plain.unavailable", "Text", text))
	case off && t.plain:
		return e.t("tui.plain.unavailable", "Text", text)
	case off && focused:
		return t.dim.Reverse(true).Render(text)
	case off:
		return t.style(&t.dim, text)
	case focused && t.plain:
		// Reverse video is the only sign of the focus otherwise.
		return e.t("tui.plain.selected", "Text", text)
	case focused:
		return t.style(&t.linkFocus, text)
	}
	return t.style(&t.link, text)
}

func (b *body) height() int { return len(b.lines) }
