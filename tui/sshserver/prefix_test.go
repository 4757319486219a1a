package sshserver

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// rawConnectFrom is rawConnect from the loopback address from.
func rawConnectFrom(t *testing.T, from, addr string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 3 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 14)
	n, _ := io.ReadFull(c, buf)
	_ = c.SetReadDeadline(time.Time{})
	return c, string(buf[:n])
}

// TestPerPrefixCap: sources of one network share its cap, whatever each
// holds; another network is not touched.
func TestPerPrefixCap(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxPerSource, c.MaxPerPrefix, c.PrefixV4 = 3, 5, 24 })
	for i, from := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.3"} {
		if _, v := rawConnectFrom(t, from, ts.addr); v != versionLine {
			t.Fatalf("connection %d from %s got %q", i+1, from, v)
		}
	}
	start := time.Now()
	if _, v := rawConnectFrom(t, "127.0.0.4", ts.addr); v != "" {
		t.Fatalf("a 6th connection from one /24 got %q, want it closed before the version line", v)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the refused connection was closed after %s, want at once", d)
	}
	if ev := ts.waitEvent(t, refusedPerPrefix); ev["source"] != "127.0.0.4" {
		t.Errorf("refusal logged for source %v", ev["source"])
	}
	if _, v := rawConnectFrom(t, "127.0.1.1", ts.addr); v != versionLine {
		t.Fatalf("another /24 got %q", v)
	}
	// A refusal by the network takes nothing from the source.
	c, v := rawConnectFrom(t, "127.0.0.3", ts.addr)
	if v != "" {
		t.Fatalf("the /24 is full, yet 127.0.0.3 got %q", v)
	}
	c.Close()
	ts.mu.Lock()
	held := ts.sources.m["127.0.0.3"].open
	ts.mu.Unlock()
	if held != 1 {
		t.Errorf("127.0.0.3 holds %d slots, want 1", held)
	}
}

// TestBusyLoginGrace: bare connections from many sources cannot hold the
// slots for the whole login grace: once 80% of max_sessions are taken,
// every connection without a running program has busy_login_grace from
// its start, and a running session is left alone.
func TestBusyLoginGrace(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.MaxSessions, c.MaxPerSource = 10, 3
		c.LoginGrace, c.BusyLoginGrace = 30*time.Second, time.Second
	})
	// A person with a running session.
	tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test 80x24")
	// Seven bare connections from three sources: 8 of 10, the server is
	// nearly full from the last one on.
	var bare []net.Conn
	for i := range 7 {
		c, v := rawConnectFrom(t, []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}[i%3], ts.addr)
		if v != versionLine {
			t.Fatalf("bare connection %d got %q", i+1, v)
		}
		bare = append(bare, c)
	}
	start := time.Now()
	for i, c := range bare {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("bare connection %d: %v after %s, want closed within the busy grace", i+1, err, time.Since(start))
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the bare connections were closed after %s, want about 1s", d)
	}
	// The running session is still there.
	rec := ts.probe.session(t, 0)
	tm.typeKeys(t, "x")
	eventually(t, 5*time.Second, "the running session to go on", func() bool { return rec.typed() == "x" })
	// Below 80% again, a new connection has the full grace.
	c, v := rawConnectFrom(t, "127.0.0.14", ts.addr)
	if v != versionLine {
		t.Fatalf("a new connection got %q", v)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Errorf("a connection with the server not busy was closed within 2s (%v)", err)
	}
}

// TestPrefixOfIPv6: the 256 /64s of an IPv6 /56 are 256 sources but one
// network at the default /48; IPv4 counts by its /24.
func TestPrefixOfIPv6(t *testing.T) {
	s := &Server{cfg: Config{Settings: Default()}}
	sources, nets := map[string]bool{}, map[string]bool{}
	for i := range 256 {
		a := &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("2001:db8:7:%x::1", 0x4200+i)), Port: 22}
		sources[sourceOf(a)] = true
		nets[s.prefixOf(a)] = true
	}
	if len(sources) != 256 || len(nets) != 1 || !nets["2001:db8:7::/48"] {
		t.Errorf("a /56: %d sources, networks %v; want 256 and 2001:db8:7::/48", len(sources), nets)
	}
	if got := s.prefixOf(&net.TCPAddr{IP: net.ParseIP("198.51.100.77")}); got != "198.51.100.0/24" {
		t.Errorf("IPv4 network %q", got)
	}
	s.cfg.MaxPerPrefix = 0
	if got := s.prefixOf(&net.TCPAddr{IP: net.ParseIP("198.51.100.77")}); got != "" {
		t.Errorf("with the cap off: %q", got)
	}
}
