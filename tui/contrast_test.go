package tui

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// The default 16 colours of xterm and of the Linux console.
var (
	xterm16 = [16]uint32{0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
		0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff}
	linux16 = [16]uint32{0x000000, 0xaa0000, 0x00aa00, 0xaa5500, 0x0000aa, 0xaa00aa, 0x00aaaa, 0xaaaaaa,
		0x555555, 0xff5555, 0x55ff55, 0xffff55, 0x5555ff, 0xff55ff, 0x55ffff, 0xffffff}
)

// xterm256 is the RGB of colour i in xterm's 256-colour palette.
func xterm256(i int) uint32 {
	switch {
	case i < 16:
		return xterm16[i]
	case i < 232:
		i -= 16
		level := func(v int) uint32 {
			if v == 0 {
				return 0
			}
			return uint32(55 + 40*v)
		}
		return level(i/36)<<16 | level(i/6%6)<<8 | level(i%6)
	}
	g := uint32(8 + 10*(i-232))
	return g<<16 | g<<8 | g
}

// luminance is the relative luminance of WCAG 2.x.
func luminance(rgb uint32) float64 {
	lin := func(c uint32) float64 {
		v := float64(c) / 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(rgb>>16&0xff) + 0.7152*lin(rgb>>8&0xff) + 0.0722*lin(rgb&0xff)
}

func contrast(a, b uint32) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// rgbOn is the RGB a terminal shows for c: "xterm" with 256 colours,
// "xterm16" and "linux" with the basic 16 (the colour converted as Lip
// Gloss converts it for a 16-colour terminal). Both draw bold text in one
// of the 8 basic colours in its bright twin.
func rgbOn(term string, c color.Color, bold bool) (uint32, error) {
	if term != "xterm" {
		c = colorprofile.ANSI.Convert(c)
	}
	switch v := c.(type) {
	case ansi.BasicColor:
		if bold && v < 8 {
			v += 8
		}
		if term == "linux" {
			return linux16[v], nil
		}
		return xterm16[v], nil
	case ansi.IndexedColor:
		return xterm256(int(v)), nil
	}
	return 0, fmt.Errorf("colour %#v is not from a palette", c)
}

// TestThemeContrast computes the contrast of every text colour of the
// theme against the background of xterm (black on white by default, and
// reversed) and of the Linux console (light grey on black), and wants
// WCAG AA: 4.5:1.
func TestThemeContrast(t *testing.T) {
	cases := []struct {
		term string
		dark bool
		bg   uint32
	}{
		{"xterm", false, 0xffffff},
		{"xterm", true, 0x000000},
		{"xterm16", false, 0xffffff},
		{"xterm16", true, 0x000000},
		{"linux", true, 0x000000},
	}
	for _, c := range cases {
		th := newThemeFor(c.dark, c.term == "linux", false, false, false, c.term != "xterm")
		styles := map[string]lipgloss.Style{"title": th.title, "crumb": th.crumb, "hint": th.hint, "error": th.errText,
			"info": th.info, "met": th.met, "rule": th.rule, "focus": th.focus, "link": th.link, "dim": th.dim, "ok": th.ok}
		for role, st := range styles {
			col := st.GetForeground()
			if _, none := col.(lipgloss.NoColor); none || col == nil {
				continue
			}
			rgb, err := rgbOn(c.term, col, st.GetBold())
			if err != nil {
				t.Fatal(err)
			}
			r := contrast(rgb, c.bg)
			t.Logf("%s %s: %s #%06x on #%06x = %.2f:1", c.term, map[bool]string{true: "dark", false: "light"}[c.dark], role, rgb, c.bg, r)
			if r < 4.5 {
				t.Errorf("%s, dark=%v: %s (#%06x) on #%06x is %.2f:1, want 4.5:1 or more", c.term, c.dark, role, rgb, c.bg, r)
			}
		}
	}
	// Known values, so the computation itself is right: black on white is
	// 21:1, #777777 on white 4.48:1.
	if r := contrast(0, 0xffffff); math.Abs(r-21) > 0.01 {
		t.Fatalf("black on white = %.2f, want 21", r)
	}
	if r := contrast(0x777777, 0xffffff); math.Abs(r-4.48) > 0.01 {
		t.Fatalf("#777777 on white = %.2f, want 4.48", r)
	}
	// The grey stays a grey on the console: dim text must differ from
	// bright white.
	if rgb, _ := rgbOn("linux", newTheme(true, true, false, false).grey, false); rgb == 0xffffff {
		t.Fatal("the grey is white on the Linux console")
	}
}
