package sshserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is what one test model saw, for the test to read.
type recorder struct {
	mu    sync.Mutex
	info  SessionInfo
	sizes []string
	keys  string
	views int    // View calls
	last  string // the last view's content
}

func (r *recorder) lastSize() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sizes) == 0 {
		return ""
	}
	return r.sizes[len(r.sizes)-1]
}

func (r *recorder) typed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys
}

// probe builds test models and keeps their recorders in session order.
type probe struct {
	mu   sync.Mutex
	recs []*recorder
}

func (p *probe) newModel(info SessionInfo) tea.Model {
	r := &recorder{info: info}
	p.mu.Lock()
	p.recs = append(p.recs, r)
	p.mu.Unlock()
	return &testModel{rec: r}
}

func (p *probe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.recs)
}

func (p *probe) session(t *testing.T, i int) *recorder {
	t.Helper()
	var r *recorder
	eventually(t, 5*time.Second, fmt.Sprintf("session %d to start", i), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.recs) > i {
			r = p.recs[i]
			return true
		}
		return false
	})
	return r
}

// testModel shows one line and records what it receives. Some keys make
// it fail on purpose: "!" panics in Update, "@" in a command, "#" in View.
type testModel struct {
	rec       *recorder
	w, h      int
	keys      string
	viewPanic bool
}

func (m *testModel) Init() tea.Cmd { return nil }

func (m *testModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.rec.mu.Lock()
		m.rec.sizes = append(m.rec.sizes, fmt.Sprintf("%dx%d", msg.Width, msg.Height))
		m.rec.mu.Unlock()
	case tea.KeyPressMsg:
		switch k := msg.String(); k {
		case "!":
			panic("update fails on purpose")
		case "@":
			return m, func() tea.Msg { panic("command fails on purpose") }
		case "#":
			m.viewPanic = true
		case "q":
			return m, tea.Quit
		default:
			m.keys += k
			m.rec.mu.Lock()
			m.rec.keys += k
			m.rec.mu.Unlock()
		}
	}
	return m, nil
}

func (m *testModel) View() tea.View {
	if m.viewPanic {
		panic("view fails on purpose")
	}
	v := tea.NewView(fmt.Sprintf("sspr-test %dx%d [%s]", m.w, m.h, m.keys))
	m.rec.mu.Lock()
	m.rec.views++
	m.rec.last = v.Content
	m.rec.mu.Unlock()
	v.AltScreen = true
	return v
}

// testServer is a running server with its log.
type testServer struct {
	*Server
	addr  string
	logs  *syncBuffer
	probe *probe
}

func startServer(t *testing.T, configure func(*Config)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	pr := &probe{}
	cfg := Config{
		Settings: Default(),
		NewModel: pr.newModel,
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	cfg.HostKey = filepath.Join(t.TempDir(), "keys", "host_ed25519")
	cfg.LoginGrace = 5 * time.Second
	// Every test connects from 127.0.0.1; the tests of the limits turn
	// them on.
	cfg.MaxPerSource, cfg.NewPerSource = 0, 0
	if configure != nil {
		configure(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return &testServer{Server: s, addr: l.Addr().String(), logs: logs, probe: pr}
}

// events returns the log records with message msg.
func (ts *testServer) events(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(ts.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (ts *testServer) waitEvent(t *testing.T, msg string) map[string]any {
	t.Helper()
	var ev map[string]any
	eventually(t, 5*time.Second, "log event "+msg, func() bool {
		evs := ts.events(msg)
		if len(evs) > 0 {
			ev = evs[0]
			return true
		}
		return false
	})
	return ev
}

func clientConfig(ts *testServer) *gossh.ClientConfig {
	fp := ts.HostKeyFingerprint()
	return &gossh.ClientConfig{
		User: "alice",
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if got := gossh.FingerprintSHA256(key); got != fp {
				return fmt.Errorf("host key %s, want %s", got, fp)
			}
			return nil
		},
		Timeout: 5 * time.Second,
	}
}

func dial(t *testing.T, ts *testServer) *gossh.Client {
	t.Helper()
	c, err := gossh.Dial("tcp", ts.addr, clientConfig(ts))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// term is one interactive session as a client sees it.
type term struct {
	sess   *gossh.Session
	stdin  io.WriteCloser
	stdout *syncBuffer
	stderr *syncBuffer
}

func newTerm(t *testing.T, c *gossh.Client) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	tm := &term{sess: sess, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	sess.Stdout, sess.Stderr = tm.stdout, tm.stderr
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	return tm
}

// openTerm asks for a PTY of w x h and a shell.
func openTerm(t *testing.T, c *gossh.Client, termName string, w, h int) *term {
	t.Helper()
	tm := newTerm(t, c)
	if err := tm.sess.RequestPty(termName, h, w, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatalf("pty request: %v", err)
	}
	if err := tm.sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	return tm
}

// screen is the text received so far, escape sequences removed.
func (tm *term) screen() string { return ansi.Strip(tm.stdout.String()) }

func (tm *term) waitScreen(t *testing.T, text string) {
	t.Helper()
	eventually(t, 5*time.Second, fmt.Sprintf("%q on screen", text), func() bool {
		return strings.Contains(tm.screen(), text)
	})
}

func (tm *term) typeKeys(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// wait returns the session's exit status; -1 for none.
func (tm *term) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.sess.Wait() }()
	select {
	case err := <-done:
		var ee *gossh.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitStatus()
		default:
			t.Logf("session ended without an exit status: %v", err)
			return -1
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end")
		return -1
	}
}
