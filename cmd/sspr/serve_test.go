package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/tui/sshserver"
)

// slowDir is a directory whose password writes take a while, as an LDAP
// server's can, and give up when their context ends, as a client library
// does; so a write that a shutdown cuts short shows.
type slowDir struct {
	*embedded.Dir
	delay   time.Duration
	started chan struct{}

	mu        sync.Mutex
	completed int
	abandoned int
}

func (d *slowDir) SetPassword(ctx context.Context, u flow.User, pw string) error {
	select {
	case d.started <- struct{}{}:
	default:
	}
	select {
	case <-time.After(d.delay):
	case <-ctx.Done():
		d.mu.Lock()
		d.abandoned++
		d.mu.Unlock()
		return ctx.Err()
	}
	err := d.Dir.SetPassword(ctx, u, pw)
	d.mu.Lock()
	if err == nil {
		d.completed++
	}
	d.mu.Unlock()
	return err
}

func (d *slowDir) counts() (completed, abandoned int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.completed, d.abandoned
}

// servedWizard is serveOn running in the test, on the demo directory with
// a slow directory write.
type servedWizard struct {
	cfg    *Config
	dir    *slowDir
	outbox string
	addr   string
	stop   chan os.Signal
	done   chan struct{} // closed when serveOn has returned err
	err    error
	log    *testserver.SyncBuffer
}

func serveWizard(t *testing.T, yaml string, delay time.Duration) *servedWizard {
	t.Helper()
	dataDir := t.TempDir()
	cfg, err := loadConfig(writeConfig(t, fmt.Sprintf("data_dir: %s\ncaptcha:\n  enabled: false\n%s", dataDir, yaml)))
	if err != nil {
		t.Fatal(err)
	}
	fast := embedded.WithParams(embedded.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	usersPath := filepath.Join(dataDir, "users.yaml")
	if _, err := embedded.WriteDemo(usersPath, fast); err != nil {
		t.Fatal(err)
	}
	inner, err := embedded.Open(usersPath, fast)
	if err != nil {
		t.Fatal(err)
	}
	dir := &slowDir{Dir: inner, delay: delay, started: make(chan struct{}, 1)}
	outbox := filepath.Join(dataDir, "outbox.log")
	phone := demo.New(outbox, nil)
	eng, err := flow.NewEngine(
		flow.Config{CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte{7}, 32)},
		flow.Deps{Directory: dir, Store: memstore.New(), SMS: phone, Voice: phone},
	)
	if err != nil {
		t.Fatal(err)
	}
	phone.SetApprover(eng)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &servedWizard{cfg: cfg, dir: dir, outbox: outbox, addr: l.Addr().String(),
		stop: make(chan os.Signal, 2), done: make(chan struct{}), log: &testserver.SyncBuffer{}}
	go func() {
		defer close(w.done)
		w.err = serveOn(cfg, eng, phone, l, slog.New(slog.NewTextHandler(w.log, nil)), w.stop)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.stop <- syscall.SIGTERM
			w.stop <- syscall.SIGTERM
			<-w.done
		}
	})
	return w
}

