package sshserver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

func TestRegionFor(t *testing.T) {
	for _, c := range []struct {
		cols, rows uint32
		topLeft    bool
		want       region
	}{
		{80, 24, false, region{80, 24, 0, 0, 80, 24}},
		{100, 30, false, region{100, 30, 0, 0, 100, 30}},
		{200, 60, false, region{100, 30, 50, 15, 200, 60}},
		{201, 31, false, region{100, 30, 50, 0, 201, 31}},
		{90, 50, false, region{90, 30, 0, 10, 90, 50}},
		{200, 60, true, region{100, 30, 0, 0, 200, 60}},
		{0, 0, false, region{80, 24, 0, 0, 80, 24}},
		{65535, 65535, false, region{100, 30, (maxClientWindow - 100) / 2, (maxClientWindow - 30) / 2, maxClientWindow, maxClientWindow}},
	} {
		if got := regionFor(c.cols, c.rows, 100, 30, c.topLeft); got != c.want {
			t.Errorf("regionFor(%d, %d, topLeft %v) = %+v, want %+v", c.cols, c.rows, c.topLeft, got, c.want)
		}
	}
	if r := regionFor(100, 60, 100, 30, true); r.whole() || !r.edge() {
		t.Errorf("100x60, top left: whole %v, edge %v; want false, true", r.whole(), r.edge())
	}
	if r := regionFor(80, 24, 100, 30, false); !r.whole() {
		t.Error("80x24 is not whole")
	}
}

// Every sequence that places the cursor is moved by the corner; the rest
// passes as it came.
func TestOriginMovesTheCursor(t *testing.T) {
	r := region{w: 100, h: 30, x: 50, y: 15, cols: 200, rows: 60}
	for _, c := range []struct{ in, want string }{
		{"\x1b[H", "\x1b[16;51H"},
		{"\x1b[3;4H", "\x1b[18;54H"},
		{"\x1b[;4f", "\x1b[16;54H"},
		{"\x1b[7H", "\x1b[22;51H"},
		{"\x1b[5G", "\x1b[55G"},
		{"\x1b[G", "\x1b[51G"},
		{"\x1b[5`", "\x1b[55`"},
		{"\x1b[7d", "\x1b[22d"},
		{"ab\rcd", "ab\r\x1b[50Ccd"},
		{"ab\r\ncd", "ab\r\n\x1b[50Ccd"},
		{"a\nb\n", "a\n\x1b[50Cb\n\x1b[50C"},
		{"x\x1bEy", "x\x1bE\x1b[50Cy"},
		{"\x1b[?1049h\x1b[2;10r", "\x1b[?1049h\x1b[16;45r\x1b[16;51H\x1b[17;25r\x1b[16;51H"},
		{"\x1b[?1049h\x1b[r", "\x1b[?1049h\x1b[16;45r\x1b[16;51H\x1b[16;45r\x1b[16;51H"},
		// Not moves: passed as they are.
		{"\x1b[?25l\x1b[?2004h", "\x1b[?25l\x1b[?2004h"},
		{"\x1b[38;2;1;2;3mred\x1b[m", "\x1b[38;2;1;2;3mred\x1b[m"},
		{"\x1b]2;Home H\r\x07", "\x1b]2;Home H\r\x07"},
		{"\x1b]8;;http://x\x1b\\link", "\x1b]8;;http://x\x1b\\link"},
		{"\x1b[K\x1b[2J\x1b[J\x1bM\x1b(B\x1b[3A\x1b[4C", "\x1b[K\x1b[2J\x1b[J\x1bM\x1b(B\x1b[3A\x1b[4C"},
		{"é世\x1b[>4;2m", "é世\x1b[>4;2m"},
	} {
		var out bytes.Buffer
		o := newOrigin(&out, r)
		if n, err := o.Write([]byte(c.in)); n != len(c.in) || err != nil {
			t.Errorf("Write(%q) = %d, %v", c.in, n, err)
		}
		if out.String() != c.want {
			t.Errorf("%q became %q, want %q", c.in, out.String(), c.want)
		}
	}

	// The bottom right cell, drawn with autowrap off, leaves the cursor
	// in the last column of the region, as at a terminal's edge.
	var out bytes.Buffer
	_, _ = newOrigin(&out, r).Write([]byte("\x1b[?7lx\x1b[?7h\x1b[?7l\x1b[?7h"))
	if want := "\x1b[?7lx\x1b[?7h\x1b[D\x1b[?7l\x1b[?7h"; out.String() != want {
		t.Errorf("the bottom right cell: %q, want %q", out.String(), want)
	}
	out.Reset()
	_, _ = newOrigin(&out, region{w: 100, h: 30, cols: 100, rows: 60}).Write([]byte("\x1b[?7lx\x1b[?7h"))
	if want := "\x1b[?7lx\x1b[?7h"; out.String() != want {
		t.Errorf("the bottom right cell at the edge: %q, want %q", out.String(), want)
	}

	// At the top left corner, up to the right edge, nothing is touched.
	out.Reset()
	in := "\x1b[H\x1b[2Jab\r\n\x1b[3;4H"
	_, _ = newOrigin(&out, region{w: 80, h: 24, cols: 80, rows: 24}).Write([]byte(in))
	if out.String() != in {
		t.Errorf("at 0,0: %q became %q", in, out.String())
	}
}

