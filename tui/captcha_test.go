package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/dchest/captcha"
)

func TestCaptchaRenderer(t *testing.T) {
	digits := []byte{3, 1, 4, 1, 5, 9}
	img := captcha.NewImage("a known seed", digits, captchaImageW, captchaImageH).Paletted
	for _, tc := range []struct {
		name   string
		blocks bool
		rows   int
		glyph  func(rune) bool
	}{
		{"braille", false, captchaRowsBraille, func(r rune) bool { return r == ' ' || r > 0x2800 && r <= 0x28ff }},
		{"half blocks", true, captchaRowsBlocks, func(r rune) bool { return strings.ContainsRune(" ▀▄█", r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := drawCaptcha(img, len(digits), tc.blocks)
			t.Logf("digits %v:\n%s", digits, out)
			lines := strings.Split(out, "\n")
			if len(lines) != tc.rows {
				t.Fatalf("%d rows, want %d", len(lines), tc.rows)
			}
			inked := 0
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != captchaCols {
					t.Errorf("row %d is %d columns, want %d", i, w, captchaCols)
				}
				for _, r := range l {
					if !tc.glyph(r) {
						t.Fatalf("row %d has %q", i, r)
					}
					if r != ' ' {
						inked++
					}
				}
			}
			// The digits fill the drawing: ink reaches both sides.
			if inked < captchaCols*tc.rows/5 {
				t.Fatalf("only %d cells inked", inked)
			}
		})
	}
}

func TestCaptchaEveryLength(t *testing.T) {
	for n := 5; n <= 8; n++ {
		d := captcha.RandomDigits(n)
		img := captcha.NewImage("seed", d, captchaImageW, captchaImageH).Paletted
		for _, blocks := range []bool{false, true} {
			out := drawCaptcha(img, n, blocks)
			for _, l := range strings.Split(out, "\n") {
				if ansi.StringWidth(l) != captchaCols {
					t.Fatalf("%d digits: a row is %d columns", n, ansi.StringWidth(l))
				}
			}
		}
	}
}

func TestBestWindow(t *testing.T) {
	if got := bestWindow([]int{1, 0, 5, 5, 0, 1}, 2); got != 2 {
		t.Fatalf("got %d", got)
	}
	if got := bestWindow([]int{1, 2}, 5); got != 0 {
		t.Fatalf("got %d", got)
	}
}
