package tui

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
)

// Field limits, in runes: a paste is cut here before it reaches a field.
const (
	limitLogin    = flow.MaxLoginLen
	limitPhone    = flow.MaxPhoneLen
	limitCode     = flow.MaxCodeLen
	limitCaptcha  = flow.MaxCaptchaLen
	limitEmail    = flow.MaxEmailLen
	limitPassword = 256
)

// field is one line of text input with a title above it and a row below
// it reserved for its error. Bubbles' textinput does the editing; the
// field draws itself, so it knows exactly where the terminal cursor goes
// (textinput's own cursor position is off once its text scrolls).
type field struct {
	in    textinput.Model
	label string
	// placeholder is shown dim in an empty field, e.g. "+1 212 555 0100".
	placeholder string
	width       int // visible cells of the value
	off         int // first visible rune
	secret      bool
	// reveal shows a secret field's text (the show-password key).
	reveal bool
	// slots > 0 draws one slot per character, as for the CAPTCHA's digits.
	slots int
	// err is the message on the row under the field; the next edit
	// clears it.
	err string
}

func newField(label string, limit, width int, secret bool) *field {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = limit
	in.SetVirtualCursor(false) // the real cursor costs nothing while idle
	// Ctrl+V would paste the clipboard of the machine the program runs on,
	// which over SSH is the server's. Bracketed paste still works.
	in.KeyMap.Paste.SetEnabled(false)
	if secret {
		in.EchoMode = textinput.EchoPassword
	}
	return &field{in: in, label: label, width: width, secret: secret}
}

func (f *field) value() string { return f.in.Value() }

func (f *field) focus() { f.in.Focus() }

func (f *field) blur() { f.in.Blur() }

// clear empties the field and its error; codes and passwords must not
// outlive their screen.
func (f *field) clear() {
	f.in.Reset()
	f.off = 0
	f.err = ""
	f.reveal = false
}

// update edits the field. Pasted text and typed text are stripped of control
// characters and escape sequences, and a paste is cut to the room left.
// An edit that changes the text clears the error under the field.
func (f *field) update(msg tea.Msg) {
	switch m := msg.(type) {
	case tea.PasteMsg:
		room := f.in.CharLimit - len([]rune(f.in.Value()))
		if room <= 0 {
			return
		}
		msg = tea.PasteMsg{Content: cleanPaste(m.Content, room)}
	case tea.KeyPressMsg:
		if m.Text != "" {
			m.Text = flow.Sanitize(m.Text, f.in.CharLimit)
			if m.Text == "" {
				return
			}
			msg = m
		}
	}
	before := f.in.Value()
	f.in, _ = f.in.Update(msg)
	if f.in.Value() != before {
		f.err = ""
	}
	f.scroll()
}

// cleanPaste strips escape sequences and control characters from pasted
// text and keeps at most room runes. Only a prefix is looked at, so a huge
// paste costs no more than a small one.
func cleanPaste(s string, room int) string {
	if limit := room*16 + 1024; len(s) > limit {
		s = s[:limit]
	}
	return flow.Sanitize(ansi.Strip(s), room)
}

// shown is what the field displays for its value.
func (f *field) shown() []rune {
	v := []rune(f.in.Value())
	if f.secret && !f.reveal {
		return []rune(strings.Repeat("*", len(v)))
	}
	return v
}

// scroll keeps the cursor inside the visible part of the field.
func (f *field) scroll() {
	r := f.shown()
	pos := f.in.Position()
	f.off = min(f.off, pos, len(r))
	for f.off < pos && ansi.StringWidth(string(r[f.off:pos]))+1 > f.width {
		f.off++
	}
}

// visible is the part of the value in view and the cell of the cursor
// from its start.
func (f *field) visible() (string, int) {
	r := f.shown()
	var b strings.Builder
	w := 0
	for _, c := range r[min(f.off, len(r)):] {
		cw := ansi.StringWidth(string(c))
		if w+cw > f.width {
			break
		}
		b.WriteRune(c)
		w += cw
	}
	pos := min(max(f.in.Position(), f.off), len(r))
	return b.String(), ansi.StringWidth(string(r[min(f.off, pos):pos]))
}

// render draws the field between brackets, as plain mode shows it, and
// returns the cell of the cursor, counted from the opening bracket.
func (f *field) render() (string, int) {
	text, col := f.visible()
	return "[" + text + strings.Repeat(" ", max(f.width-ansi.StringWidth(text), 0)) + "]", 1 + col
}

// line draws the value for the styled themes: the text, one slot per
// character, or the placeholder dim; and the cell of the cursor.
func (f *field) line(t *theme) (string, int) {
	if f.slots > 0 {
		r := f.shown()
		parts := make([]string, f.slots)
		for i := range parts {
			if i < len(r) {
				parts[i] = string(r[i])
			} else {
				parts[i] = t.style(&t.dim, "_")
			}
		}
		out := strings.Join(parts, " ")
		if len(r) > f.slots { // more typed than asked for: show it all
			out += " " + string(r[f.slots:])
		}
		return out, 2*min(f.in.Position(), f.slots) + max(f.in.Position()-f.slots, 0)
	}
	text, col := f.visible()
	if text == "" && f.placeholder != "" {
		return t.style(&t.dim, f.placeholder), 0
	}
	return text, col
}

// form is the fields and links of a screen in Tab order.
type form struct {
	fields []*field
	links  []string
	// off marks links that cannot be used yet: drawn dim, Enter ignored.
	off []bool
	at  int
}

func newForm(fields []*field, links ...string) *form {
	f := &form{fields: fields, links: links, off: make([]bool, len(links))}
	f.move(0)
	return f
}

func (f *form) size() int { return len(f.fields) + len(f.links) }

// move focuses item i (wrapping around).
func (f *form) move(i int) {
	n := f.size()
	if n == 0 {
		return
	}
	f.at = ((i % n) + n) % n
	for j, fl := range f.fields {
		if j == f.at {
			fl.focus()
		} else {
			fl.blur()
		}
	}
}

// focused returns the focused field, or nil when a link has the focus.
func (f *form) focused() *field {
	if f.at < len(f.fields) {
		return f.fields[f.at]
	}
	return nil
}

// link returns the index of the focused link, or -1.
func (f *form) link() int {
	if f.at >= len(f.fields) {
		return f.at - len(f.fields)
	}
	return -1
}

// action is what a key press on a form asks for.
type action int

const (
	actNone   action = iota
	actSubmit        // Enter on the last field
	actLink          // Enter on a link
)

// update moves between items (Tab, Shift+Tab, Enter) or edits the focused
// field, and says when the screen should act.
func (f *form) update(msg tea.Msg) action {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "tab", "down":
			f.move(f.at + 1)
			return actNone
		case "shift+tab", "up":
			f.move(f.at - 1)
			return actNone
		case "enter":
			switch {
			case f.link() >= 0 && f.off[f.link()]:
				return actNone
			case f.link() >= 0:
				return actLink
			case f.at < len(f.fields)-1:
				f.move(f.at + 1)
				return actNone
			default:
				return actSubmit
			}
		}
	}
	if fl := f.focused(); fl != nil {
		fl.update(msg)
	}
	return actNone
}

// clear empties every field and focuses the first.
func (f *form) clear() {
	for _, fl := range f.fields {
		fl.clear()
	}
	f.move(0)
}
