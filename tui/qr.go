package tui

import (
	"strings"

	"github.com/boombuler/barcode/qr"
)

// QRText draws s as a QR code with half blocks: two modules per character
// row, light modules as ink, so it scans on a dark or a light terminal
// alike (the code carries its own light quiet zone of two modules).
func QRText(s string) (string, error) { return drawQR(s, qr.M, 2) }

// drawQR draws s at error correction level and with a quiet zone of
// quiet modules: the wizard draws with level L and one module, which fits
// an authenticator's URI in 18 rows.
func drawQR(s string, level qr.ErrorCorrectionLevel, quiet int) (string, error) {
	code, err := qr.Encode(s, level, qr.Auto)
	if err != nil {
		return "", err
	}
	n := code.Bounds().Dx()
	dark := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r < 0x8000
	}
	var b strings.Builder
	size := n + 2*quiet
	for y := 0; y < size; y += 2 {
		for x := 0; x < size; x++ {
			top, bottom := !dark(x, y), y+1 < size && !dark(x, y+1)
			if y+1 >= size {
				bottom = false
			}
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
