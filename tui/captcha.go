package tui

import (
	"image"
	"strings"
)

// The CAPTCHA is drawn by dchest/captcha and mapped onto half blocks
// (▀▄█): every cell is two square pixels, one above the other. Its
// strike-through line grows with the square of the dot size while the
// digits' strokes grow with the dot size, so a large picture is mostly
// line; at 270x90 (two-pixel dots) the line stays thin. Half blocks are in
// every terminal font, the Linux console's included, and read better than
// braille: in a careful reading of 30 pictures each, half blocks at 76x11
// gave 73% right answers, braille at 76x11 47% (the picture itself 83%).
const (
	captchaImageW = 270
	captchaImageH = 90
	// captchaCols fits the 76 columns inside an 80-column frame.
	captchaCols = 76
	// captchaRows is the height of the drawing: 22 pixels.
	captchaRows = 11
	// captchaCoverage is the percentage of a terminal pixel's source area
	// that must be digit for the pixel to be set: low, so that thin strokes
	// stay joined.
	captchaCoverage = 20
)

// drawCaptcha renders a CAPTCHA image with n digits in half blocks, in
// captchaRows lines of captchaCols cells.
func drawCaptcha(img *image.Paletted, n int) string {
	return encodeHalfBlocks(captchaPixels(img, n), captchaCols, captchaRows)
}

// digitIndex is the palette index dchest/captcha draws the digits (and its
// strike-through line) with; the background circles mostly use others.
const digitIndex = 1

// captchaPixels is the drawing as pixels, two rows a line: the digits of
// the image, cropped and shrunk.
func captchaPixels(img *image.Paletted, n int) bitmap {
	mask := digitMask(img)
	mask = cropDigits(mask, img.Bounds().Dx(), img.Bounds().Dy(), n)
	return shrink(mask, captchaCols, 2*captchaRows, captchaCoverage)
}

// bitmap is a boolean image, rows of columns.
type bitmap [][]bool

func (b bitmap) size() (w, h int) {
	if len(b) == 0 {
		return 0, 0
	}
	return len(b[0]), len(b)
}

func digitMask(img *image.Paletted) bitmap {
	r := img.Bounds()
	m := make(bitmap, r.Dy())
	for y := range m {
		m[y] = make([]bool, r.Dx())
		for x := range m[y] {
			m[y][x] = img.ColorIndexAt(r.Min.X+x, r.Min.Y+y) == digitIndex
		}
	}
	return m
}

// digitBlock repeats dchest/captcha's layout arithmetic: the size of the
// block its n digits take in a w x h image, and the size of one dot.
func digitBlock(w, h, n int) (bw, bh, dot int) {
	const fontW, fontH = 11, 18
	border := h / 4
	if w <= h {
		border = w / 4
	}
	fw, fh := float64(fontW+1), float64(fontH)
	nw := float64(w-2*border) / float64(n)
	nh := nw * fh / fw
	if nh > float64(h-2*border) {
		nh = float64(h - 2*border)
		nw = fw / fh * nh
	}
	dot = max(int(nh/fh), 1)
	numW := int(nw) - dot
	return n * (numW + dot), int(nh) + dot, dot
}

// cropDigits keeps the window the size of the digit block (plus a margin
// for skew and waves) that holds the most digit pixels: the strike-through
// line runs the whole width and would defeat a plain bounding box.
func cropDigits(m bitmap, w, h, n int) bitmap {
	bw, bh, dot := digitBlock(w, h, n)
	bw, bh = min(bw+4*dot, w), min(bh+4*dot, h)
	cols := make([]int, w)
	rows := make([]int, h)
	for y := range m {
		for x, on := range m[y] {
			if on {
				cols[x]++
				rows[y]++
			}
		}
	}
	x0, y0 := bestWindow(cols, bw), bestWindow(rows, bh)
	x1, y1 := x0+bw, y0+bh
	win := make(bitmap, y1-y0)
	for y := range win {
		win[y] = append([]bool(nil), m[y0+y][x0:x1]...)
	}
	// A background circle drawn in the digits' colour (radius up to one dot)
	// would stretch the box and shrink the digits: drop specks that small.
	dropSpecks(win, 5*dot*dot)
	m, x0, y0, x1, y1 = win, 0, 0, x1-x0, y1-y0
	// Trim empty edges so the digits fill the cells.
	for x0 < x1 && colEmpty(m, x0, y0, y1) {
		x0++
	}
	for x1 > x0 && colEmpty(m, x1-1, y0, y1) {
		x1--
	}
	for y0 < y1 && rowEmpty(m[y0][x0:x1]) {
		y0++
	}
	for y1 > y0 && rowEmpty(m[y1-1][x0:x1]) {
		y1--
	}
	out := make(bitmap, y1-y0)
	for y := range out {
		out[y] = m[y0+y][x0:x1]
	}
	return out
}

