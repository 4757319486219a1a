package sshserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// However fast keys arrive, the view is built at most about once a
// frame, and every key still reaches the model.
func TestTypingFloodBuildsAViewPerFrame(t *testing.T) {
	ts := startServer(t, nil)
	tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, 0)
	rec.mu.Lock()
	views0 := rec.views
	rec.mu.Unlock()

	keys := strings.Repeat("z", 3000) // within the default burst
	start := time.Now()
	for i := 0; i < len(keys); i += 100 {
		tm.typeKeys(t, keys[i:i+100])
	}
	eventually(t, 10*time.Second, "every key to arrive", func() bool { return len(rec.typed()) == len(keys) })
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond) // the last frame
	rec.mu.Lock()
	views := rec.views - views0
	rec.mu.Unlock()
	frames := int(took/(time.Second/time.Duration(Default().FPS))) + 1
	t.Logf("%d keys in %s: %d views built (%d frames)", len(keys), took.Round(time.Millisecond), views, frames)
	if views > frames+3 {
		t.Errorf("%d views built for %d keys in %d frames", views, len(keys), frames)
	}
	eventually(t, time.Second, "a view with every key", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return strings.Contains(rec.last, keys+"]")
	})
}

// A flood of window changes reaches the program at window_changes a
// second, the last one winning.
func TestWindowChangeFloodIsRateLimited(t *testing.T) {
	ts := startServer(t, nil)
	tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, 0)
	start := time.Now()
	const n = 2000
	for i := range n {
		if err := tm.sess.WindowChange(24+i%20, 80+i%50); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.sess.WindowChange(29, 97); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the last size", func() bool { return rec.lastSize() == "97x29" })
	took := time.Since(start)
	rec.mu.Lock()
	got := len(rec.sizes)
	rec.mu.Unlock()
	limit := int(took.Seconds()*float64(Default().WindowChanges)) + 3
	t.Logf("%d window changes in %s: %d reached the program", n+1, took.Round(time.Millisecond), got)
	if got > limit {
		t.Errorf("%d of %d window changes reached the program in %s, want at most %d", got, n+1, took, limit)
	}
	tm.waitScreen(t, fmt.Sprintf("sspr-test %dx%d", 97, 29))
}
