package sshserver

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	gossh "golang.org/x/crypto/ssh"
)

// rawConnect opens a TCP connection and reads what the server says first:
// its version line when the connection was admitted, nothing when it was
// refused.
func rawConnect(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
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

const versionLine = "SSH-2.0-SSPR\r\n"

func TestPerSourceConcurrentCap(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxPerSource = 2 })
	first, v1 := rawConnect(t, ts.addr)
	_, v2 := rawConnect(t, ts.addr)
	if v1 != versionLine || v2 != versionLine {
		t.Fatalf("admitted connections said %q and %q", v1, v2)
	}
	start := time.Now()
	if _, v := rawConnect(t, ts.addr); v != "" {
		t.Fatalf("a third connection from one source got %q, want it closed before the version line", v)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the refused connection was closed after %s, want at once", d)
	}
	ev := ts.waitEvent(t, "refused_per_source")
	if ev["source"] != "127.0.0.1" {
		t.Errorf("refusal logged for source %v", ev["source"])
	}
	first.Close()
	eventually(t, 5*time.Second, "the slot to come back", func() bool {
		c, v := rawConnect(t, ts.addr)
		c.Close()
		return v == versionLine
	})
}

func TestPerSourceNewConnectionRate(t *testing.T) {
	const window = 2 * time.Second
	ts := startServer(t, func(c *Config) { c.NewPerSource, c.NewPerSourceWindow = 3, window })
	start := time.Now()
	for i := range 3 {
		c, v := rawConnect(t, ts.addr)
		if v != versionLine {
			t.Fatalf("connection %d got %q", i+1, v)
		}
		c.Close()
	}
	if _, v := rawConnect(t, ts.addr); v != "" {
		if time.Since(start) < window {
			t.Fatalf("a 4th new connection within %s got %q, want it closed", window, v)
		}
		t.Skip("the machine is too slow to open 4 connections within the window")
	}
	ts.waitEvent(t, "refused_rate")
	// Refused attempts do not count: once the window has passed, the
	// source may connect again.
	time.Sleep(time.Until(start.Add(window)))
	eventually(t, 3*time.Second, "a connection after the window", func() bool {
		c, v := rawConnect(t, ts.addr)
		c.Close()
		return v == versionLine
	})
}

// A flood of refused connections logs one line a second per source, each
// with the count of those left out since the last.
func TestRefusalsLoggedOnceASecond(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.NewPerSource, c.NewPerSourceWindow = 1, time.Minute })
	if _, v := rawConnect(t, ts.addr); v != versionLine {
		t.Fatalf("first connection got %q", v)
	}
	start := time.Now()
	const flood = 60
	for range flood {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// A count left out is reported with the next line, at least a second
	// later: refuse one more each second until every refusal of the flood
	// has been logged or counted.
	accounted := func() (lines, total int) {
		evs := ts.events("refused_rate")
		total = len(evs)
		for _, ev := range evs {
			n, _ := ev["not_logged_since_last"].(float64)
			total += int(n)
		}
		return len(evs), total
	}
	for {
		if _, total := accounted(); total >= flood {
			break
		}
		if time.Since(start) > 15*time.Second {
			lines, total := accounted()
			t.Fatalf("after %s, %d lines account for %d of %d refusals: %v", time.Since(start), lines, total, flood, ts.events("refused_rate"))
		}
		time.Sleep(1100 * time.Millisecond)
		if _, v := rawConnect(t, ts.addr); v != "" {
			t.Fatalf("admitted again: %q", v)
		}
	}
	elapsed := time.Since(start)
	if lines, _ := accounted(); lines > 2+int(elapsed/time.Second) {
		t.Errorf("%d refusal lines in %s, want at most one a second", lines, elapsed)
	}
}

func TestSourceOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:2222", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:2222", "192.0.2.7"},
		{"[2001:db8:1:2:a:b:c:d]:22", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::ffff]:22", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:22", "fe80::/64"},
	} {
		ap := netip.MustParseAddrPort(tc.addr)
		if got := sourceOf(net.TCPAddrFromAddrPort(ap)); got != tc.want {
			t.Errorf("sourceOf(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestSourceTable(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newSourceTable(2, 3, 10*time.Second)
	if tab.admit("a", now) != "" || tab.admit("a", now) != "" {
		t.Fatal("two connections refused")
	}
	if r := tab.admit("a", now); r != refusedPerSource {
		t.Fatalf("third concurrent: %q", r)
	}
	tab.release("a", now)
	if r := tab.admit("a", now.Add(time.Second)); r != "" {
		t.Fatalf("after a release: %q", r)
	}
	tab.release("a", now)
	if r := tab.admit("a", now.Add(2*time.Second)); r != refusedRate {
		t.Fatalf("fourth within the window: %q", r)
	}
	if r := tab.admit("b", now); r != "" {
		t.Fatalf("another source: %q", r)
	}
	tab.release("a", now)
	tab.release("a", now)
	tab.release("b", now)
	if r := tab.admit("a", now.Add(10*time.Second)); r != "" {
		t.Fatalf("after the window: %q", r)
	}
	tab.release("a", now.Add(10*time.Second))
	tab.sweep(now.Add(time.Hour))
	if len(tab.m) != 0 {
		t.Errorf("%d sources kept after a sweep, want none", len(tab.m))
	}
	off := newSourceTable(-1, -1, time.Second)
	for range 100 {
		if r := off.admit("a", now); r != "" {
			t.Fatalf("limits off refused: %q", r)
		}
	}
}

// proxiedClient connects through a PROXY header naming src, then speaks
// SSH; header nil sends none.
func proxiedClient(t *testing.T, ts *testServer, header *proxyproto.Header) (*gossh.Client, error) {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		if _, err := header.WriteTo(c); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	conn, chans, reqs, err := gossh.NewClientConn(c, ts.addr, clientConfig(ts))
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	cl := gossh.NewClient(conn, chans, reqs)
	t.Cleanup(func() { cl.Close() })
	return cl, nil
}

func proxyHeader(version byte, src string) *proxyproto.Header {
	s := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src))
	d := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.1:22"))
	return proxyproto.HeaderProxyFromAddrs(version, s, d)
}

func TestProxyProtocolFromTrustedBalancer(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.ProxyProtocol.Trusted = []Prefix{MustPrefix("127.0.0.0/8")}
		c.MaxPerSource = 1
	})

	c1, err := proxiedClient(t, ts, proxyHeader(1, "192.0.2.9:40000"))
	if err != nil {
		t.Fatalf("v1 header: %v", err)
	}
	tm := openTerm(t, c1, "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test")
	if got := ts.probe.session(t, 0).info.Remote; got != "192.0.2.9:40000" {
		t.Errorf("session remote %q, want the client's address from the header", got)
	}
	if ev := ts.waitEvent(t, "session_start"); ev["remote"] != "192.0.2.9:40000" || !strings.HasPrefix(ev["via"].(string), "127.0.0.1:") {
		t.Errorf("session_start remote %v via %v", ev["remote"], ev["via"])
	}

	// The per-source cap counts the client, not the balancer.
	if _, err := proxiedClient(t, ts, proxyHeader(1, "192.0.2.9:40001")); err == nil {
		t.Error("a second connection of one client through the balancer was accepted with a cap of 1")
	}
	if ev := ts.waitEvent(t, "refused_per_source"); ev["source"] != "192.0.2.9" {
		t.Errorf("refusal for source %v", ev["source"])
	}
	if _, err := proxiedClient(t, ts, proxyHeader(2, "[2001:db8::5]:40002")); err != nil {
		t.Errorf("another client through the balancer (v2 header): %v", err)
	}

	// The balancer must send a header.
	if _, err := proxiedClient(t, ts, nil); err == nil {
		t.Error("a connection from the balancer without a header was served")
	}
	ts.waitEvent(t, "refused_no_proxy_header")

	// Its health checks (LOCAL) are closed quietly.
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	if _, err := local.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("a health check got %q", b)
	}
}

// A header from a peer that is not a trusted balancer is never read as
// one: the connection is served (x/crypto skips lines before the version)
// and its true address is what the session and the log see.
func TestProxyHeaderFromUntrustedPeerIgnored(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.ProxyProtocol.Trusted = []Prefix{MustPrefix("10.0.0.0/8")}
	})
	c1, err := proxiedClient(t, ts, proxyHeader(1, "192.0.2.9:40000"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	tm := openTerm(t, c1, "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test")
	if got := ts.probe.session(t, 0).info.Remote; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("session remote %q, want the true peer", got)
	}
	if ev := ts.waitEvent(t, "session_start"); ev["via"] != nil {
		t.Errorf("session_start names a balancer: %v", ev)
	}
}

func TestBeginShutdownShowsNotice(t *testing.T) {
	ts := startServer(t, nil)
	terms := []*term{openTerm(t, dial(t, ts), "xterm", 100, 30), openTerm(t, dial(t, ts), "xterm", 80, 24)}
	for _, tm := range terms {
		tm.waitScreen(t, "sspr-test")
	}
	// The sessions start concurrently: find the first terminal's by its
	// width.
	rec := ts.probe.session(t, 0)
	if rec.info.Width != 100 {
		rec = ts.probe.session(t, 1)
	}
	terms[0].typeKeys(t, "ab")
	eventually(t, 5*time.Second, "keys before the notice", func() bool { return rec.typed() == "ab" })

	ts.BeginShutdown(RestartNotice)
	for _, tm := range terms {
		tm.waitScreen(t, "The service is restarting.")
	}
	if _, err := gossh.Dial("tcp", ts.addr, clientConfig(ts)); err == nil {
		t.Error("a new connection was accepted after BeginShutdown")
	}
	// Keys are ignored now: nothing new starts.
	terms[0].typeKeys(t, "cd")
	time.Sleep(300 * time.Millisecond)
	if got := rec.typed(); got != "ab" {
		t.Errorf("the model got keys after the notice: %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tm := range terms {
		tm.wait(t)
		if !strings.Contains(tm.screen(), "sspr is restarting") {
			t.Errorf("no restart line after the program: %q", tm.screen())
		}
		if !strings.Contains(tm.stdout.String(), "\x1b[?1049l") {
			t.Error("terminal not restored")
		}
	}
}

func TestWithNotice(t *testing.T) {
	got := withNotice("line one\nline two\nline three\nline four", RestartNotice, 80)
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || lines[2] != "line three" || lines[3] != "line four" {
		t.Fatalf("the notice took more than its lines:\n%s", got)
	}
	for _, l := range lines[:2] {
		if w := len([]rune(stripSGR(l))); w != 80 {
			t.Errorf("notice line %q is %d wide, want 80", stripSGR(l), w)
		}
	}
	if !strings.HasPrefix(stripSGR(lines[0]), " The service is restarting.") {
		t.Errorf("first line %q", stripSGR(lines[0]))
	}
}

func stripSGR(s string) string {
	return strings.NewReplacer("\x1b[7m", "", "\x1b[m", "").Replace(s)
}
