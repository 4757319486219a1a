package sshserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestSessionFirstFrameAndKeys(t *testing.T) {
	ts := startServer(t, nil)
	start := time.Now()
	c := dial(t, ts)
	tm := openTerm(t, c, "xterm-256color", 80, 24)
	tm.waitScreen(t, "sspr-test")
	t.Logf("dial to first frame: %s", time.Since(start).Round(100*time.Microsecond))

	rec := ts.probe.session(t, 0)
	eventually(t, 5*time.Second, "size 80x24", func() bool { return rec.lastSize() == "80x24" })
	if rec.info.Term != "xterm-256color" || rec.info.Width != 80 || rec.info.Height != 24 {
		t.Errorf("session info %+v, want xterm-256color 80x24", rec.info)
	}
	if host, _, _ := net.SplitHostPort(rec.info.Remote); host != "127.0.0.1" {
		t.Errorf("remote %q, want 127.0.0.1:port", rec.info.Remote)
	}
	if rec.info.Context == nil || rec.info.Context.Err() != nil {
		t.Error("session context missing or already done")
	} else if rec.info.Context.Value(ssh.ContextKeyUser) != nil {
		t.Error("the SSH user name is reachable through the session context")
	}
	if got := strings.Join(rec.info.Env, " "); got != "TERM=xterm-256color" {
		t.Errorf("env %q, want only TERM", got)
	}

	tm.typeKeys(t, "abc")
	eventually(t, 5*time.Second, "keys to reach the model", func() bool { return rec.typed() == "abc" })

	if err := tm.sess.WindowChange(30, 100); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "resize to 100x30", func() bool { return rec.lastSize() == "100x30" })

	tm.typeKeys(t, "q")
	if code := tm.wait(t); code != 0 {
		t.Errorf("exit status %d after quit, want 0", code)
	}
	// The program left the alternate screen before the session closed.
	if out := tm.stdout.String(); !strings.Contains(out, "\x1b[?1049l") {
		t.Errorf("terminal restore sequence missing from output %q", out)
	}
	start0 := ts.waitEvent(t, "session_start")
	if start0["user"] != "alice" {
		t.Errorf("session_start user = %v", start0["user"])
	}
	end := ts.waitEvent(t, "session_end")
	if end["reason"] != "quit" {
		t.Errorf("session_end reason = %v, want quit", end["reason"])
	}
}

func TestNoTerminalRefused(t *testing.T) {
	ts := startServer(t, nil)
	tm := newTerm(t, dial(t, ts))
	if err := tm.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if code := tm.wait(t); code == 0 || code == -1 {
		t.Errorf("exit status %d, want non-zero", code)
	}
	if got := tm.stderr.String(); got != "sspr needs a terminal: connect with ssh -t\n" {
		t.Errorf("stderr %q", got)
	}
	if tm.stdout.String() != "" {
		t.Errorf("stdout %q, want nothing", tm.stdout.String())
	}
	ts.waitEvent(t, "denied_no_pty")
	if ts.probe.count() != 0 {
		t.Error("a model was built for a session without a terminal")
	}
}

