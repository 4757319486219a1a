package testserver

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
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
