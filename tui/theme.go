package tui

import (
	"image/color"
	"strings"
	"sync"
	"sync/atomic"

	"charm.land/lipgloss/v2"
)

// theme holds the styles and glyphs of one terminal. Text colours reach a
// contrast of 4.5:1 (WCAG AA) on the default palettes of xterm and of the
// Linux console (see TestThemeContrast); red is for errors only, and
// nothing relies on colour alone: every mark has a glyph or a word.
type theme struct {
	dark bool
	// ascii is for the Linux console: no check marks and other symbols
	// its fonts lack (the CAPTCHA's half blocks and box drawing it has).
	// A bare theme is always ascii too.
	ascii bool
	// bare is for a terminal that is not UTF-8: every glyph, border and
	// the CAPTCHA are drawn in 7-bit ASCII.
	bare bool
	// mono is for NO_COLOR and terminals without colour.
	mono bool
	// plain is for screen readers: no styling at all (not even bold), no
	// box drawing, and words wherever the normal theme uses a glyph.
	plain bool

	// fg are the colours of text, by role, for the contrast test.
	fg map[string]color.Color

	title, crumb, crumbNow, heading, hint lipgloss.Style
	errText, info, met, unmet, key, rule  lipgloss.Style
	focus, link, linkFocus, big           lipgloss.Style
	// dim is placeholders, unfocused fields and what cannot be used yet;
	// ok is success; wait is a countdown (never the error red).
	dim, ok, wait lipgloss.Style
	// accent is the colour of the focus: the field border, the lit phone.
	accent, grey, okColor color.Color
	// accentText is text in the accent colour: the bar of the focused field.
	accentText lipgloss.Style

	// styled remembers what styled returned, for every session of the
	// theme; stored counts what was put in it.
	styled sync.Map // styledKey: string
	stored atomic.Int64
}

// styledKey is a text in one of the theme's styles.
type styledKey struct {
	style *lipgloss.Style
	text  string
}

// maxStyled bounds what a theme remembers of styled: the catalogues'
// words in three languages are a few thousand.
const maxStyled = 4096

// style draws text in style st, one of t's own styles (&t.dim), and
// remembers the result for every session of the theme. A frame is drawn
// after every key press, and most of its words (titles, labels, links,
// the keys in the footer) are the same every time: lipgloss renders each
// anew in several microseconds, which made the larger part of a key
// press's View. Only text from the catalogues and the theme may come here,
// never what a person typed or a message built around it: the cache is
// shared, and bounded by maxStyled, past which it draws without keeping.
func (t *theme) style(st *lipgloss.Style, text string) string {
	k := styledKey{st, text}
	if v, ok := t.styled.Load(k); ok {
		return v.(string)
	}
	out := st.Render(text)
	if t.stored.Add(1) <= maxStyled {
		t.styled.Store(k, out)
	}
	return out
}

// themes holds one theme per combination of dark, ascii, mono, plain,
// bare and basic, built on first use. A theme is never changed once built,
// so every session shares it.
var themes [64]func() *theme

func init() {
	for i := range themes {
		dark, ascii, mono, plain, bare, basic := i&1 != 0, i&2 != 0, i&4 != 0, i&8 != 0, i&16 != 0, i&32 != 0
		themes[i] = sync.OnceValue(func() *theme {
			var t *theme
			if plain {
				t = buildPlainTheme(dark, ascii || bare)
			} else {
				t = buildTheme(dark, ascii || bare, mono, bare, basic)
			}
			t.bare = bare
			return t
		})
	}
}

// newTheme returns the shared, read-only theme for these settings.
func newTheme(dark, ascii, mono, plain bool) *theme {
	return newThemeFor(dark, ascii, mono, plain, false, false)
}

// newThemeFor is newTheme for a terminal that may not be UTF-8 (bare) or
// may have only the basic 16 colours (basic).
func newThemeFor(dark, ascii, mono, plain, bare, basic bool) *theme {
	i := 0
	for bit, on := range []bool{dark, ascii, mono, plain, bare, basic} {
		if on {
			i |= 1 << bit
		}
	}
	return themes[i]()
}

// The colours by role, for a dark and for a light background. On dark,
// the bright basic colours; on light, colours of the 256, since xterm
// draws bold text in a basic colour with its bright twin (bright red on
// white is 4.0:1), and the greys are from the 256 too (the Linux console
// gets their nearest basic colour).
var palette = map[string][2]string{ // role: {light, dark}
	"accent": {"19", "14"},
	"error":  {"160", "9"},
	"ok":     {"22", "10"},
	"grey":   {"241", "248"},
}

// palette16 is the light palette of a terminal with the basic 16 colours
// only: xterm's green and greys are below 4.5:1 on white, so success is
// blue and dim text keeps the terminal's own colour ("" is no colour).
var palette16 = map[string]string{"accent": "4", "error": "1", "ok": "4", "grey": ""}

