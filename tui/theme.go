package tui

import (
	"image/color"
	"strings"
	"sync"

	"charm.land/lipgloss/v2"
)

// theme holds the styles and glyphs of one terminal. Colours are the 16
// ANSI ones, which every terminal maps to something readable on its own
// background; nothing relies on colour alone.
type theme struct {
	dark bool
	// ascii is for the Linux console: no check marks and other symbols
	// its fonts lack (the CAPTCHA's half blocks they have).
	ascii bool
	// mono is for NO_COLOR and terminals without colour.
	mono bool
	// plain is for screen readers: no styling at all (not even bold), no
	// box drawing, and words wherever the normal theme uses a glyph.
	plain bool

	title, crumb, crumbNow, heading, hint lipgloss.Style
	errText, info, met, unmet, key, rule  lipgloss.Style
	focus, link, linkFocus, big           lipgloss.Style
}

// themes holds one theme per combination of dark, ascii, mono and plain,
// built on first use. A theme is never changed once built, so every session
// shares it.
var themes [16]func() *theme

func init() {
	for i := range themes {
		dark, ascii, mono, plain := i&1 != 0, i&2 != 0, i&4 != 0, i&8 != 0
		themes[i] = sync.OnceValue(func() *theme {
			if plain {
				return buildPlainTheme(dark, ascii)
			}
			return buildTheme(dark, ascii, mono)
		})
	}
}

// newTheme returns the shared, read-only theme for these settings.
func newTheme(dark, ascii, mono, plain bool) *theme {
	i := 0
	if dark {
		i |= 1
	}
	if ascii {
		i |= 2
	}
	if mono {
		i |= 4
	}
	if plain {
		i |= 8
	}
	return themes[i]()
}

func buildTheme(dark, ascii, mono bool) *theme {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) color.Color {
		if mono {
			return lipgloss.NoColor{}
		}
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	accent, red, green, grey := c("4", "12"), c("1", "9"), c("2", "10"), c("8", "7")
	s := lipgloss.NewStyle
	border := lipgloss.RoundedBorder()
	if ascii {
		border = lipgloss.NormalBorder() // the console font lacks round corners
	}
	return &theme{
		dark: dark, ascii: ascii, mono: mono,
		title:     s().Bold(true).Foreground(accent),
		crumb:     s().Foreground(grey),
		crumbNow:  s().Bold(true).Underline(true),
		heading:   s().Bold(true),
		hint:      s().Foreground(grey),
		errText:   s().Bold(true).Foreground(red),
		info:      s().Foreground(accent),
		met:       s().Foreground(green),
		unmet:     s().Foreground(red),
		key:       s().Bold(true),
		rule:      s().Foreground(grey),
		focus:     s().Bold(true).Foreground(accent),
		link:      s().Underline(true).Foreground(accent),
		linkFocus: s().Reverse(true).Bold(true),
		big:       s().Bold(true).Foreground(accent).Border(border).Padding(0, 2),
	}
}

// mark is the sign in front of a password rule: a tick and a cross where
// the font has them, the words metWord and unmetWord (padded to one width,
// so the rules line up) on the Linux console and in plain mode.
func (t *theme) mark(met bool, metWord, unmetWord string) string {
	w := max(lipgloss.Width(metWord), lipgloss.Width(unmetWord))
	pad := func(s string) string { return s + strings.Repeat(" ", w-lipgloss.Width(s)) }
	switch {
	case (t.ascii || t.plain) && met:
		return t.met.Render(pad(metWord))
	case t.ascii || t.plain:
		return t.unmet.Render(pad(unmetWord))
	case met:
		return t.met.Render("✓")
	default:
		return t.unmet.Render("✗")
	}
}

// radio is the sign in front of a method in the list.
func (t *theme) radio(on bool) string {
	if on {
		return t.focus.Render("(*)")
	}
	return "( )"
}

// ruleChar draws the separators; the Linux console has box drawing.
const ruleChar = "─"
