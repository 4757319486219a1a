package flow

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field limits: input beyond them is cut at entry, never buffered.
const (
	MaxLoginLen   = 256
	MaxPhoneLen   = 32
	MaxCodeLen    = 16
	MaxCaptchaLen = 16
	// MaxEmailLen is the longest address a mailbox may have (RFC 5321).
	MaxEmailLen = 254
	// MaxPasswordLen bounds a current password, in bytes: 256 runes of
	// up to four bytes each.
	MaxPasswordLen = 1024
)

// Sanitize makes untrusted text safe to show or log: invalid UTF-8 is
// dropped, control characters (C0, C1, DEL, and so every escape sequence's
// introducer) are removed, and the result is cut to max runes.
func Sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	for len(s) > 0 && n < max {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError && size <= 1 {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// isBidiControl covers every directional formatting character (U+061C,
// U+200E-U+200F, U+202A-U+202E, U+2066-U+2069): each can reorder what a
// terminal or a log viewer shows.
func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }
