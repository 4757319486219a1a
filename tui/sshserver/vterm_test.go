package sshserver

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// vterm is the screen a terminal shows for the bytes a session received:
// as much of an xterm as the renderer's output needs. The renderer sends
// only the cells that changed since its last frame, and skips frames that
// come too fast, so the text on the wire is not the text on the screen:
// "Enter your " of a label may stay from the screen before, and only
// "verification code" be sent. Tests read the screen here, as a person
// would, and search the raw stream only for what must never be sent.
type vterm struct {
	w, h     int
	cells    [][]string // "" is the right half of a wide character
	main     [][]string // the main screen while the alternate one is shown
	x, y     int
	top, bot int // scroll region, inclusive
	wrapNext bool
	autowrap bool
	insert   bool
	saved    [2]int
	last     string // last printed grapheme, for REP

	pending string // the start of a sequence cut by the end of a read
	p       *ansi.Parser
	unknown map[string]bool
}

func newVterm(w, h int) *vterm {
	vt := &vterm{w: w, h: h, autowrap: true, p: ansi.NewParser(), unknown: map[string]bool{}}
	vt.p.SetParamsSize(32)
	vt.p.SetDataSize(4096)
	vt.cells = vt.blankScreen()
	vt.top, vt.bot = 0, h-1
	return vt
}

func (vt *vterm) blankLine() []string {
	l := make([]string, vt.w)
	for i := range l {
		l[i] = " "
	}
	return l
}

func (vt *vterm) blankScreen() [][]string {
	s := make([][]string, vt.h)
	for i := range s {
		s[i] = vt.blankLine()
	}
	return s
}

// write applies the next bytes of the stream; a sequence cut at their end
// waits for the rest.
func (vt *vterm) write(data string) {
	rest := vt.pending + data
	for len(rest) > 0 {
		if rest[0] >= 0xc0 && !utf8.FullRuneInString(rest) {
			break
		}
		seq, width, n, state := ansi.DecodeSequence(rest, ansi.NormalState, vt.p)
		if state != ansi.NormalState || n == 0 {
			break // incomplete
		}
		rest = rest[n:]
		vt.apply(seq, width)
	}
	vt.pending = rest
}

func (vt *vterm) apply(seq string, width int) {
	c := seq[0]
	switch {
	case width > 0:
		vt.print(seq, width)
	case c == ansi.ESC && len(seq) > 1 && seq[1] == '[':
		vt.csi()
	case c == ansi.ESC && len(seq) > 1 && strings.IndexByte("]P_^X", seq[1]) >= 0:
		// OSC, DCS, APC, PM, SOS: titles, queries, hyperlinks.
	case c == ansi.ESC:
		vt.esc(ansi.Cmd(vt.p.Command()))
	case c < 0x20 || c == 0x7f:
		vt.control(c)
	}
}

func (vt *vterm) control(c byte) {
	switch c {
	case '\r':
		vt.moveTo(0, vt.y)
	case '\n', '\v', '\f':
		// The renderer is told the terminal maps a newline to CR LF.
		vt.index()
		vt.moveTo(0, vt.y)
	case '\b':
		vt.moveTo(vt.x-1, vt.y)
	case '\t':
		vt.moveTo(min((vt.x/8+1)*8, vt.w-1), vt.y)
	}
}

func (vt *vterm) esc(cmd ansi.Cmd) {
	if cmd.Intermediate() != 0 {
		return // character sets
	}
	switch cmd.Final() {
	case 'M':
		vt.reverseIndex()
	case 'D':
		vt.index()
	case 'E':
		vt.index()
		vt.moveTo(0, vt.y)
	case '7':
		vt.saved = [2]int{vt.x, vt.y}
	case '8':
		vt.moveTo(vt.saved[0], vt.saved[1])
	case 'c':
		*vt = *newVterm(vt.w, vt.h)
	}
}

func (vt *vterm) param(i, def int) int {
	v, _, _ := vt.p.Params().Param(i, def)
	if v == 0 && def == 1 {
		return 1
	}
	return v
}

