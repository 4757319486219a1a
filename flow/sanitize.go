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

func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f'
}

// normaliseLogin is the form used for lookups and decoys: trimmed, lower case.
func normaliseLogin(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
