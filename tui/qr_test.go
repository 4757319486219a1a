package tui

import (
	"strings"
	"testing"
)

func TestQRTextIsSquareWithQuietZone(t *testing.T) {
	s, err := QRText("otpauth://totp/sspr:x?secret=JBSWY3DPEHPK3PXP&issuer=sspr")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	w := len([]rune(lines[0]))
	for i, l := range lines {
		if len([]rune(l)) != w {
			t.Fatalf("line %d has width %d, want %d", i, len([]rune(l)), w)
		}
	}
	if h := len(lines); h != (w+1)/2 {
		t.Fatalf("%d rows for %d columns: not square", h, w)
	}
	// The first row is the light quiet zone, all ink.
	if strings.Trim(lines[0], "█") != "" {
		t.Fatalf("first row is not quiet: %q", lines[0])
	}
}