func (vt *vterm) csi() {
	cmd := ansi.Cmd(vt.p.Command())
	n := vt.param(0, 1)
	if cmd.Prefix() == '?' && (cmd.Final() == 'h' || cmd.Final() == 'l') {
		vt.privateModes(cmd.Final() == 'h')
		return
	}
	if cmd.Prefix() != 0 || cmd.Intermediate() != 0 {
		return // keyboard protocols, cursor shape, mode reports
	}
	switch cmd.Final() {
	case 'A':
		vt.moveTo(vt.x, vt.y-n)
	case 'B', 'e':
		vt.moveTo(vt.x, vt.y+n)
	case 'C', 'a':
		vt.moveTo(vt.x+n, vt.y)
	case 'D':
		vt.moveTo(vt.x-n, vt.y)
	case 'E':
		vt.moveTo(0, vt.y+n)
	case 'F':
		vt.moveTo(0, vt.y-n)
	case 'G', '`':
		vt.moveTo(n-1, vt.y)
	case 'd':
		vt.moveTo(vt.x, n-1)
	case 'H', 'f':
		vt.moveTo(vt.param(1, 1)-1, n-1)
	case 'I':
		vt.moveTo(min((vt.x/8+n)*8, vt.w-1), vt.y)
	case 'Z':
		vt.moveTo(max(((vt.x+7)/8-n)*8, 0), vt.y)
	case 'J':
		vt.eraseDisplay(vt.param(0, 0))
	case 'K':
		vt.eraseLine(vt.param(0, 0))
	case 'X':
		vt.wrapNext = false
		vt.blank(vt.y, vt.x, vt.x+n)
	case '@':
		vt.wrapNext = false
		line := vt.cells[vt.y]
		n = min(n, vt.w-vt.x)
		copy(line[vt.x+n:], line[vt.x:vt.w-n])
		vt.blank(vt.y, vt.x, vt.x+n)
	case 'P':
		vt.wrapNext = false
		line := vt.cells[vt.y]
		n = min(n, vt.w-vt.x)
		copy(line[vt.x:], line[vt.x+n:])
		vt.blank(vt.y, vt.w-n, vt.w)
	case 'L':
		if vt.y >= vt.top && vt.y <= vt.bot {
			vt.scrollDown(vt.y, n)
			vt.moveTo(0, vt.y)
		}
	case 'M':
		if vt.y >= vt.top && vt.y <= vt.bot {
			vt.scrollUp(vt.y, n)
			vt.moveTo(0, vt.y)
		}
	case 'S':
		vt.scrollUp(vt.top, n)
	case 'T':
		vt.scrollDown(vt.top, n)
	case 'b':
		for i := 0; i < n && vt.last != ""; i++ {
			vt.print(vt.last, 1)
		}
	case 'r':
		top, bot := vt.param(0, 1)-1, vt.param(1, vt.h)-1
		if bot <= 0 || bot >= vt.h {
			bot = vt.h - 1
		}
		if top < bot {
			vt.top, vt.bot = top, bot
		}
		vt.moveTo(0, 0)
	case 's':
		vt.saved = [2]int{vt.x, vt.y}
	case 'u':
		vt.moveTo(vt.saved[0], vt.saved[1])
	case 'h', 'l':
		if vt.param(0, 0) == 4 {
			vt.insert = cmd.Final() == 'h'
		}
	case 'm', 'n', 'c', 't', 'p', 'q':
		// Colours and queries: nothing on the screen changes.
	default:
		vt.unknown[fmt.Sprintf("CSI %c", cmd.Final())] = true
	}
}

func (vt *vterm) privateModes(on bool) {
	for i := range vt.p.Params() {
		switch vt.param(i, 0) {
		case 7:
			vt.autowrap = on
		case 47, 1047, 1049:
			switch {
			case on && vt.main == nil:
				vt.main, vt.cells = vt.cells, vt.blankScreen()
			case !on && vt.main != nil:
				vt.cells, vt.main = vt.main, nil
			}
		}
	}
}

func (vt *vterm) moveTo(x, y int) {
	vt.x, vt.y = max(0, min(x, vt.w-1)), max(0, min(y, vt.h-1))
	vt.wrapNext = false
}

func (vt *vterm) print(g string, width int) {
	if vt.wrapNext && vt.autowrap {
		vt.index()
		vt.x = 0
	}
	vt.wrapNext = false
	if vt.x+width > vt.w {
		if !vt.autowrap {
			vt.x = vt.w - width
		} else {
			vt.index()
			vt.x = 0
		}
	}
	line := vt.cells[vt.y]
	if vt.insert {
		copy(line[vt.x+width:], line[vt.x:vt.w-width])
	}
	line[vt.x] = g
	for i := 1; i < width; i++ {
		line[vt.x+i] = ""
	}
	vt.last = g
	vt.x += width
	if vt.x >= vt.w {
		vt.x = vt.w - 1
		vt.wrapNext = vt.autowrap
	}
}

// index moves down a line, scrolling the region at its bottom.
func (vt *vterm) index() {
	if vt.y == vt.bot {
		vt.scrollUp(vt.top, 1)
	} else if vt.y < vt.h-1 {
		vt.y++
	}
}

func (vt *vterm) reverseIndex() {
	if vt.y == vt.top {
		vt.scrollDown(vt.top, 1)
	} else if vt.y > 0 {
		vt.y--
	}
}

// scrollUp moves the lines from row to the region's bottom up by n.
func (vt *vterm) scrollUp(row, n int) {
	n = min(n, vt.bot-row+1)
	copy(vt.cells[row:vt.bot+1], vt.cells[row+n:vt.bot+1])
	for i := vt.bot - n + 1; i <= vt.bot; i++ {
		vt.cells[i] = vt.blankLine()
	}
}