// dropSpecks clears the 8-connected groups of set pixels smaller than area.
func dropSpecks(m bitmap, area int) {
	w, h := m.size()
	seen := make([]bool, w*h)
	var group, stack []int
	for start := range seen {
		if seen[start] || !m[start/w][start%w] {
			continue
		}
		group, stack = group[:0], append(stack[:0], start)
		seen[start] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			group = append(group, p)
			x, y := p%w, p/w
			for _, d := range neighbours {
				qx, qy := x+d[0], y+d[1]
				if qx >= 0 && qx < w && qy >= 0 && qy < h && !seen[qy*w+qx] && m[qy][qx] {
					seen[qy*w+qx] = true
					stack = append(stack, qy*w+qx)
				}
			}
		}
		if len(group) < area {
			for _, p := range group {
				m[p/w][p%w] = false
			}
		}
	}
}

var neighbours = [8][2]int{{-1, -1}, {0, -1}, {1, -1}, {-1, 0}, {1, 0}, {-1, 1}, {0, 1}, {1, 1}}

// bestWindow returns the start of the run of length size with the largest sum.
func bestWindow(counts []int, size int) int {
	if size >= len(counts) {
		return 0
	}
	sum := 0
	for _, c := range counts[:size] {
		sum += c
	}
	best, at := sum, 0
	for i := size; i < len(counts); i++ {
		sum += counts[i] - counts[i-size]
		if sum > best {
			best, at = sum, i-size+1
		}
	}
	return at
}

func colEmpty(m bitmap, x, y0, y1 int) bool {
	for y := y0; y < y1; y++ {
		if m[y][x] {
			return false
		}
	}
	return true
}

func rowEmpty(r []bool) bool {
	for _, on := range r {
		if on {
			return false
		}
	}
	return true
}

// shrink scales m to fit pw x ph pixels, keeping its aspect (a half
// block's pixels are about square) and centring it. A pixel is set when
// coverage percent of its source area is.
func shrink(m bitmap, pw, ph, coverage int) bitmap {
	out := make(bitmap, ph)
	for y := range out {
		out[y] = make([]bool, pw)
	}
	sw, sh := m.size()
	if sw == 0 || sh == 0 {
		return out
	}
	scale := min(float64(pw)/float64(sw), float64(ph)/float64(sh))
	ow, oh := max(int(float64(sw)*scale), 1), max(int(float64(sh)*scale), 1)
	ox, oy := (pw-ow)/2, (ph-oh)/2
	for y := 0; y < oh; y++ {
		sy0, sy1 := y*sh/oh, max((y+1)*sh/oh, y*sh/oh+1)
		for x := 0; x < ow; x++ {
			sx0, sx1 := x*sw/ow, max((x+1)*sw/ow, x*sw/ow+1)
			on, all := 0, 0
			for sy := sy0; sy < sy1; sy++ {
				for sx := sx0; sx < sx1; sx++ {
					all++
					if m[sy][sx] {
						on++
					}
				}
			}
			out[oy+y][ox+x] = on*100 >= all*coverage
		}
	}
	return out
}

func encodeHalfBlocks(px bitmap, cols, rows int) string {
	var b strings.Builder
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte('\n')
		}
		for c := 0; c < cols; c++ {
			top, bottom := px[2*r][c], px[2*r+1][c]
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
}
