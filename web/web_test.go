package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/metrics"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/redisstore"
	"github.com/sspr-project/sspr/web"
)

type noUsers struct{}

func (noUsers) LookupUser(context.Context, string) (flow.User, error) {
	return flow.User{}, flow.ErrUnknownUser
}
func (noUsers) SetPassword(context.Context, flow.User, string) error { return nil }

// listener is a side listener on a loopback port, serving an engine with
// the CAPTCHA on.
type listener struct {
	base string
	eng  *flow.Engine
	srv  *web.Server
	log  *testserver.SyncBuffer
}

func start(t *testing.T, cfg web.Config, store flow.Store) *listener {
	t.Helper()
	return startOn(t, "127.0.0.1:0", cfg, store)
}

// startOn is start listening on addr; base is still a loopback URL.
func startOn(t *testing.T, addr string, cfg web.Config, store flow.Store) *listener {
	t.Helper()
	eng, err := flow.NewEngine(flow.Config{SecretKey: bytes.Repeat([]byte{3}, 32)}, flow.Deps{Directory: noUsers{}, Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
	lis := &listener{base: base, eng: eng, log: &testserver.SyncBuffer{}}
	if cfg.PublicURL == "" {
		cfg.PublicURL = lis.base
	}
	cfg.Captcha = eng
	cfg.Store = store
	cfg.Log = slog.New(slog.NewTextHandler(lis.log, nil))
	lis.srv, err = web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := lis.srv.Mount("POST /hooks/echo/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = w.Write(b)
	})); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- lis.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := lis.srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve after Shutdown: %v", err)
		}
	})
	return lis
}

func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRoutes(t *testing.T) {
	l := start(t, web.Config{}, memstore.New())
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/healthz", 200},
		{"HEAD", "/healthz", 200},
		{"GET", "/readyz", 200},
		{"POST", "/readyz", 405},
		{"GET", "/", 404},
		{"GET", "/admin", 404},
		{"GET", "/healthz/", 404},
		{"GET", "/metrics", 404}, // no metrics configured
		{"POST", "/healthz", 405},
		{"DELETE", "/captcha/0123456789abcdef0123456789abcdef.wav", 405},
		{"GET", "/captcha/0123456789abcdef0123456789abcdef.wav", 404},
		{"GET", "/captcha/0123456789abcdef0123456789abcdef.mp3", 404},
		{"GET", "/captcha/..%2f..%2fetc%2fpasswd.wav", 404},
		{"GET", "/hooks/echo/", 405},
		{"POST", "/hooks/echo/x", 200},
		{"POST", "/hooks/other", 404},
	} {
		resp, _ := do(t, tc.method, l.base+tc.path, nil)
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", tc.method, tc.path, cc)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	l := start(t, web.Config{MaxBody: 1024}, memstore.New())
	resp, body := do(t, "POST", l.base+"/hooks/echo/", strings.NewReader(strings.Repeat("a", 1024)))
	if resp.StatusCode != 200 || len(body) != 1024 {
		t.Fatalf("a body at the limit: %d, %d bytes back", resp.StatusCode, len(body))
	}
	resp, _ = do(t, "POST", l.base+"/hooks/echo/", strings.NewReader(strings.Repeat("a", 1025)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the limit: %d, want 413", resp.StatusCode)
	}
	// Without a length given up front the handler meets the limit reading.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(bytes.Repeat([]byte("a"), 4096))
		pw.Close()
	}()
	resp, _ = do(t, "POST", l.base+"/hooks/echo/", pr)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a chunked body over the limit: %d, want 413", resp.StatusCode)
	}
}