func TestRefusals(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts)

	t.Run("exec", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, err := sess.CombinedOutput("id")
		if err == nil {
			t.Fatalf("exec id succeeded: %q", out)
		}
		ev := ts.waitEvent(t, "denied_exec")
		if ev["command"] != "id" {
			t.Errorf("denied_exec command = %v", ev["command"])
		}
	})

	// One session per connection: the rest use fresh connections.
	t.Run("second session on a connection", func(t *testing.T) {
		if _, err := c.NewSession(); err == nil {
			t.Fatal("second session channel accepted")
		}
	})

	t.Run("subsystem sftp", func(t *testing.T) {
		sess, err := dial(t, ts).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestSubsystem("sftp"); err == nil {
			t.Fatal("sftp subsystem accepted")
		}
		ts.waitEvent(t, "denied_subsystem")
	})

	t.Run("scp", func(t *testing.T) {
		sess, err := dial(t, ts).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("scp -f /etc/passwd"); err == nil {
			t.Fatal("scp accepted")
		}
	})

	t.Run("local forward", func(t *testing.T) {
		conn, err := dial(t, ts).Dial("tcp", ts.addr)
		if err == nil {
			conn.Close()
			t.Fatal("direct-tcpip channel accepted")
		}
		var oce *gossh.OpenChannelError
		if !errors.As(err, &oce) || oce.Reason != gossh.Prohibited {
			t.Errorf("error %v, want administratively prohibited", err)
		}
	})

	t.Run("remote forward", func(t *testing.T) {
		l, err := dial(t, ts).Listen("tcp", "127.0.0.1:0")
		if err == nil {
			l.Close()
			t.Fatal("tcpip-forward accepted")
		}
	})

	t.Run("agent forwarding", func(t *testing.T) {
		sess, err := dial(t, ts).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := agent.RequestAgentForwarding(sess); err == nil {
			t.Fatal("agent forwarding accepted")
		}
		ts.waitEvent(t, "denied_agent")
	})

	t.Run("x11 forwarding", func(t *testing.T) {
		sess, err := dial(t, ts).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		payload := gossh.Marshal(struct {
			Single        bool
			Proto, Cookie string
			Screen        uint32
		}{false, "MIT-MAGIC-COOKIE-1", "00", 0})
		if ok, err := sess.SendRequest("x11-req", true, payload); ok || err != nil {
			t.Fatalf("x11-req: ok=%v err=%v, want refused", ok, err)
		}
		ts.waitEvent(t, "denied_x11")
	})

	forwards := ts.events("denied_forward")
	if len(forwards) != 2 {
		t.Errorf("%d denied_forward events, want 2 (direct-tcpip, tcpip-forward): %v", len(forwards), forwards)
	}
	if ts.probe.count() != 0 {
		t.Error("a model was built for a refused session")
	}
}

func TestWindowClamped(t *testing.T) {
	ts := startServer(t, nil)

	tm := openTerm(t, dial(t, ts), "xterm", 1000, 1000)
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, 0)
	if rec.info.Width != 100 || rec.info.Height != 30 {
		t.Errorf("first size %dx%d, want 100x30", rec.info.Width, rec.info.Height)
	}
	eventually(t, 5*time.Second, "model size 100x30", func() bool { return rec.lastSize() == "100x30" })
	if err := tm.sess.WindowChange(65535, 65535); err != nil {
		t.Fatal(err)
	}
	if err := tm.sess.WindowChange(0, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "0x0 read as 80x24", func() bool { return rec.lastSize() == "80x24" })
	rec.mu.Lock()
	sizes := strings.Join(rec.sizes, " ")
	rec.mu.Unlock()
	for _, s := range strings.Fields(sizes) {
		if s != "100x30" && s != "80x24" {
			t.Errorf("model saw size %s (all: %s)", s, sizes)
		}
	}

	tm2 := openTerm(t, dial(t, ts), "xterm", 0, 0)
	tm2.waitScreen(t, "sspr-test")
	if rec := ts.probe.session(t, 1); rec.info.Width != 80 || rec.info.Height != 24 {
		t.Errorf("0x0 pty request started at %dx%d, want 80x24", rec.info.Width, rec.info.Height)
	}
}

