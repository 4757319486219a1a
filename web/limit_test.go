package web_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/web"
)

// TestSideMetricsNeedTheToken: the side listener is where people fetch
// the audio CAPTCHA, often through a reverse proxy that makes even a
// loopback listener public: without a token it serves no /metrics,
// wherever it listens.
func TestSideMetricsNeedTheToken(t *testing.T) {
	m := metrics.New(metrics.Options{})
	for _, addr := range []string{"127.0.0.1:0", ":0"} {
		open := startOn(t, addr, web.Config{Metrics: m.Handler()}, memstore.New())
		if resp, body := do(t, "GET", open.base+"/metrics", nil); resp.StatusCode != 404 {
			t.Fatalf("GET /metrics on %s, no token: %d\n%.200s", addr, resp.StatusCode, body)
		}
		if resp, _ := do(t, "GET", open.base+"/healthz", nil); resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
		if !strings.Contains(open.log.String(), "metrics_not_served") {
			t.Errorf("no warning in the log:\n%s", open.log.String())
		}
		tok := startOn(t, addr, web.Config{Metrics: m.Handler(), Settings: web.Settings{MetricsToken: config.InlineSecret("s3cret-metrics")}}, memstore.New())
		if resp, _ := do(t, "GET", tok.base+"/metrics", nil); resp.StatusCode != 401 {
			t.Fatalf("with a token set, none sent: %d", resp.StatusCode)
		}
		if resp, _ := do(t, "GET", tok.base+"/metrics", nil, "Authorization", "Bearer s3cret-metrics"); resp.StatusCode != 200 {
			t.Fatalf("with the token: %d", resp.StatusCode)
		}
	}
}

// TestMetricsListener: with metrics_listen, /metrics, /healthz and /readyz are
// served there alone, and the side listener has no /metrics even on the
// loopback.
func TestMetricsListener(t *testing.T) {
	m := metrics.New(metrics.Options{})
	side := start(t, web.Config{Metrics: m.Handler(), Settings: web.Settings{MetricsListen: "127.0.0.1:0"}}, memstore.New())
	if resp, _ := do(t, "GET", side.base+"/metrics", nil); resp.StatusCode != 404 {
		t.Fatalf("side listener /metrics: %d", resp.StatusCode)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- side.srv.ServeMetrics(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = side.srv.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("ServeMetrics after Shutdown: %v", err)
		}
	})
	base := "http://" + l.Addr().String()
	if resp, body := do(t, "GET", base+"/metrics", nil); resp.StatusCode != 200 || !strings.Contains(body, "sspr_sessions_open") {
		t.Fatalf("metrics listener /metrics: %d", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := do(t, "GET", base+path, nil); resp.StatusCode != 200 {
			t.Fatalf("metrics listener %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := do(t, "GET", base+"/captcha/0123456789abcdef.wav", nil); resp.StatusCode != 404 {
		t.Fatalf("metrics listener /captcha: %d", resp.StatusCode)
	}
}

// dialFrom connects to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// answers reports whether c answers a GET /healthz within d.
func answers(c net.Conn, d time.Duration) bool {
	_ = c.SetDeadline(time.Now().Add(d))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestConnectionCaps: a source holds at most max_conns_per_source
// connections (more are closed at once) and the listener at most
// max_conns (more wait until one closes).
func TestConnectionCaps(t *testing.T) {
	l := start(t, web.Config{Settings: web.Settings{MaxConns: 4, MaxConnsPerSource: 2}}, memstore.New())
	addr := strings.TrimPrefix(l.base, "http://")
	a1, a2 := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	if !answers(a1, 2*time.Second) || !answers(a2, 2*time.Second) {
		t.Fatal("the first two connections of a source are not served")
	}
	a3 := dialFrom(t, "127.0.0.1", addr)
	if answers(a3, 2*time.Second) {
		t.Fatal("a third connection of one source was served")
	}
	b1, b2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	if !answers(b1, 2*time.Second) || !answers(b2, 2*time.Second) {
		t.Fatal("another source is not served")
	}
	c1 := dialFrom(t, "127.0.0.3", addr)
	if answers(c1, 500*time.Millisecond) {
		t.Fatal("a fifth connection was served with four open")
	}
	// One closes; the one waiting is accepted and answered.
	_ = a1.Close()
	if !answers(c1, 2*time.Second) {
		t.Fatal("the waiting connection was not served after a slot came back")
	}
}

// TestIdleKeepAliveCut: a keep-alive connection waiting for its next
// request is closed after idle_timeout.
func TestIdleKeepAliveCut(t *testing.T) {
	l := start(t, web.Config{Settings: web.Settings{IdleTimeout: time.Second}}, memstore.New())
	c := dialFrom(t, "127.0.0.1", strings.TrimPrefix(l.base, "http://"))
	if !answers(c, 2*time.Second) {
		t.Fatal("not served")
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if d := time.Since(start); err == nil || d > 3*time.Second {
		t.Fatalf("an idle keep-alive connection stayed open %s (%v)", d, err)
	}
}
