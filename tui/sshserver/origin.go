package sshserver

import (
	"io"
	"strconv"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// region is where a session's program draws: a window of w x h cells (at
// most the configured maximum, so that the renderer's buffers, about 230
// bytes a cell each, do not follow the client's window), whose top left
// corner is at column x, row y of the client's terminal of cols x rows.
type region struct{ w, h, x, y, cols, rows int }

// regionFor places the program's window in a client's window of cols x
// rows: clamped to maxW x maxH, and centred unless topLeft.
func regionFor(cols, rows uint32, maxW, maxH int, topLeft bool) region {
	w, h := clampWindow(cols, rows, maxW, maxH)
	cw, ch := clampWindow(cols, rows, maxClientWindow, maxClientWindow)
	r := region{w: w, h: h, cols: cw, rows: ch}
	if !topLeft {
		r.x, r.y = (cw-w)/2, (ch-h)/2
	}
	return r
}

// whole says the region is the client's whole window.
func (r region) whole() bool { return r.x == 0 && r.y == 0 && r.w >= r.cols && r.h >= r.rows }

// edge says the region's right side is the window's.
func (r region) edge() bool { return r.x+r.w >= r.cols }

// maxPending bounds the start of a sequence kept for the next write;
// keepBuf the buffer kept between writes (an echo's frame needs a few
// dozen bytes, a full redraw several KiB).
const (
	maxPending = 4096
	keepBuf    = 2048
)

// origin moves what a program writes into its region of the client's
// window, so that a program told its window is w x h draws in the middle
// of a larger one.
//
// Bubble Tea's renderer (ultraviolet's TerminalRenderer, on the alternate
// screen) places the cursor with absolute sequences (CUP, HVP, CHA, HPA,
// VPA, the home position), with carriage returns and with line feeds
// (the session's output turns a line feed into CR LF, and Bubble Tea
// draws knowing it), and moves it relatively otherwise; it draws no wider
// than the window it was told, and scrolls the whole of it (SU, SD, a
// line feed at its bottom, a reverse index at its top, lines deleted and
// inserted, scroll regions of its rows). So
//   - the absolute sequences get the corner added, and a carriage return
//     or a line feed is followed by a move to the region's left edge;
//   - the terminal's scroll region is kept to the region's rows (set on
//     entering the alternate screen, and put back before leaving it), so
//     that every scroll moves the region's rows and nothing else, and a
//     scroll region the renderer sets is moved with its rows;
//   - the bottom right cell, which the renderer draws with autowrap off
//     and after which it counts on the cursor staying in the last column,
//     as at a terminal's edge, is followed by a move back one column when
//     the region ends before the terminal's edge.
//
// Everything else passes unchanged: erasing to the end of a line or of
// the screen, or scrolling whole rows, only touches cells outside the
// region that hold nothing.
//
// A new region (the client's window changed) takes effect at the next
// full redraw, which the renderer starts with the home position and an
// erase of the whole screen: the home goes to the old corner, the erase
// clears everything, and then the scroll region and the cursor are put
// at the new place.
type origin struct {
	out io.Writer

	mu      sync.Mutex
	cur     region
	next    *region // waits for the next full redraw
	pending []byte  // the start of a sequence cut by the end of a write
	home    bool    // the last sequence written put the cursor home
	// noWrap is set while autowrap is off, printed when something was
	// printed meanwhile (see escape).
	noWrap, printed bool
	// banded says the terminal's scroll region is the region's rows.
	banded bool
	buf    []byte
}

func newOrigin(out io.Writer, r region) *origin { return &origin{out: out, cur: r} }

// set makes r the region from the next full redraw on.
func (o *origin) set(r region) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r == o.cur {
		o.next = nil
		return
	}
	o.next = &r
}