// scrollDown moves the lines from row to the region's bottom down by n.
func (vt *vterm) scrollDown(row, n int) {
	n = min(n, vt.bot-row+1)
	copy(vt.cells[row+n:vt.bot+1], vt.cells[row:vt.bot+1-n])
	for i := row; i < row+n; i++ {
		vt.cells[i] = vt.blankLine()
	}
}

func (vt *vterm) blank(y, from, to int) {
	for x := max(from, 0); x < min(to, vt.w); x++ {
		vt.cells[y][x] = " "
	}
}

func (vt *vterm) eraseLine(mode int) {
	switch mode {
	case 0:
		vt.blank(vt.y, vt.x, vt.w)
	case 1:
		vt.blank(vt.y, 0, vt.x+1)
	case 2:
		vt.blank(vt.y, 0, vt.w)
	}
}

func (vt *vterm) eraseDisplay(mode int) {
	switch mode {
	case 0:
		vt.blank(vt.y, vt.x, vt.w)
		for y := vt.y + 1; y < vt.h; y++ {
			vt.blank(y, 0, vt.w)
		}
	case 1:
		vt.blank(vt.y, 0, vt.x+1)
		for y := 0; y < vt.y; y++ {
			vt.blank(y, 0, vt.w)
		}
	case 2, 3:
		for y := 0; y < vt.h; y++ {
			vt.blank(y, 0, vt.w)
		}
	}
}

// lines returns the screen, one string a row, trailing blanks removed.
func (vt *vterm) lines() []string { return vt.columns(0, vt.w) }

// columns returns the columns from x0 up to x1 of every row, trailing
// blanks removed.
func (vt *vterm) columns(x0, x1 int) []string {
	out := make([]string, vt.h)
	for y, l := range vt.cells {
		out[y] = strings.TrimRight(strings.Join(l[min(x0, vt.w):min(x1, vt.w)], ""), " ")
	}
	return out
}

func (vt *vterm) String() string { return strings.Join(vt.lines(), "\n") }

// The screen reader follows what the renderer sends: positioning, erasing,
// repeating, scrolling regions and lines moved in and out, sequences cut
// between two reads.
func TestVterm(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"text and lines", "ab\r\ncd", []string{"ab", "cd", ""}},
		{"position and erase", "hello you\x1b[1;7HYOU\x1b[1;3H\x1b[2X", []string{"he  o YOU", "", ""}},
		{"repeat", "x\x1b[3b|", []string{"xxxx|", "", ""}},
		{"erase to end", "abcdef\x1b[1;3H\x1b[K\r\nxyz\x1b[1J", []string{"", "", ""}},
		{"column, row and relative moves", "\x1b[2d\x1b[4GA\x1b[2DB\x1b[AC\x1b[3CD", []string{"   C   D", "  BA", ""}},
		{"insert and delete characters", "abcdef\r\x1b[2@\x1b[3G\x1b[1P", []string{"  bcdef", "", ""}},
		{"insert and delete lines", "1\r\n2\r\n3\x1b[2;1H\x1b[L\x1b[1;1H\x1b[M", []string{"", "2", ""}},
		{"scroll region", "1\r\n2\r\n3\x1b[2;3r\x1b[3;1H\n4\x1b[r", []string{"1", "3", "4"}},
		{"reverse index scrolls at the top", "1\r\n2\r\n3\x1b[H\x1bM0", []string{"0", "1", "2"}},
		{"scroll up and down", "1\r\n2\r\n3\x1b[1S\x1b[2T", []string{"", "", "2"}},
		{"last column without wrap", "\x1b[?7l\x1b[1;9Habc\x1b[?7h", []string{"        ac", "", ""}},
		{"last column with wrap", "\x1b[1;9Habc", []string{"        ab", "c", ""}},
		{"box drawing and wide characters", "╭─╮│✓日本|", []string{"╭─╮│✓日本|", "", ""}},
		{"alternate screen", "main\x1b[?1049halt\x1b[?1049l", []string{"main", "", ""}},
		{"titles and queries", "\x1b]2;title\x07\x1b[?2026$p\x1b[>4;2m\x1b[2 q\x1b[1;94mok\x1b[m", []string{"ok", "", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// At once, then byte by byte as if every read brought one.
			for _, step := range []int{len(tc.in), 1} {
				vt := newVterm(10, 3)
				for i := 0; i < len(tc.in); i += step {
					vt.write(tc.in[i:min(i+step, len(tc.in))])
				}
				if got := vt.lines(); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("written %d bytes at a time: screen\n%q\nwant\n%q", step, got, tc.want)
				}
				if len(vt.unknown) > 0 {
					t.Errorf("unknown sequences %v", vt.unknown)
				}
			}
		})
	}
}