// The spoken CAPTCHA is served once per link; the link is built from the
// public URL, whatever Host the request names.
func TestAudioCaptchaOnce(t *testing.T) {
	l := start(t, web.Config{Settings: web.Settings{PublicURL: "https://reset.example.com/"}}, memstore.New())
	s, err := l.eng.Begin(context.Background(), flow.Origin{Channel: flow.SSH, Remote: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	token := s.CaptchaAudioToken()
	if token == "" {
		t.Fatal("no audio token")
	}
	link := web.AudioCaptchaURL(l.srv.PublicURL(), token)
	if link != "https://reset.example.com/captcha/"+token+".wav" {
		t.Fatalf("link %q", link)
	}
	local := l.base + strings.TrimPrefix(link, "https://reset.example.com")
	resp, body := do(t, "GET", local, nil, "Host", "evil.example.net", "Accept-Language", "ru-RU,ru;q=0.9")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || !strings.HasPrefix(body, "RIFF") {
		t.Fatalf("first fetch: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 4)])
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if len(body) < 10000 {
		t.Errorf("the audio is %d bytes", len(body))
	}
	if resp, _ := do(t, "GET", local, nil); resp.StatusCode != 404 {
		t.Fatalf("second fetch: %d, want 404", resp.StatusCode)
	}
	if strings.Contains(l.log.String(), token) {
		t.Fatal("the token is in the log")
	}
	if web.AudioCaptchaURL("", token) != "" || web.AudioCaptchaURL("https://x", "") != "" {
		t.Error("a link without a public URL or a token")
	}
}

// A new picture voids the link of the old one: it answers 404 and speaks
// nothing. The fourth audio fetch from one source in an hour answers 429.
func TestAudioCaptchaGoesWithItsPicture(t *testing.T) {
	l := start(t, web.Config{}, memstore.New())
	begin := func() *flow.Session {
		s, err := l.eng.Begin(context.Background(), flow.Origin{Channel: flow.SSH, Remote: "192.0.2.1:4000"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fetch := func(token string) (*http.Response, string) {
		return do(t, "GET", web.AudioCaptchaURL(l.srv.PublicURL(), token), nil)
	}
	s := begin()
	old := s.CaptchaAudioToken()
	if err := s.ReloadCaptcha(); err != nil {
		t.Fatal(err)
	}
	if resp, body := fetch(old); resp.StatusCode != 404 || strings.HasPrefix(body, "RIFF") {
		t.Fatalf("the old picture's link: %d, want 404", resp.StatusCode)
	}
	if resp, body := fetch(s.CaptchaAudioToken()); resp.StatusCode != 200 || !strings.HasPrefix(body, "RIFF") {
		t.Fatalf("the new picture's link: %d", resp.StatusCode)
	}
	for range 2 {
		if resp, _ := fetch(begin().CaptchaAudioToken()); resp.StatusCode != 200 {
			t.Fatalf("fetch: %d", resp.StatusCode)
		}
	}
	resp, body := fetch(begin().CaptchaAudioToken())
	// The hour counts from the first fetch: a slow run may have spent a
	// second or more of it.
	after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || after < 3500 || after > 3600 || strings.HasPrefix(body, "RIFF") {
		t.Fatalf("fourth fetch: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// /readyz says 503 while the store does not answer: here a Redis store
// whose server is not there. /healthz, liveness, still says 200. Neither
// logs a line per probe.
func TestReadyWhenStoreIsDown(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	st, err := redisstore.New(redisstore.Config{Addrs: []string{addr}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	redisstore.LogTo(nil)
	l := start(t, web.Config{}, st)
	for range 3 {
		resp, body := do(t, "GET", l.base+"/readyz", nil)
		if resp.StatusCode != 503 || body != "store: unavailable\n" {
			t.Fatalf("readyz with the store down: %d %q", resp.StatusCode, body)
		}
	}
	if resp, body := do(t, "GET", l.base+"/healthz", nil); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz with the store down: %d %q", resp.StatusCode, body)
	}
	if log := l.log.String(); log != "" {
		t.Errorf("the probes logged:\n%s", log)
	}
	l2 := start(t, web.Config{}, memstore.New())
	if resp, body := do(t, "GET", l2.base+"/readyz", nil); resp.StatusCode != 200 || body != "store: ok\n" {
		t.Fatalf("readyz: %d %q", resp.StatusCode, body)
	}
}

type dirState struct{ err error }

func (d *dirState) DirectoryError() error { return d.err }

// The directory is reported by /readyz, and fails it only with
// ready_requires_directory; draining always fails it.
func TestReadyDirectoryAndDraining(t *testing.T) {
	d := &dirState{err: errors.New("ldap: connection refused")}
	draining := false
	for _, tc := range []struct {
		require  bool
		draining bool
		code     int
		body     string
	}{
		{false, false, 200, "store: ok\ndirectory: unavailable (not required: http.ready_requires_directory is off)\n"},
		{true, false, 503, "store: ok\ndirectory: unavailable\n"},
		{false, true, 503, "server: draining\nstore: ok\ndirectory: unavailable (not required: http.ready_requires_directory is off)\n"},
	} {
		draining = tc.draining
		l := start(t, web.Config{Directory: d, Draining: func() bool { return draining },
			Settings: web.Settings{ReadyRequiresDirectory: tc.require}}, memstore.New())
		if resp, body := do(t, "GET", l.base+"/readyz", nil); resp.StatusCode != tc.code || body != tc.body {
			t.Errorf("require %v, draining %v: %d %q", tc.require, tc.draining, resp.StatusCode, body)
		}
	}
	d.err = nil
	draining = false
	l := start(t, web.Config{Directory: d, Settings: web.Settings{ReadyRequiresDirectory: true}}, memstore.New())
	if resp, body := do(t, "GET", l.base+"/readyz", nil); resp.StatusCode != 200 || body != "store: ok\ndirectory: ok\n" {
		t.Errorf("all up: %d %q", resp.StatusCode, body)
	}
}

func TestMetricsToken(t *testing.T) {
	m := metrics.New(metrics.Options{})
	l := start(t, web.Config{Metrics: m.Handler(), Settings: web.Settings{MetricsToken: config.InlineSecret("s3cret-metrics")}}, memstore.New())
	if resp, _ := do(t, "GET", l.base+"/metrics", nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", l.base+"/metrics", nil, "Authorization", "Bearer wrong"); resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp, body := do(t, "GET", l.base+"/metrics", nil, "Authorization", "Bearer s3cret-metrics")
	if resp.StatusCode != 200 || !strings.Contains(body, "sspr_sessions_open") {
		t.Fatalf("right token: %d\n%s", resp.StatusCode, body)
	}

}

// A slow client cannot hold a connection open forever before its headers.
func TestSlowHeadersCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	l := start(t, web.Config{}, memstore.New())
	c, err := net.Dial("tcp", strings.TrimPrefix(l.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	if d := time.Since(start); err != nil || d > 8*time.Second {
		t.Fatalf("the connection stayed open %s (%v)", d, err)
	}
}

func TestConfig(t *testing.T) {
	for _, bad := range []string{"reset.example.com", "ftp://x", "https://x/?q=1", "https://u:p@x", "https://x/#f"} {
		if _, err := web.New(web.Config{Settings: web.Settings{PublicURL: bad}}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
	s, err := web.New(web.Config{Settings: web.Settings{PublicURL: "https://reset.example.com/sspr/"}})
	if err != nil || s.PublicURL() != "https://reset.example.com/sspr" {
		t.Fatalf("%v %q", err, s.PublicURL())
	}
	for _, bad := range []string{"GET /hooks/x", "POST /captcha/x", "POST hooks/x", "POST /hooks/{bad"} {
		if err := s.Mount(bad, http.NotFoundHandler()); err == nil {
			t.Errorf("Mount(%q) accepted", bad)
		}
	}
	if err := s.Mount("POST /hooks/x/", http.NotFoundHandler()); err != nil {
		t.Fatal(err)
	}
	if err := s.Mount("POST /hooks/x/", http.NotFoundHandler()); err == nil {
		t.Error("mounted twice")
	}
}