// TestSIGTERMDuringPasswordWrite: a SIGTERM that arrives while a password
// is being written lets the write finish, tells the person, and ends the
// server within the grace with no error.
func TestSIGTERMDuringPasswordWrite(t *testing.T) {
	const grace = 6 * time.Second
	const writeTime = 1500 * time.Millisecond
	w := serveWizard(t, "ssh:\n  shutdown_grace: 6s\n", writeTime)
	_, port, _ := net.SplitHostPort(w.addr)

	tm := newTmux(t, fmt.Sprintf("ssh -p %s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor("Text my mobile phone")
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("+1 212 555 0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	tm.text(lastCode(t, w.outbox, "+12125550102"))
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Quartz-Meadow-Lantern-8417x"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")

	select {
	case <-w.dir.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the password write never started; the screen:\n%s", tm.screen())
	}
	sent := time.Now()
	w.stop <- syscall.SIGTERM

	tm.waitFor("The service is restarting.")
	select {
	case <-w.done:
	case <-time.After(grace + 2*time.Second):
		t.Fatalf("serve did not return within the grace of %s\n%s", grace, w.log.String())
	}
	took := time.Since(sent)
	t.Logf("SIGTERM to return: %s (the write took %s)", took.Round(time.Millisecond), writeTime)
	if w.err != nil {
		t.Fatalf("serve returned %v after SIGTERM, want nil (exit 0)\n%s", w.err, w.log.String())
	}
	if took > grace {
		t.Errorf("serve took %s, more than the grace of %s", took, grace)
	}
	if completed, abandoned := w.dir.counts(); completed != 1 || abandoned != 0 {
		t.Fatalf("%d writes completed and %d abandoned, want 1 and 0", completed, abandoned)
	}
	if ok, err := w.dir.VerifyPassword("bob", newPassword); err != nil || !ok {
		t.Fatalf("the directory does not hold the new password: %v %v", ok, err)
	}
	// The client's terminal got the last words and ssh ended.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tm.screen(), "sspr is restarting") {
		if time.Now().After(deadline) {
			t.Fatalf("no restart line after the session; the screen:\n%s", tm.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A write that outlasts the grace is given up on: shutdown returns an
// error (a non-zero exit) in time, and says so.
func TestShutdownGraceRunsOut(t *testing.T) {
	start := time.Now()
	err := shutdownWith(t, stuckDrainer{}, 2*time.Second, make(chan os.Signal))
	if err == nil || !strings.Contains(err.Error(), "still under way") {
		t.Errorf("shutdown returned %v, want the drain's error", err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("shutdown took %s with a grace of 2s", d)
	}
}

// A second signal cuts the wait short.
func TestShutdownHurriedBySecondSignal(t *testing.T) {
	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGINT
	start := time.Now()
	if err := shutdownWith(t, stuckDrainer{}, time.Minute, stop); err == nil {
		t.Error("a hurried shutdown with a write under way returned no error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a hurried shutdown took %s", d)
	}
}

// stuckDrainer has a write under way that never ends.
type stuckDrainer struct{}

func (stuckDrainer) Drain(ctx context.Context) error {
	<-ctx.Done()
	return fmt.Errorf("1 password writes still under way: %w", ctx.Err())
}

// shutdownWith runs shutdown on an idle server with d as the engine.
func shutdownWith(t *testing.T, d drainer, grace time.Duration, stop chan os.Signal) error {
	t.Helper()
	settings := sshserver.Default()
	settings.HostKey = filepath.Join(t.TempDir(), "key")
	settings.MaxPerSource, settings.NewPerSource = 0, 0
	srv, err := sshserver.New(sshserver.Config{
		Settings: settings,
		NewModel: func(sshserver.SessionInfo) tea.Model { return nil },
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	err = shutdown(srv, d, grace, slog.New(slog.DiscardHandler), stop)
	<-served
	return err
}

func TestSSHFrontConfig(t *testing.T) {
	c, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	s := c.SSH
	if s.MaxPerSource != 3 || s.NewPerSource != 10 || s.NewPerSourceWindow != 10*time.Second ||
		s.LoginGrace != 30*time.Second || s.ShutdownGrace != 10*time.Second || len(s.ProxyProtocol.Trusted) != 0 {
		t.Errorf("defaults: %+v", s)
	}

	c, err = loadConfig(writeConfig(t, `
ssh:
  max_per_source: 0
  new_per_source: 20
  new_per_source_window: 1m
  login_grace: 20s
  shutdown_grace: 30s
  proxy_protocol:
    trusted: [10.0.0.5, 10.1.0.0/16, "2001:db8::/48", "::ffff:192.0.2.1"]
`))
	if err != nil {
		t.Fatal(err)
	}
	s = c.SSH
	if s.MaxPerSource != 0 || s.NewPerSource != 20 ||
		s.NewPerSourceWindow != time.Minute || s.LoginGrace != 20*time.Second || s.ShutdownGrace != 30*time.Second {
		t.Errorf("not read as written: %+v", s)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("2001:db8::/48"), netip.MustParsePrefix("192.0.2.1/32"),
	}
	var got []netip.Prefix
	for _, p := range s.ProxyProtocol.Trusted {
		got = append(got, p.Prefix)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("trusted %v, want %v", got, want)
	}

	for _, tc := range []struct{ body, want string }{
		{"ssh:\n  max_per_source: -1\n", "ssh.max_per_source: -1 is not allowed"},
		{"ssh:\n  new_per_source: -2\n", "ssh.new_per_source: -2"},
		{"ssh:\n  new_per_source_window: 10ms\n", "ssh.new_per_source_window: 10ms"},
		{"ssh:\n  login_grace: 1s\n", "ssh.login_grace: 1s"},
		{"ssh:\n  shutdown_grace: 1h\n", "ssh.shutdown_grace: 1h is not allowed (1s to 10m)"},
		{"ssh:\n  proxy_protocol:\n    trusted: [10.0.0.0/8, lb.example.com]\n", `ssh.proxy_protocol.trusted[1]: "lb.example.com"`},
		{"ssh:\n  proxy_protocol:\n    trusted: [10.0.0.0/33]\n", "ssh.proxy_protocol.trusted[0]"},
	} {
		if _, err := loadConfig(writeConfig(t, tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %q", tc.body, err, tc.want)
		}
	}
}
