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
	limitPassword = 256
)

// field is one line of text input. Bubbles' textinput does the editing;
// the field draws itself, so it knows exactly where the terminal cursor goes
// (textinput's own cursor position is off once its text scrolls).
type field struct {
	in     textinput.Model
	label  string
	width  int // visible cells between the brackets
	off    int // first visible rune
	secret bool
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

// clear empties the field; codes and passwords must not outlive their screen.
func (f *field) clear() {
	f.in.Reset()
	f.off = 0
}

// update edits the field. Pasted text and typed text are stripped of control
// characters and escape sequences, and a paste is cut to the room left.
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
	f.in, _ = f.in.Update(msg)
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
	if f.secret {
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

// render draws the field between brackets and returns the cell of the
// cursor, counted from the opening bracket.
func (f *field) render() (string, int) {
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
	col := 1 + ansi.StringWidth(string(r[min(f.off, pos):pos]))
	return "[" + b.String() + strings.Repeat(" ", f.width-w) + "]", col
}

// form is the fields and links of a screen in Tab order.
type form struct {
	fields []*field
	links  []string
	at     int
}

func newForm(fields []*field, links ...string) *form {
	f := &form{fields: fields, links: links}
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
