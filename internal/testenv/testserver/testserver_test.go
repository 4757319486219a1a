package testserver

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFreePort checks that the ports handed out are distinct and can be
// bound.
func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	for p := range seen {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		l.Close()
	}
}

// TestSyncBuffer writes and reads at once (run with -race) and checks that
// nothing is lost.
func TestSyncBuffer(t *testing.T) {
	var nilBuf *SyncBuffer
	if nilBuf.String() != "" {
		t.Fatal("nil buffer is not empty")
	}
	b := &SyncBuffer{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "x"); got != 400 {
		t.Fatalf("%d bytes, want 400", got)
	}
}

func TestStart(t *testing.T) {
	if _, err := Start(exec.Command("true"), 2*time.Second, 10*time.Millisecond, func() (bool, error) { return false, nil }); err == nil || !strings.Contains(err.Error(), "exited at start") {
		t.Fatalf("a process that exits at once: %v", err)
	}
	// A refusal from ready kills the process and reaps it at once.
	cmd := exec.Command("sleep", "60")
	start := time.Now()
	if _, err := Start(cmd, 10*time.Second, 10*time.Millisecond, func() (bool, error) { return false, errors.New("port taken") }); err == nil || err.Error() != "port taken" {
		t.Fatalf("ready's error: %v", err)
	}
	if time.Since(start) > 2*time.Second || cmd.ProcessState == nil {
		t.Fatalf("not killed and reaped: %v, %v", time.Since(start), cmd.ProcessState)
	}
	// Not ready in time: an error, and the process is gone.
	cmd = exec.Command("sleep", "60")
	if _, err := Start(cmd, 100*time.Millisecond, 10*time.Millisecond, func() (bool, error) { return false, nil }); err == nil || cmd.ProcessState == nil {
		t.Fatalf("a server that never answers: %v, %v", err, cmd.ProcessState)
	}
	// Ready: running until killed, then exited is closed.
	cmd = exec.Command("sleep", "60")
	exited, err := Start(cmd, time.Second, 10*time.Millisecond, func() (bool, error) { return true, nil })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		t.Fatal("exited while running")
	default:
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("exited not closed after the process ended")
	}
}
