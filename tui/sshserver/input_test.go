package sshserver

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flood writes chunk to the session until it ends or total bytes went out;
// it returns how many bytes went out.
func flood(tm *term, prefix string, chunk []byte, total int) int {
	sent := 0
	if _, err := io.WriteString(tm.stdin, prefix); err != nil {
		return 0
	}
	for sent < total {
		n, err := tm.stdin.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	return sent
}

// heapPeak samples the live heap until stop is closed and reports its peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

// A bracketed paste that never ends is not buffered whole: past max_paste
// the session ends with a log line, and the server's heap stays bounded
// however much the client goes on sending.
func TestEndlessPasteEndsSession(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		configure   func(*Config)
	}{
		// The rate limit off the path (as high as allowed): max_paste
		// acts.
		{"max_paste", stopPasteLimit, func(c *Config) {
			c.InputRate, c.InputBurst, c.InputDropLimit = 65536, 1<<20, 16<<20
		}},
		// The defaults: the rate limit acts first.
		{"defaults", stopInputFlood, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.configure)
			tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
			tm.waitScreen(t, "sspr-test")
			_, h0 := settled()

			stop := make(chan struct{})
			peak := heapPeak(stop)
			const total = 64 << 20
			var sent atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				sent.Store(int64(flood(tm, "\x1b[200~", bytes.Repeat([]byte("a"), 32<<10), total)))
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				close(stop)
				t.Fatalf("the session still reads after 20s of paste; heap %d MiB -> peak %d MiB", h0>>20, <-peak>>20)
			}
			close(stop)
			p := <-peak
			t.Logf("sent %d KiB before the session ended; heap %d KiB, peak %d KiB", sent.Load()>>10, h0>>10, p>>10)
			if sent.Load() >= total {
				t.Errorf("the whole %d MiB went in", total>>20)
			}
			if grow := int64(p) - int64(h0); grow > 16<<20 {
				t.Errorf("heap grew by %d MiB during the paste", grow>>20)
			}
			if got := tm.wait(t); got != 1 {
				t.Errorf("exit status %d, want 1", got)
			}
			ts.waitEvent(t, tc.event)
			if ev := ts.waitEvent(t, "session_end"); ev["reason"] != tc.event {
				t.Errorf("session_end reason %v, want %s", ev["reason"], tc.event)
			}
			if !strings.Contains(tm.screen(), "more input than sspr accepts") {
				t.Errorf("no word of why on screen: %q", lastN(tm.screen(), 200))
			}
		})
	}
}

func lastN(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// chunks is a reader that returns its chunks one Read at a time.
type chunks struct{ c [][]byte }

func (r *chunks) Read(p []byte) (int, error) {
	if len(r.c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.c[0])
	if r.c[0] = r.c[0][n:]; len(r.c[0]) == 0 {
		r.c = r.c[1:]
	}
	return n, nil
}

func TestInputFilter(t *testing.T) {
	lots := strings.Repeat("x", 10000)
	roomy := inputLimits{rate: 1 << 20, burst: 1 << 20, dropLimit: 1 << 20, maxPaste: 1 << 20, maxEscape: 64}
	for _, tc := range []struct {
		name string
		in   []string
		lim  inputLimits
		want string
		stop string
	}{
		{"text and keys pass", []string{"abc\x1b[A\x1bOP\x1b[1;5C\r"}, roomy, "abc\x1b[A\x1bOP\x1b[1;5C\r", ""},
		{"UTF-8 passes, split or not", []string{"grüß ", "\xe2", "\x82\xac €"}, roomy, "grüß € €", ""},
		{"not UTF-8 is dropped", []string{"a\x9d11;x\x07b\xe2\x9dc\xffd"}, roomy, "a11;x\x07bcd", ""},
		{"a short OSC passes", []string{"\x1b]11;rgb:0000/0000/0000\x1b\\k"}, roomy, "\x1b]11;rgb:0000/0000/0000\x1b\\k", ""},
		{"a long OSC is cut, its end kept", []string{"\x1b]11;" + lots, lots + "\x07k"}, roomy,
			"\x1b]11;" + lots[:59] + "\x07k", ""},
		{"a long DCS is cut up to ESC", []string{"\x1bP" + lots + "\x1b\\k"}, roomy, "\x1bP" + lots[:62] + "\x1b\\k", ""},
		{"a long APC ends at CAN", []string{"\x1b_" + lots + "\x18k"}, roomy, "\x1b_" + lots[:62] + "\x18k", ""},
		{"a long CSI is cut", []string{"\x1b[" + strings.Repeat("1;", 100) + "Hk"}, roomy,
			"\x1b[" + strings.Repeat("1;", 31) + "Hk", ""},
		{"a paste within max_paste passes", []string{"\x1b[200~" + lots + "\x1b[201~"},
			inputLimits{rate: 1 << 20, burst: 1 << 20, dropLimit: 1 << 20, maxPaste: 20000, maxEscape: 1 << 14},
			"\x1b[200~" + lots + "\x1b[201~", ""},
		{"a paste past max_paste ends the session", []string{"\x1b[200~" + lots, lots},
			inputLimits{rate: 1 << 20, burst: 1 << 20, dropLimit: 1 << 20, maxPaste: 15000, maxEscape: 1 << 14},
			"", stopPasteLimit},
		{"over the burst is dropped", []string{lots}, inputLimits{rate: 16, burst: 300, dropLimit: 1 << 20, maxPaste: 1 << 20, maxEscape: 1 << 14},
			lots[:300], ""},
		{"much over the burst ends the session", []string{lots}, inputLimits{rate: 16, burst: 300, dropLimit: 5000, maxPaste: 1 << 20, maxEscape: 1 << 14},
			"", stopInputFlood},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stopped string
			in := &chunks{}
			for _, c := range tc.in {
				in.c = append(in.c, []byte(c))
			}
			f := newInputFilter(in, tc.lim, func(r string) { stopped = r })
			got, _ := io.ReadAll(f)
			if stopped != tc.stop {
				t.Errorf("stop %q, want %q", stopped, tc.stop)
			}
			if tc.stop == "" && string(got) != tc.want {
				t.Errorf("got  %q\nwant %q", lastN(string(got), 120), lastN(tc.want, 120))
			}
		})
	}
}

// After max_escape bytes without a pause the filter pauses, so that the
// decoder gives up on what it holds unfinished.
func TestInputFilterPauses(t *testing.T) {
	lim := inputLimits{rate: 1 << 20, burst: 1 << 20, dropLimit: 1 << 20, maxPaste: 1 << 20, maxEscape: 1000}
	f := newInputFilter(&chunks{c: [][]byte{bytes.Repeat([]byte("a"), 3000)}}, lim, func(string) {})
	start := time.Now()
	buf := make([]byte, 4096)
	var reads []int
	for {
		n, err := f.Read(buf)
		if err != nil {
			break
		}
		reads = append(reads, n)
	}
	if took := time.Since(start); took < 2*decoderGap-10*time.Millisecond {
		t.Errorf("3000 bytes at 1000 a pause took %s, want two pauses of %s", took, decoderGap)
	}
	if len(reads) != 3 || reads[0] != 1000 {
		t.Errorf("reads %v, want 3 of 1000", reads)
	}
}