func buildTheme(dark, ascii, mono, bare, basic bool) *theme {
	c := func(role string) color.Color {
		if mono || basic && !dark && palette16[role] == "" {
			return lipgloss.NoColor{}
		}
		if basic && !dark {
			return lipgloss.Color(palette16[role])
		}
		p := palette[role]
		if dark {
			return lipgloss.Color(p[1])
		}
		return lipgloss.Color(p[0])
	}
	accent, red, green, grey := c("accent"), c("error"), c("ok"), c("grey")
	// Bold in a colour only on dark: xterm and the Linux console draw bold
	// text in one of the 8 basic colours in its bright twin, which on
	// white falls below 4.5:1 (a 16-colour terminal gets the basic colour
	// nearest each of the 256).
	bold := dark
	s := lipgloss.NewStyle
	border := lipgloss.RoundedBorder()
	if ascii {
		border = lipgloss.NormalBorder() // the console font lacks round corners
	}
	if bare {
		border = lipgloss.ASCIIBorder()
	}
	return &theme{
		dark: dark, ascii: ascii, mono: mono,
		fg:     map[string]color.Color{"accent": accent, "error": red, "ok": green, "grey": grey},
		accent: accent, grey: grey, okColor: green, accentText: s().Foreground(accent),
		title:     s().Bold(bold).Foreground(accent),
		crumb:     s().Foreground(grey),
		crumbNow:  s().Bold(true),
		heading:   s().Bold(true),
		hint:      s().Foreground(grey),
		errText:   s().Bold(bold).Foreground(red),
		info:      s().Foreground(accent),
		met:       s().Foreground(green),
		unmet:     s(),
		key:       s().Bold(true),
		rule:      s().Foreground(grey),
		focus:     s().Bold(bold).Foreground(accent),
		link:      s().Underline(true).Foreground(accent),
		linkFocus: s().Reverse(true).Bold(true),
		big:       s().Bold(true).Border(border).Padding(0, 2),
		dim:       s().Foreground(grey),
		ok:        s().Bold(bold).Foreground(green),
		wait:      s().Bold(true),
	}
}

// Glyphs, with their ASCII stand-ins for a terminal that is not UTF-8.
func (t *theme) glyph(unicode, ascii string) string {
	if t.bare {
		return ascii
	}
	return unicode
}

// errGlyph is the cross in front of an error: the Linux console's font
// lacks it.
func (t *theme) errGlyph() string {
	if t.ascii {
		return "x"
	}
	return "✗"
}

// checkGlyph is the tick of success; the Linux console's font lacks it.
func (t *theme) checkGlyph() string {
	if t.ascii {
		return "+"
	}
	return "✓"
}

// bareGlyphs are the ASCII stand-ins of the glyphs that come from the
// catalogues and from Bubbles, for a terminal that is not UTF-8.
var bareGlyphs = strings.NewReplacer("·", "-", "…", "...", "─", "-", "│", "|", "┃", "|", "╭", "+", "╮", "+", "╰", "+", "╯", "+",
	"✓", "+", "✗", "x", "↑", "^", "↓", "v", "█", "#", "▀", "\"", "▄", "_", "«", "<<", "»", ">>", "\u00a0", " ")

// ascii makes a frame 7-bit where the theme is bare; other text (the
// letters of a language) is left as it is.
func (t *theme) toASCII(s string) string {
	if !t.bare {
		return s
	}
	return bareGlyphs.Replace(s)
}

// ruleChar draws the separators; the Linux console has box drawing.
func (t *theme) ruleChar() string { return t.glyph("─", "-") }

// bar is the left border of the focused field.
func (t *theme) bar() string {
	if t.ascii {
		return ">"
	}
	return "┃"
}

// border is the box of a card or of the phone.
func (t *theme) border() lipgloss.Border {
	switch {
	case t.bare:
		return lipgloss.ASCIIBorder()
	case t.ascii:
		return lipgloss.NormalBorder()
	}
	return lipgloss.RoundedBorder()
}

// mark is the sign in front of a password rule: neutral until something is
// typed (typed false), then a tick when it is met. Where the font lacks
// the tick, words (padded to one width, so the rules line up).
func (t *theme) mark(typed, met bool, metWord, unmetWord, todoWord string) string {
	w := max(lipgloss.Width(metWord), lipgloss.Width(unmetWord), lipgloss.Width(todoWord))
	pad := func(s string) string { return s + strings.Repeat(" ", w-lipgloss.Width(s)) }
	switch {
	case (t.ascii || t.plain) && !typed:
		return t.style(&t.dim, pad(todoWord))
	case (t.ascii || t.plain) && met:
		return t.style(&t.met, pad(metWord))
	case t.ascii || t.plain:
		return t.style(&t.unmet, pad(unmetWord))
	case !typed:
		return t.style(&t.dim, "·")
	case met:
		return t.style(&t.met, "✓")
	default:
		return t.style(&t.unmet, "✗") // not yet: not an error, so not red
	}
}

// radio is the sign in front of a method in the list.
func (t *theme) radio(on bool) string {
	if on {
		return t.style(&t.focus, "(*)")
	}
	return "( )"
}
