package main

import (
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrText draws s as a QR code with half blocks: two modules per character
// row, light modules as ink, so it scans on a dark or a light terminal
// alike (the code carries its own light quiet zone).
func qrText(s string) (string, error) {
	code, err := qr.Encode(s, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	const quiet = 2
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
