package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/dchest/captcha"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// decodeHalfBlocks turns a drawing back into its pixels, two rows a line.
func decodeHalfBlocks(t *testing.T, s string) bitmap {
	t.Helper()
	var px bitmap
	for i, l := range strings.Split(s, "\n") {
		top, bottom := []bool{}, []bool{}
		for _, r := range l {
			switch r {
			case ' ':
				top, bottom = append(top, false), append(bottom, false)
			case '▀':
				top, bottom = append(top, true), append(bottom, false)
			case '▄':
				top, bottom = append(top, false), append(bottom, true)
			case '█':
				top, bottom = append(top, true), append(bottom, true)
			default:
				t.Fatalf("row %d has %q, not a half block", i, r)
			}
		}
		px = append(px, top, bottom)
	}
	return px
}

// agreement is the share of pixels two bitmaps of one size agree on.
func agreement(a, b bitmap) float64 {
	same, all := 0, 0
	for y := range a {
		for x := range a[y] {
			all++
			if a[y][x] == b[y][x] {
				same++
			}
		}
	}
	return float64(same) / float64(all)
}

// TestCaptchaRenderer: on every terminal the picture is 11 rows of 76 half
// blocks, and its digits survive the drawing: the drawn cells, read back
// as pixels, agree with the picture's digit pixels shrunk to 76x22.
func TestCaptchaRenderer(t *testing.T) {
	for n := 5; n <= 8; n++ {
		for i := range 10 {
			digits := captcha.RandomDigits(n)
			img := captcha.NewImage(fmt.Sprint("seed ", n, i), digits, captchaImageW, captchaImageH).Paletted
			out := drawCaptcha(img, n)
			if i == 0 {
				t.Logf("digits %v:\n%s", digits, out)
			}
			lines := strings.Split(out, "\n")
			if len(lines) != captchaRows || captchaRows != 11 {
				t.Fatalf("%d rows, want 11", len(lines))
			}
			for r, l := range lines {
				if w := ansi.StringWidth(l); w != captchaCols {
					t.Fatalf("row %d is %d columns, want %d", r, w, captchaCols)
				}
			}
			got := decodeHalfBlocks(t, out)
			src := cropDigits(digitMask(img), captchaImageW, captchaImageH, n)
			if a := agreement(got, shrink(src, captchaCols, 2*captchaRows, captchaCoverage)); a < 0.95 {
				t.Fatalf("%v: %.1f%% of the pixels agree with the picture shrunk the same way", digits, 100*a)
			}
			// Against a plain majority shrink too, so the stroke weight
			// cannot drift far from the picture's.
			if a := agreement(got, shrink(src, captchaCols, 2*captchaRows, 50)); a < 0.85 {
				t.Fatalf("%v: %.1f%% of the pixels agree with the picture's majority shrink", digits, 100*a)
			}
			// Every digit's share of the width holds ink.
			for d := range n {
				inked := false
				for _, row := range got {
					for _, on := range row[d*captchaCols/n : (d+1)*captchaCols/n] {
						inked = inked || on
					}
				}
				if !inked {
					t.Fatalf("%v: nothing drawn for digit %d:\n%s", digits, d+1, out)
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

// TestIdentifyFitsAt80x24: the identify screen with the 11-row picture,
// the audio link and, after a wrong answer, the error fits 80x24 in every
// language, styled and plain, in a terminal emulator and on the Linux
// console, and the picture is drawn whole with half blocks in each.
func TestIdentifyFitsAt80x24(t *testing.T) {
	for _, lang := range []string{"en", "de_DE.UTF-8", "fr_FR.UTF-8"} {
		for _, plain := range []bool{false, true} {
			for _, term := range []string{"xterm-256color", "linux"} {
				t.Run(fmt.Sprint(lang, " plain=", plain, " ", term), func(t *testing.T) {
					tr := i18n.For(lang)
					opts := Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200", Lang: lang}, Remote: true,
						Plain: plain, CaptchaAudioURL: (&audioLinks{}).url}
					h := startEnv(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, opts, true, []string{"TERM=" + term})
					h.waitText("https://reset.example.com/captcha/")
					check := func(name string) {
						t.Helper()
						v := h.waitView("the picture", func(v string) bool { return picture(v) != "" })
						h.frame(name, plain)
						if strings.ContainsFunc(v, func(r rune) bool { return r >= 0x2800 && r <= 0x28ff }) {
							t.Fatalf("%s: braille on the screen:\n%s", name, v)
						}
						// The drawing is whole: its inked rows lie within its 11.
						lines := strings.Split(v, "\n")
						first, last := -1, -1
						for i, l := range lines {
							if strings.ContainsAny(l, "▀▄█") {
								if first < 0 {
									first = i
								}
								last = i
							}
						}
						if last-first+1 > captchaRows || last-first+1 < captchaRows/2 {
							t.Fatalf("%s: the picture spans lines %d to %d:\n%s", name, first, last, v)
						}
						if !strings.Contains(strings.Join(lines[last+1:], "\n"), tr.N("tui.identify.answer_n", 5)) {
							t.Fatalf("%s: no answer field below the picture:\n%s", name, v)
						}
					}
					check("identify")
					h.typeText("alice")
					h.enter()
					h.typeText("00000")
					h.enter()
					h.waitText(tr.T("flow.captcha.wrong"))
					check("identify, wrong picture")
				})
			}
		}
	}
}

// TestNotUTF8DrawsASCII: a terminal whose locale is not UTF-8 gets every
// screen in 7-bit ASCII with the same meaning, the CAPTCHA included.
func TestNotUTF8DrawsASCII(t *testing.T) {
	for _, lang := range []string{"C", "de_DE.ISO-8859-1", "en_US"} {
		t.Run(lang, func(t *testing.T) {
			h := startEnv(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, Options{}, true,
				[]string{"TERM=xterm-256color", "LANG=" + lang})
			v := h.waitView("the ASCII picture", func(v string) bool { return strings.Count(v, "#") > 20 })
			h.typeText("alice")
			h.enter()
			h.typeText("00000")
			h.enter()
			v = h.waitFor("x Error: The digits didn't match.", "Step 1 of 3 - Who are you")
			for i, r := range h.rawView() {
				if r > 0x7e && r != 0x1b {
					t.Fatalf("%U at byte %d of a frame for a terminal that is not UTF-8:\n%s", r, i, v)
				}
			}
			if strings.Count(v, "#") < 20 {
				t.Fatalf("no picture:\n%s", v)
			}
		})
	}
	if !utf8Locale("") || !utf8Locale("de_DE.UTF-8") || !utf8Locale("en_US.utf8") || !utf8Locale("C.UTF-8") || utf8Locale("POSIX") {
		t.Fatal("utf8Locale")
	}
}