// A sequence cut between two writes is moved whole.
func TestOriginJoinsCutSequences(t *testing.T) {
	var out bytes.Buffer
	o := newOrigin(&out, region{w: 100, h: 30, x: 10, y: 2, cols: 120, rows: 34})
	for _, part := range []string{"a\x1b", "[3", ";4", "Hb\x1b]2;ti", "tle\x07c\r"} {
		if _, err := o.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if want := "a\x1b[5;14Hb\x1b]2;title\x07c\r\x1b[10C"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	// A start of a sequence that never ends is not kept for ever.
	out.Reset()
	long := "\x1b]2;" + strings.Repeat("x", 2*maxPending)
	if _, err := o.Write([]byte(long)); err != nil {
		t.Fatal(err)
	}
	if out.String() != long || len(o.pending) != 0 {
		t.Errorf("an unterminated string of %d bytes: %d written, %d kept", len(long), out.Len(), len(o.pending))
	}
	// Nor is the buffer of a large write.
	if cap(o.buf) > keepBuf {
		t.Errorf("%d bytes of buffer kept after a write of %d", cap(o.buf), len(long))
	}
}

// A new region applies from the next full redraw: the home position and
// the erase go to the old corner, what follows to the new one.
func TestOriginMovesAtTheNextRedraw(t *testing.T) {
	var out bytes.Buffer
	o := newOrigin(&out, region{w: 100, h: 30, x: 50, y: 15, cols: 200, rows: 60})
	_, _ = o.Write([]byte("\x1b[?1049h"))
	if want := "\x1b[?1049h\x1b[16;45r\x1b[16;51H"; out.String() != want {
		t.Errorf("the alternate screen: %q, want %q", out.String(), want)
	}
	out.Reset()
	o.set(region{w: 100, h: 30, x: 20, y: 5, cols: 140, rows: 40})
	_, _ = o.Write([]byte("\x1b[2;2Hx\x1b[2J"))
	if want := "\x1b[17;52Hx\x1b[2J"; out.String() != want {
		t.Errorf("before the redraw: %q, want %q (an erase not from home does not start one)", out.String(), want)
	}
	out.Reset()
	_, _ = o.Write([]byte("\x1b[H\x1b[2Jab\x1b[2;2H"))
	if want := "\x1b[16;51H\x1b[2J\x1b[6;35r\x1b[6;21Hab\x1b[7;22H"; out.String() != want {
		t.Errorf("the redraw: %q, want %q", out.String(), want)
	}
	// Back to the corner: nothing is moved any more.
	o.set(region{w: 80, h: 24, cols: 80, rows: 24})
	out.Reset()
	_, _ = o.Write([]byte("\x1b[H\x1b[2Jab\r\n\x1b[r"))
	if want := "\x1b[6;21H\x1b[2J\x1b[r\x1b[1;1Hab\r\n\x1b[r"; out.String() != want {
		t.Errorf("back to the whole window: %q, want %q", out.String(), want)
	}
	// Leaving the alternate screen puts the scroll region back first.
	o = newOrigin(&out, region{w: 100, h: 30, x: 50, y: 15, cols: 200, rows: 60})
	_, _ = o.Write([]byte("\x1b[?1049h"))
	out.Reset()
	_, _ = o.Write([]byte("\x1b[?1049l"))
	if want := "\x1b[r\x1b[?1049l"; out.String() != want {
		t.Errorf("leaving: %q, want %q", out.String(), want)
	}
}

// pairTerm feeds what a program writes to a terminal of the program's
// size, and through origin to a larger one; after every write the larger
// one must show, in the region, what the smaller one shows, and nothing
// elsewhere.
type pairTerm struct {
	t          *testing.T
	small, big *vterm
	o          *origin

	mu       sync.Mutex
	checked  int
	failures int
}

func (pt *pairTerm) Write(p []byte) (int, error) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.small.write(string(p))
	n, err := pt.o.Write(p)
	if len(pt.o.pending) > 0 || pt.small.pending != "" || pt.big.pending != "" {
		return n, err
	}
	pt.o.mu.Lock()
	r := pt.o.cur
	pt.o.mu.Unlock()
	pt.checked++
	if msg := pt.compare(r); msg != "" && pt.failures < 3 {
		pt.failures++
		pt.t.Errorf("after %q (region %+v): %s\nsmall:\n%s\nbig:\n%s", p, r, msg, pt.small, pt.big)
	}
	return n, err
}

