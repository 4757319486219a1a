// Package testserver holds what every harness that runs a real server as a
// child process of a test needs: free loopback ports, and a buffer that
// collects the child's output while the test reads it.
package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"
)

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// FreePort returns a loopback port that is free now and that this test
// binary has not handed out before, so two servers started by one binary
// never get the same port even if the first has not bound it yet.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !ports[port] {
			ports[port] = true
			return port
		}
	}
}

// SyncBuffer is a bytes.Buffer safe for the writes of a child process and
// the reads of a test. Its zero value is empty and ready; String of a nil
// SyncBuffer is "".
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start starts cmd, a server for a test, and asks ready every poll until it
// reports true, for at most wait. It fails when the process exits first,
// when ready returns an error (say, another process holds the port), or
// when wait passes; a process still running is then killed and reaped, so
// nothing is left behind. exited is closed once the process has ended.
func Start(cmd *exec.Cmd, wait, poll time.Duration, ready func() (bool, error)) (exited <-chan struct{}, err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func(err error) (<-chan struct{}, error) {
		_ = cmd.Process.Kill()
		<-done
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return nil, errors.New("exited at start")
		default:
		}
		ok, err := ready()
		if err != nil {
			return stop(err)
		}
		if ok {
			return done, nil
		}
		time.Sleep(poll)
	}
	return stop(fmt.Errorf("did not answer within %s", wait))
}
