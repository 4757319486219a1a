package tui

import (
	"charm.land/lipgloss/v2"
)

// Plain mode (Options.Plain) is for screen readers and braille displays:
// every screen is drawn as plain lines read top to bottom. The theme sets no
// colour and no attribute, so a frame holds no escape sequence; rules and
// boxes become blank lines and words; marks that the normal theme shows by
// colour or glyph alone are words; nothing animates.

// buildPlainTheme is the theme of plain mode: every style is empty. The
// CAPTCHA is drawn with half blocks as in every mode.
func buildPlainTheme(dark, ascii bool) *theme {
	s := lipgloss.NewStyle
	return &theme{
		dark: dark, ascii: ascii, mono: true, plain: true,
		title: s(), crumb: s(), crumbNow: s(), heading: s(), hint: s(),
		errText: s(), info: s(), met: s(), unmet: s(), key: s(), rule: s(),
		focus: s(), link: s(), linkFocus: s(), big: s(),
		dim: s(), ok: s(), wait: s(),
		accent: lipgloss.NoColor{}, grey: lipgloss.NoColor{}, okColor: lipgloss.NoColor{},
	}
}

// announce words a notice for plain mode: what kind of message it is comes
// first, since colour cannot say it.
func announce(e *env, text string, err bool) string {
	if err {
		return e.t("tui.plain.error", "Text", text)
	}
	return e.t("tui.plain.note", "Text", text)
}

// captchaIntro is the sentence before the CAPTCHA in plain mode: a screen
// reader cannot read the picture, but it can say that one is there and how
// to get another.
func captchaIntro(e *env, n int) string {
	if n > 0 {
		return e.tr.N("tui.plain.captcha_n", n)
	}
	return e.t("tui.plain.captcha")
}
