package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

func TestLogConfig(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "log:\n  file: /var/log/sspr/sspr.log\n  format: json\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.File != "/var/log/sspr/sspr.log" || c.Log.Format != "json" {
		t.Errorf("not read as written: %+v", c.Log)
	}
	_, err = loadConfig(writeConfig(t, "log:\n  format: xml\n"))
	if want := `log.format: "xml" is not allowed (text or json)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("format xml: %v, want it to say %s", err, want)
	}
}

// With no format, a log that is not a terminal (a file, a pipe, the
// journal) is JSON; text when asked.
func TestOpenLogFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sspr.log")
	log, f, err := openLog(LogConfig{File: path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "k", "v")
	f.Close()
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), `{"time":`) || !strings.Contains(string(b), `"msg":"hello","k":"v"`) {
		t.Errorf("default format on a file:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %o, want 600", fi.Mode().Perm())
	}
	var buf bytes.Buffer
	log, f, err = openLog(LogConfig{Format: "text"}, &buf)
	if err != nil || f != nil {
		t.Fatal(f, err)
	}
	log.Info("hello", "k", "v")
	if !strings.Contains(buf.String(), "msg=hello k=v") {
		t.Errorf("text format:\n%s", buf.String())
	}
}

// Writers keep writing while the file is rotated under them, over and
// over: every line lands whole in exactly one of the files, and after each
// reopen the new lines go to the new file. Run with -race.
func TestReopenFileConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	r, err := openReopenable(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, lines, rotations = 8, 500, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(r, "writer %d line %04d %s\n", w, i, strings.Repeat("x", 100)); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	for i := range rotations {
		if err := os.Rename(path, fmt.Sprintf("%s.%02d", path, i)); err != nil {
			t.Fatal(err)
		}
		if err := r.Reopen(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	// The next line goes to the file at the path, not to a rotated one.
	fmt.Fprintln(r, "after the last reopen")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.HasSuffix(string(b), "after the last reopen\n") {
		t.Errorf("the last line is not at the end of %s", path)
	}

	files, _ := filepath.Glob(path + "*")
	if len(files) != rotations+1 {
		t.Fatalf("%d files, want %d", len(files), rotations+1)
	}
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l != "" && l != "after the last reopen" {
				got = append(got, l)
			}
		}
	}
	var want []string
	for w := range writers {
		for i := range lines {
			want = append(want, fmt.Sprintf("writer %d line %04d %s", w, i, strings.Repeat("x", 100)))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d lines across the files, want the %d written, each once and whole", len(got), len(want))
	}
}

// A reopen that fails (the directory is gone) keeps the writes going to
// the file already open, and says why; a later reopen recovers.
func TestReopenFailureKeepsOldFile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "log")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.log")
	r, err := openReopenable(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fmt.Fprintln(r, "one")
	moved := filepath.Join(base, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	reopenLogs(slog.New(slog.NewTextHandler(&logBuf, nil)), []namedLog{{"audit.path", r}})
	if s := logBuf.String(); !strings.Contains(s, "level=ERROR msg=log_reopened reopened=none") || !strings.Contains(s, "audit.path "+path) {
		t.Errorf("the failed reopen is not logged as such:\n%s", s)
	}
	fmt.Fprintln(r, "two")
	if b, _ := os.ReadFile(filepath.Join(moved, "audit.log")); string(b) != "one\ntwo\n" {
		t.Errorf("the old file holds %q, want both lines", b)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logBuf.Reset()
	reopenLogs(slog.New(slog.NewTextHandler(&logBuf, nil)), []namedLog{{"audit.path", r}})
	if s := logBuf.String(); !strings.Contains(s, `level=INFO msg=log_reopened reopened="audit.path=`+path+`"`) {
		t.Errorf("log after a good reopen:\n%s", s)
	}
	fmt.Fprintln(r, "three")
	if b, _ := os.ReadFile(path); string(b) != "three\n" {
		t.Errorf("the new file holds %q", b)
	}
}

// sshTerm is one SSH session with a PTY, as a client sees it.
type sshTerm struct {
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.Writer
	out    *testserver.SyncBuffer
}

func openSSHTerm(t *testing.T, port int) *sshTerm {
	t.Helper()
	c, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &gossh.ClientConfig{
		User:            "reset",
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	st := &sshTerm{client: c, sess: sess, out: &testserver.SyncBuffer{}}
	sess.Stdout, sess.Stderr = st.out, st.out
	if st.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return st
}

func (st *sshTerm) waitFor(t *testing.T, text string) {
	t.Helper()
	waitUntil(t, 15*time.Second, fmt.Sprintf("%q on the screen", text), func() bool {
		return strings.Contains(ansi.Strip(st.out.String()), text)
	}, func() string { return ansi.Strip(st.out.String()) })
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, show func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; have:\n%s", d, what, show())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestSIGHUPReopensLogs: logrotate renames the audit trail and the server
// log and sends SIGHUP. The server keeps running and keeps its sessions,
// says log_reopened, and writes what follows to new files at the
// configured paths; the renamed files hold only what came before.
func TestSIGHUPReopensLogs(t *testing.T) {
	bin := buildBinary(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	auditPath, logPath := filepath.Join(logDir, "audit.log"), filepath.Join(logDir, "sspr.log")
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\naudit:\n  path: %s\nlog:\n  file: %s\n",
		dataDir, port, auditPath, logPath))
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	srv := serveBinary(t, bin, cfg, port)
	logs := func() string {
		return "server log:\n" + readFile(t, logPath) + "\nrotated server log:\n" + readFile(t, logPath+".1") + "\nstderr:\n" + srv.Log()
	}

	first := openSSHTerm(t, port)
	first.waitFor(t, "Email or Username")
	waitUntil(t, 10*time.Second, "the first session in the audit trail", func() bool {
		return strings.Contains(readFile(t, auditPath), `"result":"started"`)
	}, func() string { return readFile(t, auditPath) })

	// logrotate: rename, then SIGHUP.
	for _, p := range []string{auditPath, logPath} {
		if err := os.Rename(p, p+".1"); err != nil {
			t.Fatal(err)
		}
	}
	oldAudit := readFile(t, auditPath+".1")
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	waitUntil(t, 10*time.Second, "log_reopened in the new server log", func() bool {
		return strings.Contains(readFile(t, logPath), `"msg":"log_reopened"`)
	}, logs)
	t.Logf("SIGHUP to log_reopened in the new log file: %s", time.Since(sent).Round(time.Millisecond))
	if s := readFile(t, logPath); !strings.Contains(s, `"level":"INFO"`) || !strings.Contains(s, "log.file="+logPath) || !strings.Contains(s, "audit.path="+auditPath) {
		t.Errorf("log_reopened does not name both files:\n%s", s)
	}

	// The first session is still there and answers.
	if _, err := io.WriteString(first.stdin, "bob\r"); err != nil {
		t.Fatalf("the first session is gone: %v", err)
	}
	first.waitFor(t, "Text my mobile phone")
	// And a new one is audited too.
	second := openSSHTerm(t, port)
	second.waitFor(t, "Email or Username")
	waitUntil(t, 10*time.Second, "the identify step and the second session in the new audit file", func() bool {
		a := readFile(t, auditPath)
		return strings.Contains(a, `"step":"identify"`) && strings.Count(a, `"result":"started"`) == 1
	}, func() string {
		return "new audit:\n" + readFile(t, auditPath) + "\nold audit:\n" + readFile(t, auditPath+".1")
	})

	if got := readFile(t, auditPath+".1"); got != oldAudit {
		t.Errorf("the rotated audit file changed after SIGHUP:\nbefore:\n%s\nafter:\n%s", oldAudit, got)
	}
	if strings.Contains(oldAudit, `"step":"identify"`) {
		t.Errorf("the rotated audit file holds a line from after the rotation:\n%s", oldAudit)
	}
	if s := readFile(t, logPath+".1"); !strings.Contains(s, `"msg":"serving"`) || strings.Contains(s, "log_reopened") {
		t.Errorf("the rotated server log should hold the start and nothing after the rotation:\n%s", s)
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		t.Fatalf("sspr serve ended on SIGHUP: %v\n%s", err, logs())
	default:
	}
	if fi, err := os.Stat(auditPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new audit file: %v %v, want mode 600", fi, err)
	}

	if err := srv.Stop(15 * time.Second); err != nil {
		t.Fatalf("sspr serve on SIGTERM: %v\n%s", err, logs())
	}
	if s := readFile(t, logPath); !strings.Contains(s, `"msg":"shut_down"`) {
		t.Errorf("the shutdown is not in the new server log:\n%s", s)
	}
}

// The demo says where it listens and how to listen elsewhere.
func TestLogDemoListen(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:2222", `level=INFO msg=demo_loopback_only listen=127.0.0.1:2222 note="the demo listens on 127.0.0.1 only; to listen on other interfaces, start sspr with a config file`},
		{"[::1]:2222", "the demo listens on ::1 only"},
		{":2222", "level=WARN msg=demo_listening listen=:2222"},
	} {
		var buf bytes.Buffer
		logDemoListen(slog.New(slog.NewTextHandler(&buf, nil)), tc.listen)
		if !strings.Contains(buf.String(), tc.want) || strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("%s: logged\n%s\nwant one line with %s", tc.listen, buf.String(), tc.want)
		}
	}
}
