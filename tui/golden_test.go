package tui

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// updating reports -update (the flag teatest defines): rewrite the golden
// files of the screens under testdata/screens.
func updating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	v, _ := f.Value.(flag.Getter).Get().(bool)
	return v
}

// golden collects the frames of one walk and compares them, at the end of
// the test, with testdata/screens/<name>.golden (go test -update rewrites
// it). What changes from run to run is masked: support codes and tokens,
// numbers of two digits or more (codes, the number to key in, countdowns),
// the CAPTCHA's rows and the spinner. Escape sequences are kept: a
// styled golden file holds the colours and attributes of every screen.
type golden struct {
	t     *testing.T
	name  string
	parts []string
}

func newGolden(t *testing.T, name string) *golden {
	g := &golden{t: t, name: name}
	t.Cleanup(g.check)
	return g
}

var (
	escSeq     = regexp.MustCompile(`\x1b\[[0-9;:?]*[a-zA-Z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)`)
	hexRun     = regexp.MustCompile(`\b[0-9a-f]{8,}\b`)
	digitRun   = regexp.MustCompile(`\d{2,}`)
	spinnerRun = regexp.MustCompile(`[\x{2800}-\x{28ff}]`)
)

// mask hides what differs between runs in the text parts of a frame.
func mask(frame string) string {
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "▀▄█") || strings.ContainsAny(ansiStripped(l), "\"_#") && captchaASCII(l) {
			lines[i] = "<captcha row>"
			continue
		}
		var b strings.Builder
		last := 0
		for _, loc := range escSeq.FindAllStringIndex(l, -1) {
			b.WriteString(maskText(l[last:loc[0]]))
			b.WriteString(l[loc[0]:loc[1]])
			last = loc[1]
		}
		b.WriteString(maskText(l[last:]))
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

func maskText(s string) string {
	s = hexRun.ReplaceAllString(s, "<hex>")
	s = digitRun.ReplaceAllString(s, "##")
	return spinnerRun.ReplaceAllString(s, "*")
}

func ansiStripped(s string) string { return escSeq.ReplaceAllString(s, "") }

// captchaASCII reports a row of the ASCII CAPTCHA: a wide run of its
// three glyphs and spaces only.
func captchaASCII(l string) bool {
	s := strings.TrimSpace(ansiStripped(l))
	return len(s) > 20 && strings.Trim(s, "\"_# ") == ""
}

// add records a frame under a title.
func (g *golden) add(title, frame string) {
	g.parts = append(g.parts, "=== "+title+" ===\n"+mask(frame)+"\n")
}

func (g *golden) check() {
	if g.t.Failed() || len(g.parts) == 0 {
		return
	}
	got := strings.Join(g.parts, "")
	path := filepath.Join("testdata", "screens", g.name+".golden")
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			g.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		g.t.Fatalf("%v (go test ./tui -run %s -update writes it)", err, g.t.Name())
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range max(len(wl), len(gl)) {
			var w, o string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				o = gl[i]
			}
			if w != o {
				g.t.Fatalf("%s differs from the screens at line %d:\nwant %q\ngot  %q\n(go test ./tui -run %s -update rewrites it after a wanted change)", path, i+1, w, o, g.t.Name())
			}
		}
	}
}