func (pt *pairTerm) compare(r region) string {
	small := pt.small.lines()
	for y := range pt.big.h {
		inside := y >= r.y && y < r.y+r.h
		left := strings.TrimRight(strings.Join(pt.big.cells[y][:r.x], ""), " ")
		right := strings.TrimRight(strings.Join(pt.big.cells[y][min(r.x+r.w, pt.big.w):], ""), " ")
		if !inside {
			if l := strings.TrimSpace(strings.Join(pt.big.cells[y], "")); l != "" {
				return fmt.Sprintf("row %d, outside the region, holds %q", y, l)
			}
			continue
		}
		if left != "" || right != "" {
			return fmt.Sprintf("row %d holds %q left and %q right of the region", y, left, right)
		}
		if got := pt.big.columns(r.x, r.x+r.w)[y]; got != small[y-r.y] {
			return fmt.Sprintf("row %d of the region is %q, want %q", y-r.y, got, small[y-r.y])
		}
	}
	// The cursor, on the alternate screen (leaving it puts the scroll
	// region back, which moves the cursor home, and then restores the
	// main screen's cursor).
	if pt.small.main != nil && !pt.small.wrapNext && (pt.big.x != pt.small.x+r.x || pt.big.y != pt.small.y+r.y) {
		return fmt.Sprintf("cursor at %d,%d, want %d,%d", pt.big.x, pt.big.y, pt.small.x+r.x, pt.small.y+r.y)
	}
	return ""
}

// frameModel shows the frames it is sent.
type frameModel struct{ v tea.View }

type showFrame struct{ v tea.View }

func (m *frameModel) Init() tea.Cmd { return nil }
func (m *frameModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if f, ok := msg.(showFrame); ok {
		m.v = f.v
	}
	return m, nil
}
func (m *frameModel) View() tea.View { return m.v }

