package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

// The end-to-end path: the built binary serving over SSH, driven by the
// real OpenSSH client inside a real terminal (tmux).

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sspr")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tmuxTerm is one tmux server with one window of 100x30.
type tmuxTerm struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, command string) *tmuxTerm {
	t.Helper()
	for _, tool := range []string{"tmux", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the end-to-end test (.ci/run installs it): %v", tool, err)
		}
	}
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("sspr-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	tm.run("new-session", "-d", "-x", "100", "-y", "30", command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (tm *tmuxTerm) screen() string { return tm.run("capture-pane", "-p") }

// history is the screen plus every line scrolled off it.
func (tm *tmuxTerm) history() string { return tm.run("capture-pane", "-p", "-S", "-") }

func (tm *tmuxTerm) keys(keys ...string) { tm.run(append([]string{"send-keys"}, keys...)...) }

func (tm *tmuxTerm) text(s string) { tm.run("send-keys", "-l", s) }

func (tm *tmuxTerm) waitFor(want string) time.Duration {
	tm.t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(tm.screen(), want) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("screen never showed %q; it shows:\n%s", want, tm.screen())
	return 0
}

// waitGone waits until the screen no longer shows gone.
func (tm *tmuxTerm) waitGone(gone string) {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if !strings.Contains(tm.screen(), gone) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("screen still shows %q:\n%s", gone, tm.screen())
}

// wrongCode types a code, waits for its echo, submits it and waits until
// the answer came back (the field is emptied for the next try) and says
// refusal: a code typed while the last one is still being checked would
// be emptied with it.
func (tm *tmuxTerm) wrongCode(code, refusal string) {
	tm.t.Helper()
	tm.text(code)
	tm.waitFor(code)
	tm.keys("Enter")
	tm.waitGone(code)
	tm.waitFor(refusal)
}

var codeRE = regexp.MustCompile(`code is (\d{6,10})`)

// lastCode reads the newest code sent to destination from the outbox.
func lastCode(t *testing.T, outbox, destination string) string {
	t.Helper()
	data, err := os.ReadFile(outbox)
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, destination) {
			if m := codeRE.FindStringSubmatch(line); m != nil {
				code = m[1]
			}
		}
	}
	if code == "" {
		t.Fatalf("no code to %s in the outbox:\n%s", destination, data)
	}
	return code
}

func TestEndToEndTextResetOverOpenSSH(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\nsignin_url: https://login.example.com\n", dataDir, port))

	// The demo users come with the demo; with a config, add bob ourselves.
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}

	srv := serveBinary(t, bin, cfg, port)

	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	firstFrame := tm.waitFor("Email or Username")
	t.Logf("from starting ssh in tmux to the first frame: %v", firstFrame)

	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if !strings.Contains(tm.screen(), "Text my mobile phone") {
		t.Fatalf("bob's methods:\n%s", tm.screen())
	}
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	code := lastCode(t, filepath.Join(dataDir, "outbox.log"), "+12125550102")
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Brand-New-Passw0rd-77"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")
	if s := tm.screen(); !strings.Contains(s, "https://login.example.com") {
		t.Fatalf("no sign-in URL on the last screen:\n%s", s)
	}
	if h := tm.history(); strings.Contains(h, newPassword) || strings.Contains(h, code) {
		t.Fatalf("a secret is left on the terminal:\n%s", h)
	}

	verify := func(pw string) int {
		cmd := exec.Command(bin, "--config", cfg, "users", "verify", "bob")
		cmd.Stdin = strings.NewReader(pw + "\n")
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if verify(newPassword) != 0 {
		t.Fatal("the new password does not verify")
	}
	if verify("Copper-Violin-3907") != 1 {
		t.Fatal("the old password still verifies")
	}

	// The audit trail has the reset and neither secret.
	audit, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(audit), `"step":"set_password","result":"ok"`) {
		t.Fatalf("no successful set_password in the audit:\n%s", audit)
	}
	if strings.Contains(string(audit), newPassword) || strings.Contains(string(audit), code) {
		t.Fatal("the audit trail holds a secret")
	}

	// Quitting restores the client's terminal and ends ssh. bob has one
	// method: he is offered another, and says "No, thanks".
	if !strings.Contains(tm.screen(), "[No, thanks]") {
		t.Fatalf("bob, with one method, is not offered another:\n%s", tm.screen())
	}
	tm.keys("Tab")
	tm.keys("Enter")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(tm.screen(), "Your password has been reset") {
		if time.Now().After(deadline) {
			t.Fatalf("the session did not end:\n%s", tm.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SIGTERM ends the server cleanly.
	if err := srv.Stop(15 * time.Second); err != nil {
		t.Fatalf("sspr serve on SIGTERM: %v\n%s", err, srv.Log())
	}
}

// servedBinary is the built binary's `sspr serve`, running for one test.
type servedBinary struct {
	cmd  *exec.Cmd
	log  *testserver.SyncBuffer
	done chan error
	once sync.Once
	err  error
}

// serveBinary starts `bin --config cfg serve`, with env added to the
// environment, and waits until it listens on port. The server is stopped
// with SIGTERM when the test ends, unless Stop did it before.
func serveBinary(t *testing.T, bin, cfg string, port int, env ...string) *servedBinary {
	t.Helper()
	cmd := exec.Command(bin, "--config", cfg, "serve")
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	s := &servedBinary{cmd: cmd, log: &testserver.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = s.Stop(15 * time.Second) })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return s
		}
		if i > 200 {
			t.Fatalf("sspr serve never listened: %v\n%s", err, s.Log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Log is what the server wrote so far.
func (s *servedBinary) Log() string { return s.log.String() }

// Stop sends SIGTERM and waits up to grace for the server to exit. It
// returns how the server ended; past the grace, the server is killed and
// the error says so.
func (s *servedBinary) Stop(grace time.Duration) error {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.err = <-s.done:
		case <-time.After(grace):
			_ = s.cmd.Process.Kill()
			<-s.done
			s.err = fmt.Errorf("sspr serve did not stop within %s of SIGTERM", grace)
		}
	})
	return s.err
}