// Write writes p moved by the region's corner. It reports len(p) when the
// moved bytes were all written.
func (o *origin) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur.whole() && !o.banded && o.next == nil && len(o.pending) == 0 {
		return o.out.Write(p)
	}
	data := p
	if len(o.pending) > 0 {
		data = append(o.pending, p...)
		o.pending = nil
	}
	o.buf = o.buf[:0]
	i := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\r' || c == '\n':
			// Both go to the terminal's first column: a line feed too,
			// as the session's output turns it into CR LF (Bubble Tea
			// draws knowing it).
			o.buf = append(o.buf, c)
			if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				o.buf = append(o.buf, '\n')
				i++
			}
			o.right(o.cur.x)
			o.home = false
			i++
		case c == 0x1b:
			n := seqLen(data[i:])
			if n == 0 && len(data)-i <= maxPending { // cut by the end of p: kept for the next write
				o.pending = append([]byte(nil), data[i:]...)
				i = len(data)
				continue
			}
			if n == 0 { // no end in sight: not a sequence the renderer writes
				n = len(data) - i
			}
			o.escape(data[i : i+n])
			i += n
		default:
			j := i + 1
			for j < len(data) && data[j] != '\r' && data[j] != '\n' && data[j] != 0x1b {
				j++
			}
			o.buf = append(o.buf, data[i:j]...)
			o.home = false
			o.printed = o.printed || o.noWrap
			i = j
		}
	}
	if _, err := o.out.Write(o.buf); err != nil {
		return 0, err
	}
	if cap(o.buf) > keepBuf {
		// A full redraw's buffer is not kept: an idle session in a large
		// window holds no more than one of the region's size.
		o.buf = nil
	}
	return len(p), nil
}

// right moves the cursor n columns right.
func (o *origin) right(n int) {
	if n > 0 {
		o.buf = append(o.buf, "\x1b["...)
		o.buf = strconv.AppendInt(o.buf, int64(n), 10)
		o.buf = append(o.buf, 'C')
	}
}

// cup puts the cursor at the 1-based row and column of the terminal.
func (o *origin) cup(row, col int) {
	o.buf = append(o.buf, "\x1b["...)
	o.buf = strconv.AppendInt(o.buf, int64(row), 10)
	o.buf = append(o.buf, ';')
	o.buf = strconv.AppendInt(o.buf, int64(col), 10)
	o.buf = append(o.buf, 'H')
}

// escape writes one escape sequence, moved.
func (o *origin) escape(seq []byte) {
	home := false
	defer func() { o.home = home }()
	if len(seq) == 2 && seq[1] == 'E' { // NEL: a carriage return and a line feed
		o.buf = append(o.buf, seq...)
		o.right(o.cur.x)
		return
	}
	if len(seq) < 3 || seq[1] != '[' {
		o.buf = append(o.buf, seq...)
		return
	}
	switch string(seq) {
	case ansi.SetModeAltScreenSaveCursor:
		o.buf = append(o.buf, seq...)
		o.band()
		home = true
		return
	case ansi.ResetModeAltScreenSaveCursor:
		if o.banded {
			o.buf = append(o.buf, "\x1b[r"...)
			o.banded = false
		}
		o.buf = append(o.buf, seq...)
		return
	case ansi.ResetModeAutoWrap:
		o.noWrap, o.printed = true, false
	case ansi.SetModeAutoWrap:
		// The renderer draws the bottom right cell with autowrap off, and
		// counts on the cursor staying in the last column, as it does at
		// a terminal's edge. Inside the terminal it moved on: back by one.
		if o.noWrap && o.printed && !o.cur.edge() {
			o.buf = append(o.buf, seq...)
			o.buf = append(o.buf, ansi.CursorBackward(1)...)
			o.noWrap, o.printed = false, false
			return
		}
		o.noWrap, o.printed = false, false
	}
	final := seq[len(seq)-1]
	params := seq[2 : len(seq)-1]
	nums, ok := csiNumbers(params)
	if !ok { // private or intermediate bytes: not a move
		o.buf = append(o.buf, seq...)
		return
	}
	arg := func(i, def int) int {
		if i < len(nums) && nums[i] > 0 {
			return nums[i]
		}
		return def
	}
	switch final {
	case 'H', 'f': // CUP, HVP
		row, col := arg(0, 1), arg(1, 1)
		home = row == 1 && col == 1
		o.cup(row+o.cur.y, col+o.cur.x)
	case 'G', '`': // CHA, HPA
		o.buf = append(o.buf, "\x1b["...)
		o.buf = strconv.AppendInt(o.buf, int64(arg(0, 1)+o.cur.x), 10)
		o.buf = append(o.buf, final)
	case 'd': // VPA
		o.buf = append(o.buf, "\x1b["...)
		o.buf = strconv.AppendInt(o.buf, int64(arg(0, 1)+o.cur.y), 10)
		o.buf = append(o.buf, 'd')
	case 'r': // DECSTBM, which also puts the cursor home
		if !o.banded {
			o.buf = append(o.buf, seq...)
			break
		}
		top, bot := arg(0, 1), arg(1, o.cur.h)
		o.buf = append(o.buf, "\x1b["...)
		o.buf = strconv.AppendInt(o.buf, int64(top+o.cur.y), 10)
		o.buf = append(o.buf, ';')
		o.buf = strconv.AppendInt(o.buf, int64(bot+o.cur.y), 10)
		o.buf = append(o.buf, 'r')
		o.cup(1+o.cur.y, 1+o.cur.x)
		home = true
	case 'J':
		o.buf = append(o.buf, seq...)
		if arg(0, 0) == 2 && o.home && o.next != nil {
			// A full redraw begins: from here on, the new region.
			o.cur, o.next = *o.next, nil
			o.band()
			home = true
		} else {
			home = o.home
		}
	default:
		o.buf = append(o.buf, seq...)
	}
}