// randomFrame is a full-screen view of w x h cells: lines of words, wide
// characters and colours, many as wide as the window (the last one too,
// where the renderer turns autowrap off), blank ones, and the cursor
// somewhere or hidden.
func randomFrame(rng *rand.Rand, w, h int) (tea.View, []string) {
	colours := []string{"1", "2", "4", "208", "#5f87ff"}
	words := []string{"Who", "are", "you?", "世界", "Étape", "·", "✓", "[Send]", "*****80", "━━━━"}
	lines := make([]string, 0, h)
	plain := make([]string, 0, h)
	for range rng.IntN(h + 1) {
		var b, p strings.Builder
		width := 0
		target := w
		if rng.IntN(3) > 0 {
			target = rng.IntN(w + 1)
		}
		for width < target {
			word := words[rng.IntN(len(words))]
			if rng.IntN(4) == 0 {
				word = strings.Repeat(" ", 1+rng.IntN(6))
			}
			ww := ansi.StringWidth(word)
			if width+ww > target {
				word = strings.Repeat("x", target-width)
				ww = target - width
			}
			p.WriteString(word)
			if rng.IntN(2) == 0 {
				word = lipgloss.NewStyle().Foreground(lipgloss.Color(colours[rng.IntN(len(colours))])).Bold(rng.IntN(2) == 0).Render(word)
			}
			b.WriteString(word)
			width += ww
		}
		lines = append(lines, b.String())
		plain = append(plain, strings.TrimRight(p.String(), " "))
	}
	for len(plain) < h {
		plain = append(plain, "")
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	if rng.IntN(3) > 0 {
		v.Cursor = tea.NewCursor(rng.IntN(w), rng.IntN(h))
	}
	return v, plain
}

// Bubble Tea's renderer, drawing random frames for a 40x12 window through
// origin into a 61x21 terminal, draws there exactly what it draws into a
// 40x12 terminal, moved by the corner; and after the region moves (a new
// window), in the new place only.
func TestOriginDrawsTheRendererElsewhere(t *testing.T) {
	const w, h = 40, 12
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))
	pt := &pairTerm{t: t, small: newVterm(w, h), big: newVterm(61, 21)}
	pt.o = newOrigin(writerFunc(func(p []byte) (int, error) { pt.big.write(string(p)); return len(p), nil }),
		region{w: w, h: h, x: 10, y: 4, cols: 61, rows: 21})
	p := tea.NewProgram(&frameModel{v: tea.NewView("")},
		tea.WithInput(nil), tea.WithOutput(pt), tea.WithWindowSize(w, h),
		tea.WithEnvironment([]string{"TERM=xterm-256color"}), tea.WithColorProfile(colorprofile.ANSI256),
		tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()

	corners := []region{{w, h, 21, 9, 61, 21}, {w, h, 0, 0, 61, 21}, {w, h, 3, 1, 61, 21}}
	for i := range 120 {
		if i%40 == 39 {
			// The window changed: the region moves at the next redraw.
			pt.o.set(corners[i/40])
			p.Send(tea.WindowSizeMsg{Width: w, Height: h})
		}
		v, want := randomFrame(rng, w, h)
		p.Send(showFrame{v})
		// Wait for the frame to be drawn, so that most frames are.
		deadline := time.Now().Add(5 * time.Second)
		for {
			pt.mu.Lock()
			got := pt.small.lines()
			pt.mu.Unlock()
			if strings.Join(got, "\n") == strings.Join(want, "\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("frame %d never drawn; the terminal shows:\n%s\nwant:\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			time.Sleep(time.Millisecond)
		}
	}
	p.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.checked < 60 {
		t.Errorf("only %d writes compared", pt.checked)
	}
	if len(pt.big.unknown) > 0 {
		t.Errorf("sequences the test terminal does not know: %v", pt.big.unknown)
	}
	if r := pt.o.cur; r != corners[2] {
		t.Errorf("the region ended at %+v, want %+v", r, corners[2])
	}
	t.Logf("%d writes compared", pt.checked)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Over SSH, a window larger than 100x30 shows the program's 100x30 in its
// middle, and a new window moves it there; the program is told 100x30,
// and the terminal is left with its whole screen to scroll.
func TestLargeWindowDrawnInTheMiddle(t *testing.T) {
	ts := startServer(t, nil)
	tm := openTerm(t, dial(t, ts), "xterm", 200, 60)
	vt := newVterm(200, 60)
	read := 0
	// at waits until the test model's line is drawn at column x, row y
	// and nowhere else.
	at := func(x, y int, text string) {
		t.Helper()
		eventually(t, 5*time.Second, fmt.Sprintf("%q at %d,%d", text, x, y), func() bool {
			data := tm.stdout.since(read)
			read += len(data)
			vt.write(data)
			for row, l := range vt.lines() {
				want := ""
				if row == y {
					want = strings.Repeat(" ", x) + text
				}
				if l != want {
					return false
				}
			}
			return true
		})
	}
	at(50, 15, "sspr-test 100x30 []")
	rec := ts.probe.session(t, 0)
	if rec.info.Width != 100 || rec.info.Height != 30 {
		t.Errorf("the program started at %dx%d, want 100x30", rec.info.Width, rec.info.Height)
	}
	tm.typeKeys(t, "ab")
	at(50, 15, "sspr-test 100x30 [ab]")

	if err := tm.sess.WindowChange(40, 160); err != nil {
		t.Fatal(err)
	}
	vt.resize(160, 40)
	at(30, 5, "sspr-test 100x30 [ab]")
	if err := tm.sess.WindowChange(24, 80); err != nil {
		t.Fatal(err)
	}
	vt.resize(80, 24)
	at(0, 0, "sspr-test 80x24 [ab]")
	if err := tm.sess.WindowChange(30, 101); err != nil {
		t.Fatal(err)
	}
	vt.resize(101, 30)
	at(0, 0, "sspr-test 100x30 [ab]")

	tm.typeKeys(t, "q")
	tm.wait(t)
	wire := tm.stdout.String()
	leave := strings.LastIndex(wire, "\x1b[?1049l")
	regions := regexp.MustCompile(`\x1b\[(\d*;\d*)?r`).FindAllString(wire[:max(leave, 0)], -1)
	if leave < 0 || len(regions) < 2 || regions[len(regions)-1] != "\x1b[r" {
		t.Errorf("the scroll region is not put back before leaving the alternate screen: %q", regions)
	}
}

// resize is what a terminal does to its screen when its window changes:
// the cells that fit stay, and the scroll region is the whole screen.
func (vt *vterm) resize(w, h int) {
	keep := func(old [][]string) [][]string {
		if old == nil {
			return nil
		}
		s := make([][]string, h)
		for y := range s {
			s[y] = make([]string, w)
			for x := range s[y] {
				s[y][x] = " "
				if y < len(old) && x < len(old[y]) {
					s[y][x] = old[y][x]
				}
			}
		}
		return s
	}
	vt.cells, vt.main = keep(vt.cells), keep(vt.main)
	vt.w, vt.h = w, h
	vt.top, vt.bot = 0, h-1
	vt.moveTo(vt.x, vt.y)
}
