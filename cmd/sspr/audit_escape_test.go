package main

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestEscapeInvisible: every code point that draws nothing, or only
// blank, is escaped by the table and the JSON printers alike; a login
// padded with any of them cannot pass for another.
func TestEscapeInvisible(t *testing.T) {
	for _, r := range []rune{
		0x00AD,  // soft hyphen
		0x034F,  // combining grapheme joiner
		0x115F,  // Hangul choseong filler
		0x1160,  // Hangul jungseong filler
		0x17B4,  // Khmer vowel inherent aq
		0x180B,  // Mongolian free variation selector one
		0x180E,  // Mongolian vowel separator
		0x200B,  // zero width space
		0x200D,  // zero width joiner
		0x2060,  // word joiner
		0x2064,  // invisible plus
		0x2800,  // braille pattern blank
		0x3000,  // ideographic space
		0x3164,  // Hangul filler
		0xFE0F,  // variation selector 16
		0xFEFF,  // zero width no-break space
		0xFFA0,  // halfwidth Hangul filler
		0x1D173, // musical symbol begin beam
		0xE0041, // tag latin capital letter A
		0xE0100, // variation selector 17
		0xE01EF, // variation selector 256
	} {
		login := "ali" + string(r) + "ce"
		want := fmt.Sprintf(`\u%04x`, r)
		if r > 0xffff {
			want = fmt.Sprintf(`\U%08x`, r)
		}
		if got := escapeField(login); got != "ali"+want+"ce" {
			t.Errorf("escapeField(%U in a login) = %q, want it escaped as %s", r, got, want)
		}
		js := escapeJSON([]byte(`{"login":"` + login + `"}`))
		if strings.ContainsRune(js, r) {
			t.Errorf("escapeJSON left %U raw: %q", r, js)
		}
	}
}

// TestEscapeSweep walks every code point: whatever Unicode calls default
// ignorable, white space (but the plain space), a format character, a
// separator or not printable never reaches the terminal as itself.
func TestEscapeSweep(t *testing.T) {
	invisible := func(r rune) bool {
		return r != ' ' && (unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector,
			unicode.Cf, unicode.Zs, unicode.Zl, unicode.Zp, unicode.White_Space, unicode.Bidi_Control,
			unicode.Cc, unicode.Co, unicode.Cs) || !unicode.IsPrint(r))
	}
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) || !invisible(r) {
			continue
		}
		n++
		s := "a" + string(r) + "b"
		if strings.ContainsRune(escapeField(s), r) {
			t.Errorf("escapeField shows %U raw", r)
		}
		if strings.ContainsRune(escapeJSON([]byte(`"`+s+`"`)), r) {
			t.Errorf("escapeJSON shows %U raw", r)
		}
	}
	if n < 100000 {
		t.Fatalf("the sweep found only %d invisible code points", n)
	}
}

// TestEscapeBareMarks: a combining mark on a letter is part of the name
// and shown; one with nothing to sit on (the start of a cell, after a
// space) is escaped, as it would draw over the padding or nothing.
func TestEscapeBareMarks(t *testing.T) {
	for in, want := range map[string]string{
		"e\u0301lise":    "e\u0301lise",
		"\u0301alice":    `\u0301alice`,
		"alice \u20dd":   `alice \u20dd`,
		"\u0301\u0301x":  `\u0301\u0301x`,
		"ka\u0300\u0323": "ka\u0300\u0323",
	} {
		if got := escapeField(in); got != want {
			t.Errorf("escapeField(%q) = %q, want %q", in, got, want)
		}
	}
	if js := escapeJSON([]byte(`{"login":"` + "\u0301x" + `"}`)); strings.ContainsRune(js, 0x301) {
		t.Errorf("escapeJSON shows a bare mark raw: %q", js)
	}
}
