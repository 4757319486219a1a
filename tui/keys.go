package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// keyMap is every key of the screens, worded in the session's language.
// The screens match key presses against these bindings and the footer
// shows their help, so a key and its hint cannot disagree.
type keyMap struct {
	Next, Verify, SendText, Call, Continue, Close, Retry key.Binding
	Field, Links, Choose, Other, Open                    key.Binding
	Back, BackB, StartOver, Quit, HangUp                 key.Binding
	Picture, Resend, Reveal, Hide                        key.Binding
	Phone, PhoneBack, Keypad, Send, Tap                  key.Binding
	Help, Yes                                            key.Binding
}

func newKeyMap(e *env) *keyMap {
	b := func(keys []string, k, what string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, what))
	}
	enter, tab, esc := e.t("tui.key.enter"), e.t("tui.key.tab"), e.t("tui.key.esc")
	arrows := "↑/↓"
	if e.theme.ascii || e.theme.plain {
		arrows = e.t("tui.key.up_down") // words for a screen reader, glyphs the console has
	}
	return &keyMap{
		Next:      b([]string{"enter"}, enter, e.t("tui.hint.next")),
		Verify:    b([]string{"enter"}, enter, e.t("tui.hint.verify")),
		SendText:  b([]string{"enter"}, enter, e.t("tui.hint.send_text")),
		Call:      b([]string{"enter"}, enter, e.t("tui.hint.call")),
		Continue:  b([]string{"enter", "space"}, enter, e.t("tui.hint.continue")),
		Close:     b([]string{"enter", "q", "space"}, enter, e.t("tui.hint.close")),
		Retry:     b([]string{"enter"}, enter, e.t("tui.hint.try_again")),
		Field:     b([]string{"tab", "shift+tab", "up", "down"}, tab, e.t("tui.hint.field")),
		Links:     b([]string{"tab", "shift+tab", "up", "down"}, tab, e.t("tui.hint.links")),
		Open:      b([]string{"enter"}, enter, e.t("tui.hint.choose")),
		Other:     b([]string{"tab", "shift+tab", "up", "down"}, tab, e.t("tui.hint.other_method")),
		Choose:    b([]string{"up", "down", "k", "j", "tab", "shift+tab", "left", "right"}, arrows, e.t("tui.hint.choose")),
		Back:      b([]string{"esc"}, esc, e.t("tui.hint.back")),
		BackB:     b([]string{"esc", "b", "backspace", "left"}, esc, e.t("tui.hint.other_method")),
		StartOver: b([]string{"esc"}, esc, e.t("tui.hint.start_over")),
		Quit:      b([]string{"ctrl+c"}, e.t("tui.key.ctrl_c"), e.t("tui.hint.quit")),
		HangUp:    b([]string{"ctrl+c"}, e.t("tui.key.ctrl_c"), e.t("tui.hint.hang_up")),
		Picture:   b([]string{"ctrl+r"}, e.t("tui.key.ctrl_r"), e.t("tui.hint.new_picture")),
		Resend:    b([]string{"ctrl+r"}, e.t("tui.key.ctrl_r"), e.t("tui.hint.new_code")),
		Reveal:    b([]string{"ctrl+t"}, e.t("tui.key.ctrl_t"), e.t("tui.hint.show_password")),
		Hide:      b([]string{"ctrl+t"}, e.t("tui.key.ctrl_t"), e.t("tui.hint.hide_password")),
		Phone:     b([]string{"f2", "ctrl+p"}, "F2", e.t("tui.hint.phone")),
		PhoneBack: b([]string{"f2", "ctrl+p"}, "F2", e.t("tui.hint.form")),
		Keypad:    b([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, "0-9", e.t("tui.hint.keypad")),
		Send:      b([]string{"enter"}, enter, e.t("tui.hint.send")),
		Tap:       b([]string{"1", "2", "3"}, "1-3", e.t("tui.hint.tap")),
		Help:      b([]string{"f1", "?"}, "?", e.t("tui.hint.more")),
		Yes:       b([]string{"y", "Y", "j", "J", "o", "O"}, "y", ""),
	}
}

// helpView draws the footer's keys in width cells: dim words, bold keys,
// " · " between them; "…" ends a line that had to leave some out, and the
// help key (always kept) lists them all. full lays every key out in
// columns instead. Plain mode words them "Enter: next, Esc: back".
func helpView(e *env, bindings []key.Binding, width int, full bool) string {
	t := e.theme
	if t.plain {
		out := make([]string, 0, len(bindings))
		for _, b := range bindings {
			out = append(out, e.t("tui.plain.key", "Key", b.Help().Key, "What", b.Help().Desc))
		}
		lines := strings.Split(lipgloss.NewStyle().Width(width).Render(strings.Join(out, ", ")), "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " ")
		}
		return strings.Join(lines, "\n")
	}
	h := help.New()
	h.ShortSeparator = " · "
	h.Ellipsis = t.glyph("…", "...")
	h.Styles = help.Styles{
		Ellipsis: t.dim, ShortKey: t.key, ShortDesc: t.dim, ShortSeparator: t.dim,
		FullKey: t.key, FullDesc: t.dim, FullSeparator: t.dim,
	}
	if full {
		var cols [][]key.Binding
		for i := 0; i < len(bindings); i += 3 {
			cols = append(cols, bindings[i:min(i+3, len(bindings))])
		}
		h.SetWidth(width)
		return h.FullHelpView(cols)
	}
	// The help key goes last and stays: whatever is cut is listed there.
	var last []key.Binding
	var rest []key.Binding
	for _, b := range bindings {
		if b.Help().Key == "?" {
			last = append(last, b)
		} else {
			rest = append(rest, b)
		}
	}
	sep := t.style(&t.dim, h.ShortSeparator)
	item := func(b key.Binding) string {
		return t.style(&t.key, b.Help().Key) + " " + t.style(&t.dim, b.Help().Desc)
	}
	tail := ""
	for _, b := range last {
		tail += sep + item(b)
	}
	// As many keys as fit, in order, then "…" when some had to go (help's
	// ShortHelpView lets a key overflow when even "…" does not fit).
	ell := " " + t.style(&t.dim, h.Ellipsis)
	var out strings.Builder
	used := lipgloss.Width(tail)
	for i, b := range rest {
		s := item(b)
		if i > 0 {
			s = sep + s
		}
		room := width - used
		if i < len(rest)-1 {
			room -= lipgloss.Width(ell)
		}
		if lipgloss.Width(s) > room {
			out.WriteString(ell)
			break
		}
		out.WriteString(s)
		used += lipgloss.Width(s)
	}
	return out.String() + tail
}
