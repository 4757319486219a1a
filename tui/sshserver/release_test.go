package sshserver

import (
	"runtime"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/tui"
)

// settled is the goroutine count and live heap after two collections.
func settled() (goroutines int, heap uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// wizardServer serves the real wizard in demo mode, every client trusted
// (they all come from 127.0.0.1).
func wizardServer(t *testing.T, configure func(*Config)) *testServer {
	t.Helper()
	l := flow.DefaultLimits()
	l.TrustedSources = []string{"127.0.0.1/32"}
	l.TrustedSessions = flow.Rate{Count: 10000, Per: 10 * time.Second}
	eng, _, phone, _ := demoEngine(t, false, l)
	return startServer(t, func(c *Config) {
		c.MaxSessions = 300
		c.ExitPause = time.Millisecond
		c.NewModel = func(info SessionInfo) tea.Model {
			return tui.New(eng, tui.Options{Origin: flow.Origin{Channel: flow.SSH, Remote: info.Remote}, Demo: phone, Remote: true})
		}
		if configure != nil {
			configure(c)
		}
	})
}

// Once sessions end, by Ctrl+C or by the client leaving, nothing of them
// stays: no goroutine (an idle timer used to sleep on for minutes, holding
// the program and its input) and no heap beyond a small tolerance.
func TestEndedSessionsReleaseEverything(t *testing.T) {
	ts := wizardServer(t, nil)
	session := func(t *testing.T, hangUp bool) {
		c := dial(t, ts)
		tm := openTerm(t, c, "xterm-256color", 80, 24)
		tm.waitScreen(t, "Who are you?")
		tm.typeKeys(t, "someone@example.com")
		if hangUp {
			_ = c.Close()
			return
		}
		tm.typeKeys(t, "\x03")
		tm.wait(t)
		_ = c.Close()
	}
	// Lazily built tables and pools exist after the first session.
	session(t, false)
	session(t, true)
	waitQuiet := func() (int, uint64) {
		var g int
		var h uint64
		eventually(t, 10*time.Second, "the server to settle", func() bool {
			g1, _ := settled()
			time.Sleep(300 * time.Millisecond)
			g, h = settled()
			return g == g1
		})
		return g, h
	}
	g0, h0 := waitQuiet()

	const n = 100
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			session(t, i%2 == 1)
		}()
	}
	wg.Wait()
	g1, h1 := settled()
	t.Logf("right after %d sessions: %d goroutines (%+d), heap %d KiB (%+d KiB)", n, g1, g1-g0, h1/1024, (int64(h1)-int64(h0))/1024)

	const goroutineSlack, heapSlack = 10, 8 << 20
	var g, h int64
	start := time.Now()
	deadline := start.Add(8 * time.Second)
	for {
		gi, hi := settled()
		g, h = int64(gi), int64(hi)
		if g <= int64(g0)+goroutineSlack && h <= int64(h0)+heapSlack {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Logf("goroutines:\n%s", firstLines(string(buf), 80))
			t.Fatalf("%s after the sessions ended: %d goroutines (baseline %d), heap %d KiB (baseline %d KiB)",
				time.Since(start).Round(time.Millisecond), g, g0, h/1024, h0/1024)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("released within %s: %d goroutines (baseline %d), heap %d KiB (baseline %d KiB)",
		time.Since(start).Round(time.Millisecond), g, g0, h/1024, h0/1024)
}

func firstLines(s string, n int) string {
	for i, c := 0, 0; i < len(s); i++ {
		if s[i] == '\n' {
			if c++; c == n {
				return s[:i]
			}
		}
	}
	return s
}