// A window change between the pty request and the shell must neither
// block the shell nor be lost.
func TestWindowChangeBeforeShell(t *testing.T) {
	ts := startServer(t, nil)
	tm := newTerm(t, dial(t, ts))
	if err := tm.sess.RequestPty("xterm", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{85, 90, 95} {
		if err := tm.sess.WindowChange(30, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	tm.waitScreen(t, "sspr-test")
	if rec := ts.probe.session(t, 0); rec.info.Width != 95 || rec.info.Height != 30 {
		t.Errorf("started at %dx%d, want 95x30", rec.info.Width, rec.info.Height)
	}
}

func TestEnvLimited(t *testing.T) {
	ts := startServer(t, nil)
	tm := newTerm(t, dial(t, ts))
	for _, kv := range [][2]string{
		{"COLORTERM", "truecolor"}, {"NO_COLOR", "yes"}, {"LANG", "de_CH.UTF-8"},
		{"LC_ALL", "fr_FR.UTF-8"}, {"LC_MESSAGES", "sr_RS@latin"}, {"LC_CTYPE", "C"},
	} {
		if err := tm.sess.Setenv(kv[0], kv[1]); err != nil {
			t.Errorf("Setenv %s: %v", kv[0], err)
		}
	}
	for _, kv := range [][2]string{
		{"LD_PRELOAD", "/tmp/x.so"}, {"TERM", "../../x"}, {"COLORTERM", "a/b"},
		{"LANG", "/usr/lib/locale/x"}, {"LANG", "../x"}, {"LANG", "en_US.UTF-8\x1b[2J"}, {"LANG", ""},
		{"LC_TIME", "de_DE " + strings.Repeat("x", 20)}, {"LC_", "C"}, {"LC_all", "C"}, {"LC_ALL", "C;id"},
		{"LC_MONETARY", strings.Repeat("a", 60)}, {"PATH", "/tmp"}, {"SSH_AUTH_SOCK", "/tmp/s"},
	} {
		if err := tm.sess.Setenv(kv[0], kv[1]); err == nil {
			t.Errorf("Setenv %s=%q accepted", kv[0], kv[1])
		}
	}
	// Six accepted so far: two more, then none.
	for i, name := range []string{"LC_TIME", "LC_NUMERIC", "LC_COLLATE"} {
		err := tm.sess.Setenv(name, "C")
		if (err == nil) != (i < 2) {
			t.Errorf("Setenv %s as env request %d: %v", name, 7+i, err)
		}
	}
	for i := range 500 {
		_ = tm.sess.Setenv("X", strings.Repeat("y", i))
	}
	if err := tm.sess.RequestPty("xterm-256color", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	if err := tm.sess.Shell(); err != nil {
		t.Fatal(err)
	}
	tm.waitScreen(t, "sspr-test")
	rec := ts.probe.session(t, 0)
	// The locale names the character set: the wizard draws ASCII for one
	// that is not UTF-8.
	if got := strings.Join(rec.info.Env, " "); got != "TERM=xterm-256color COLORTERM=truecolor NO_COLOR=1 LANG=de_CH.UTF-8 LC_ALL=fr_FR.UTF-8 LC_CTYPE=C" {
		t.Errorf("program env %q", got)
	}
	if rec.info.Lang != "de_CH.UTF-8" || rec.info.LCAll != "fr_FR.UTF-8" || rec.info.LCMessages != "sr_RS@latin" {
		t.Errorf("locale LANG=%q LC_ALL=%q LC_MESSAGES=%q", rec.info.Lang, rec.info.LCAll, rec.info.LCMessages)
	}
	if got := rec.info.MessagesLocale(); got != "fr_FR.UTF-8" {
		t.Errorf("messages locale %q, want LC_ALL's", got)
	}
	tm.typeKeys(t, "q")
	tm.wait(t)
	if ev := ts.waitEvent(t, "session_end"); ev["env_refused"].(float64) < 515 {
		t.Errorf("env_refused = %v, want at least 515", ev["env_refused"])
	}
}

func TestPanicStaysInItsSession(t *testing.T) {
	ts := startServer(t, nil)
	other := openTerm(t, dial(t, ts), "xterm", 80, 24)
	other.waitScreen(t, "sspr-test")
	otherRec := ts.probe.session(t, 0)

	for i, key := range []string{"!", "@", "#"} {
		tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
		tm.waitScreen(t, "sspr-test")
		ts.probe.session(t, i+1)
		tm.typeKeys(t, key)
		if code := tm.wait(t); code != 1 {
			t.Errorf("key %q: exit status %d, want 1", key, code)
		}
		if !strings.Contains(tm.screen(), "internal error") {
			t.Errorf("key %q: no word of the error on screen: %q", key, tm.screen())
		}
		// The other session still works.
		other.typeKeys(t, "x")
		want := strings.Repeat("x", i+1)
		eventually(t, 5*time.Second, "the other session to go on", func() bool { return otherRec.typed() == want })
	}
	wheres := map[any]bool{}
	for _, ev := range ts.events("session_panic") {
		wheres[ev["where"]] = true
		if s, _ := ev["stack"].(string); !strings.Contains(s, "goroutine") {
			t.Errorf("session_panic without a stack: %v", ev)
		}
	}
	for _, w := range []string{"update", "command", "view"} {
		if !wheres[w] {
			t.Errorf("no session_panic logged for %s (got %v)", w, wheres)
		}
	}
}

func TestPanicInModelFactory(t *testing.T) {
	var calls atomic.Int32
	var ts *testServer
	ts = startServer(t, func(c *Config) {
		c.NewModel = func(info SessionInfo) tea.Model {
			if calls.Add(1) == 1 {
				panic("factory fails on purpose")
			}
			return ts.probe.newModel(info)
		}
	})
	tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
	if code := tm.wait(t); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	ts.waitEvent(t, "session_panic")
	ok := openTerm(t, dial(t, ts), "xterm", 80, 24)
	ok.waitScreen(t, "sspr-test")
}

func TestShutdownEndsSessions(t *testing.T) {
	ts := startServer(t, nil)
	terms := []*term{openTerm(t, dial(t, ts), "xterm", 80, 24), openTerm(t, dial(t, ts), "xterm", 80, 24)}
	for _, tm := range terms {
		tm.waitScreen(t, "sspr-test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("shutdown with 2 sessions took %s", time.Since(start).Round(time.Millisecond))
	for _, tm := range terms {
		tm.wait(t)
		if !strings.Contains(tm.screen(), "restarting") {
			t.Errorf("no restart notice on screen: %q", tm.screen())
		}
		if !strings.Contains(tm.stdout.String(), "\x1b[?1049l") {
			t.Error("terminal not restored before the session closed")
		}
	}
	if _, err := gossh.Dial("tcp", ts.addr, clientConfig(ts)); err == nil {
		t.Error("a new connection was accepted after Shutdown")
	}
}

func TestMaxTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxSessionTime = 300 * time.Millisecond })
	tm := openTerm(t, dial(t, ts), "xterm", 80, 24)
	tm.waitScreen(t, "sspr-test")
	if code := tm.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if !strings.Contains(tm.screen(), "time limit") {
		t.Errorf("no time limit notice: %q", tm.screen())
	}
	if ev := ts.waitEvent(t, "session_end"); ev["reason"] != "max_time" {
		t.Errorf("session_end reason %v", ev["reason"])
	}
}

func TestSessionCaps(t *testing.T) {
	t.Run("global", func(t *testing.T) {
		ts := startServer(t, func(c *Config) { c.MaxSessions = 2 })
		a := dial(t, ts)
		dial(t, ts)
		if _, err := gossh.Dial("tcp", ts.addr, clientConfig(ts)); err == nil {
			t.Fatal("third connection accepted with a cap of 2")
		}
		ts.waitEvent(t, "refused_busy")
		a.Close()
		eventually(t, 5*time.Second, "a free slot", func() bool {
			c, err := gossh.Dial("tcp", ts.addr, clientConfig(ts))
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	})
	t.Run("per source", func(t *testing.T) {
		ts := startServer(t, func(c *Config) { c.MaxPerSource = 1 })
		dial(t, ts)
		if _, err := gossh.Dial("tcp", ts.addr, clientConfig(ts)); err == nil {
			t.Fatal("second connection from one address accepted with a cap of 1")
		}
		ts.waitEvent(t, "refused_per_source")
	})
}

func TestLoginGrace(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.LoginGrace = time.Second })

	t.Run("silent TCP", func(t *testing.T) {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(conn) // the version line, then nothing
		if err != nil {
			t.Fatalf("read: %v (after %s)", err, time.Since(start))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("closed after %s", d)
		}
	})

	t.Run("no session", func(t *testing.T) {
		c := dial(t, ts)
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("a connection without a session was kept")
		}
	})
}

func TestVersionAndAlgorithms(t *testing.T) {
	ts := startServer(t, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	line := make([]byte, 14)
	if _, err := io.ReadFull(conn, line); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if string(line) != "SSH-2.0-SSPR\r\n" {
		t.Errorf("version line %q", line)
	}

	for _, tc := range []struct {
		name string
		set  func(*gossh.ClientConfig)
		ok   bool
	}{
		{"defaults", func(*gossh.ClientConfig) {}, true},
		{"curve25519 chacha20", func(c *gossh.ClientConfig) {
			c.KeyExchanges = []string{gossh.KeyExchangeCurve25519}
			c.Ciphers = []string{gossh.CipherChaCha20Poly1305}
		}, true},
		{"aes-gcm", func(c *gossh.ClientConfig) { c.Ciphers = []string{gossh.CipherAES128GCM} }, true},
		{"dh group14 sha256", func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeDH14SHA256} }, false},
		{"nist p256", func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeECDHP256} }, false},
		{"aes-ctr", func(c *gossh.ClientConfig) { c.Ciphers = []string{gossh.CipherAES128CTR} }, false},
		{"cbc", func(c *gossh.ClientConfig) { c.Ciphers = []string{gossh.InsecureCipherAES128CBC} }, false},
		{"rsa host key only", func(c *gossh.ClientConfig) { c.HostKeyAlgorithms = []string{gossh.KeyAlgoRSASHA256} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientConfig(ts)
			tc.set(cfg)
			c, err := gossh.Dial("tcp", ts.addr, cfg)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("dial error %v, want success %v", err, tc.ok)
			}
		})
	}
}

func TestHostKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "host_ed25519")
	cfg := Config{Settings: Default(), NewModel: (&probe{}).newModel}
	cfg.HostKey = path

	t.Chdir(t.TempDir())
	s1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := s1.HostKeyFingerprint(), s2.HostKeyFingerprint(); a != b || !strings.HasPrefix(a, "SHA256:") {
		t.Errorf("fingerprints %s and %s, want the same SHA256", a, b)
	}
	if _, err := os.Stat("id_ed25519"); !errors.Is(err, os.ErrNotExist) {
		t.Error("a key was written into the working directory")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg)
	if err == nil || !strings.Contains(err.Error(), "mode 0644") || !strings.Contains(err.Error(), path) {
		t.Errorf("New with a 0644 key: %v, want an error naming the file and its mode", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a group-readable key")
	}

	if err := os.WriteFile(path+".bad", []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.HostKey = path + ".bad"
	if _, err := New(bad); err == nil {
		t.Error("New accepted a file that is not a key")
	}
	bad.HostKey = ""
	if _, err := New(bad); err == nil {
		t.Error("New accepted an empty host key path")
	}
}

func TestServerSafeFilter(t *testing.T) {
	if serverSafe(nil, tea.SuspendMsg{}) != nil {
		t.Error("a suspend would reach the program, which stops the server's process group")
	}
	if serverSafe(nil, tea.Exec(nil, nil)()) != nil {
		t.Error("an exec would reach the program, which runs a command on the server")
	}
	if serverSafe(nil, tea.KeyPressMsg{Code: 'a', Text: "a"}) == nil {
		t.Error("a key press was dropped")
	}
}

func TestValidTerm(t *testing.T) {
	for _, tc := range []struct {
		term string
		ok   bool
	}{
		{"xterm-256color", true}, {"screen.xterm-256color", true}, {"rxvt-unicode+tabs", true}, {"linux", true}, {"vt100", true},
		{"", false}, {"../../x", false}, {"..", false}, {"a/b", false}, {"/etc/passwd", false},
		{"xterm\x00", false}, {"x y", false}, {strings.Repeat("x", 65), false}, {"xterm\n", false},
	} {
		if got := validTerm(tc.term); got != tc.ok {
			t.Errorf("validTerm(%q) = %v, want %v", tc.term, got, tc.ok)
		}
	}
}

func FuzzRequestPayloads(f *testing.F) {
	f.Add(ptyRequest{Term: "xterm", Cols: 80, Rows: 24}.marshal())
	f.Add(marshalWindowChange(80, 24))
	f.Add(marshalEnv("COLORTERM", "truecolor"))
	f.Fuzz(func(t *testing.T, p []byte) {
		if pr, ok := parsePtyRequest(p); ok {
			if again, ok := parsePtyRequest(pr.marshal()); !ok || again.Term != pr.Term || again.Cols != pr.Cols {
				t.Errorf("pty request does not survive a round trip")
			}
		}
		parseWindowChange(p)
		parseEnv(p)
	})
}
