package sshserver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A TERM such as ../../x names a path outside the terminfo directories. The
// server must never open it: the model sees the fallback, and an inotify
// watch on the file the name points at sees no access.
func TestBadTermOpensNoFile(t *testing.T) {
	root := t.TempDir()
	// terminfo lookups try $TERMINFO/<first letter>/<name> first: with
	// TERMINFO=root/ti/a/b, the name ../../x leads to root/ti/x.
	tiDir := filepath.Join(root, "ti")
	if err := os.MkdirAll(filepath.Join(tiDir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	trap := filepath.Join(tiDir, "x")
	if err := os.WriteFile(trap, []byte("trap"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERMINFO", filepath.Join(tiDir, "a", "b"))

	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, trap, unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatal(err)
	}
	events := func() int {
		buf := make([]byte, 4096)
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			return 0
		}
		return n / unix.SizeofInotifyEvent
	}

	ts := startServer(t, nil)
	tm := openTerm(t, dial(t, ts), "../../x", 80, 24)
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, 0)
	if rec.info.Term != fallbackTerm {
		t.Errorf("model saw TERM %q, want %q", rec.info.Term, fallbackTerm)
	}
	tm.typeKeys(t, "ab")
	eventually(t, 5*time.Second, "keys", func() bool { return rec.typed() == "ab" })
	tm.typeKeys(t, "q")
	tm.wait(t)
	if ev := ts.waitEvent(t, "bad_term"); ev["term"] != "../../x" {
		t.Errorf("bad_term logged %v", ev["term"])
	}
	if n := events(); n != 0 {
		t.Fatalf("the file named by TERM was opened (%d inotify events)", n)
	}
	// The watch works: reading the file ourselves is seen.
	if _, err := os.ReadFile(trap); err != nil {
		t.Fatal(err)
	}
	if events() == 0 {
		t.Fatal("inotify saw nothing even for our own read; the check above proves nothing")
	}
}