// band sets the terminal's scroll region to the region's rows (or back
// to the whole screen when the region is the whole window), which puts
// the cursor home, and puts it at the region's top left corner.
func (o *origin) band() {
	if o.cur.whole() {
		if o.banded {
			o.buf = append(o.buf, "\x1b[r"...)
			o.banded = false
		}
	} else {
		o.buf = append(o.buf, "\x1b["...)
		o.buf = strconv.AppendInt(o.buf, int64(1+o.cur.y), 10)
		o.buf = append(o.buf, ';')
		o.buf = strconv.AppendInt(o.buf, int64(o.cur.y+o.cur.h), 10)
		o.buf = append(o.buf, 'r')
		o.banded = true
	}
	o.cup(1+o.cur.y, 1+o.cur.x)
}

// csiNumbers reads a CSI sequence's parameters when they are only digits
// and semicolons (an empty one is 0).
func csiNumbers(p []byte) ([]int, bool) {
	var nums [4]int
	out := nums[:1]
	for _, c := range p {
		switch {
		case c >= '0' && c <= '9':
			v := out[len(out)-1]
			if v > 1<<20 {
				return nil, false
			}
			out[len(out)-1] = v*10 + int(c-'0')
		case c == ';':
			if len(out) == cap(nums) {
				return nil, false
			}
			out = append(out, 0)
		default:
			return nil, false
		}
	}
	return out, true
}

// seqLen is the length of the escape sequence at the start of b (which
// begins with ESC), or 0 when b ends before it does.
func seqLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '[': // CSI: parameters and intermediates, then a final byte
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
		}
		return 0
	case ']', 'P', 'X', '^', '_': // strings: up to BEL (OSC) or ST
		for i := 2; i < len(b); i++ {
			switch {
			case b[i] == 0x07 && b[1] == ']':
				return i + 1
			case b[i] == 0x1b:
				if i+1 >= len(b) {
					return 0
				}
				if b[i+1] == '\\' {
					return i + 2
				}
				return i // cut short by another sequence
			}
		}
		return 0
	}
	// ESC, intermediates (0x20-0x2f), a final byte.
	for i := 1; i < len(b); i++ {
		if b[i] < 0x20 || b[i] > 0x2f {
			return i + 1
		}
	}
	return 0
}
