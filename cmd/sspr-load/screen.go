package main

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// screen is the text a terminal would show for the bytes a session
// received: only as much of an xterm as a Bubble Tea renderer uses. The
// renderer sends only the cells that changed, so the stream alone does not
// say what is on the screen ("Enter your " of a label may stay from the
// screen before); waits for a screen read it here.
type screen struct {
	w, h     int
	cells    [][]rune // 0 is the right half of a wide character
	x, y     int
	top, bot int
	wrapNext bool
	saved    [2]int
	last     rune
	pending  string
	p        *ansi.Parser
}

func newScreen(w, h int) *screen {
	s := &screen{w: w, h: h, p: ansi.NewParser()}
	s.p.SetParamsSize(32)
	s.p.SetDataSize(4096)
	s.cells = make([][]rune, h)
	for i := range s.cells {
		s.cells[i] = s.blank()
	}
	s.top, s.bot = 0, h-1
	return s
}

func (s *screen) blank() []rune {
	l := make([]rune, s.w)
	for i := range l {
		l[i] = ' '
	}
	return l
}

// String is the screen, one line per row, trailing blanks kept.
func (s *screen) String() string {
	var b strings.Builder
	for _, l := range s.cells {
		for _, r := range l {
			if r != 0 {
				b.WriteRune(r)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *screen) write(data []byte) {
	rest := s.pending + string(data)
	for len(rest) > 0 {
		if rest[0] >= 0xc0 && !utf8.FullRuneInString(rest) {
			break
		}
		seq, width, n, state := ansi.DecodeSequence(rest, ansi.NormalState, s.p)
		if state != ansi.NormalState || n == 0 {
			break
		}
		rest = rest[n:]
		s.apply(seq, width)
	}
	if len(rest) > 8192 { // never grow without bound on garbage
		rest = ""
	}
	s.pending = rest
}

func (s *screen) apply(seq string, width int) {
	c := seq[0]
	switch {
	case width > 0:
		r, _ := utf8.DecodeRuneInString(seq)
		s.print(r, width)
	case c == ansi.ESC && len(seq) > 1 && seq[1] == '[':
		s.csi()
	case c == ansi.ESC && len(seq) > 1:
		switch seq[1] {
		case '7':
			s.saved = [2]int{s.x, s.y}
		case '8':
			s.move(s.saved[0], s.saved[1])
		case 'M':
			if s.y == s.top {
				s.scroll(-1)
			} else {
				s.move(s.x, s.y-1)
			}
		case 'D':
			s.index()
		case 'E':
			s.index()
			s.move(0, s.y)
		}
	case c == '\r':
		s.move(0, s.y)
	case c == '\n' || c == '\v' || c == '\f':
		s.index()
		s.move(0, s.y)
	case c == '\b':
		s.move(s.x-1, s.y)
	case c == '\t':
		s.move(min((s.x/8+1)*8, s.w-1), s.y)
	}
}

func (s *screen) move(x, y int) {
	s.x, s.y = max(0, min(x, s.w-1)), max(0, min(y, s.h-1))
	s.wrapNext = false
}

func (s *screen) index() {
	if s.y == s.bot {
		s.scroll(1)
		return
	}
	s.move(s.x, s.y+1)
}

// scroll moves the lines of the scroll region up by n (down when n < 0).
func (s *screen) scroll(n int) {
	for ; n > 0; n-- {
		copy(s.cells[s.top:s.bot], s.cells[s.top+1:s.bot+1])
		s.cells[s.bot] = s.blank()
	}
	for ; n < 0; n++ {
		copy(s.cells[s.top+1:s.bot+1], s.cells[s.top:s.bot])
		s.cells[s.top] = s.blank()
	}
}

func (s *screen) print(r rune, width int) {
	if s.wrapNext {
		s.index()
		s.move(0, s.y)
	}
	if s.x+width > s.w {
		s.index()
		s.move(0, s.y)
	}
	s.cells[s.y][s.x] = r
	for i := 1; i < width && s.x+i < s.w; i++ {
		s.cells[s.y][s.x+i] = 0
	}
	s.last = r
	if s.x+width >= s.w {
		s.x = s.w - 1
		s.wrapNext = true
		return
	}
	s.x += width
}

func (s *screen) erase(y, from, to int) {
	for x := max(0, from); x < min(to, s.w); x++ {
		s.cells[y][x] = ' '
	}
}

func (s *screen) csi() {
	cmd := ansi.Cmd(s.p.Command())
	if cmd.Prefix() != 0 || cmd.Intermediate() != 0 {
		if cmd.Prefix() == '?' && (cmd.Final() == 'h' || cmd.Final() == 'l') {
			if n, _ := s.p.Param(0, 0); n == 1049 || n == 47 || n == 1047 {
				for y := range s.cells {
					s.cells[y] = s.blank()
				}
			}
		}
		return
	}
	p := func(i, def int) int {
		n, _ := s.p.Param(i, def)
		if n == 0 && def > 0 {
			return def
		}
		return n
	}
	switch cmd.Final() {
	case 'H', 'f':
		s.move(p(1, 1)-1, p(0, 1)-1)
	case 'A':
		s.move(s.x, s.y-p(0, 1))
	case 'B', 'e':
		s.move(s.x, s.y+p(0, 1))
	case 'C', 'a':
		s.move(s.x+p(0, 1), s.y)
	case 'D':
		s.move(s.x-p(0, 1), s.y)
	case 'E':
		s.move(0, s.y+p(0, 1))
	case 'F':
		s.move(0, s.y-p(0, 1))
	case 'G', '`':
		s.move(p(0, 1)-1, s.y)
	case 'd':
		s.move(s.x, p(0, 1)-1)
	case 'K':
		switch p(0, 0) {
		case 0:
			s.erase(s.y, s.x, s.w)
		case 1:
			s.erase(s.y, 0, s.x+1)
		case 2:
			s.erase(s.y, 0, s.w)
		}
	case 'J':
		switch p(0, 0) {
		case 0:
			s.erase(s.y, s.x, s.w)
			for y := s.y + 1; y < s.h; y++ {
				s.erase(y, 0, s.w)
			}
		case 1:
			for y := 0; y < s.y; y++ {
				s.erase(y, 0, s.w)
			}
			s.erase(s.y, 0, s.x+1)
		case 2, 3:
			for y := range s.h {
				s.erase(y, 0, s.w)
			}
		}
	case 'X':
		s.erase(s.y, s.x, s.x+p(0, 1))
	case 'b':
		for range min(p(0, 1), s.w) {
			s.print(s.last, 1)
		}
	case '@':
		n := min(p(0, 1), s.w-s.x)
		l := s.cells[s.y]
		copy(l[s.x+n:], l[s.x:s.w-n])
		s.erase(s.y, s.x, s.x+n)
	case 'P':
		n := min(p(0, 1), s.w-s.x)
		l := s.cells[s.y]
		copy(l[s.x:], l[s.x+n:])
		s.erase(s.y, s.w-n, s.w)
	case 'S':
		s.scroll(p(0, 1))
	case 'T':
		s.scroll(-p(0, 1))
	case 'L', 'M':
		if s.y < s.top || s.y > s.bot {
			return
		}
		top := s.top
		s.top = s.y
		if cmd.Final() == 'L' {
			s.scroll(-p(0, 1))
		} else {
			s.scroll(p(0, 1))
		}
		s.top = top
	case 'r':
		t, b := p(0, 1)-1, p(1, s.h)-1
		if t < b && b < s.h {
			s.top, s.bot = t, b
		} else {
			s.top, s.bot = 0, s.h-1
		}
		s.move(0, 0)
	case 's':
		s.saved = [2]int{s.x, s.y}
	case 'u':
		s.move(s.saved[0], s.saved[1])
	}
}
