package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newTmuxSized is newTmux with a window of width x height.
func newTmuxSized(t *testing.T, width, height int, command string) *tmuxTerm {
	t.Helper()
	for _, tool := range []string{"tmux", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the end-to-end test (.ci/run installs it): %v", tool, err)
		}
	}
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("sspr-screens-%d-%d", os.Getpid(), time.Now().UnixNano())}
	tm.run("new-session", "-d", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

// waitMatch waits for re on the screen and returns its first group.
func (tm *tmuxTerm) waitMatch(re *regexp.Regexp) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(tm.screen()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("screen never matched %s; it shows:\n%s", re, tm.screen())
	return ""
}

// countsDown waits for re's number to fall below what it first showed.
func (tm *tmuxTerm) countsDown(re *regexp.Regexp) {
	tm.t.Helper()
	first, _ := strconv.Atoi(tm.waitMatch(re))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(tm.screen()); m != nil {
			if n, _ := strconv.Atoi(m[1]); n < first {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tm.t.Fatalf("%s stayed at %d; the screen shows:\n%s", re, first, tm.screen())
}

var supportCode = regexp.MustCompile(`Support code: ([0-9a-f]{8})`)

// TestScreensOverOpenSSH drives the screens with the real OpenSSH client in
// a 160x48 tmux window: the card is centred,
// a cooldown counts down, and Esc on the code screen asks before the
// session's code is given up.
func TestScreensOverOpenSSH(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\n", dataDir, port))
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	serveBinary(t, bin, cfg, port)
	const width, height = 160, 48
	tm := newTmuxSized(t, width, height, fmt.Sprintf("LANG=C.UTF-8 ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")

	// Centred: as much room left of the card as right of it (the server
	// draws in 100x30, the demo phone under the form), as much above the
	// title as below the keys.
	lines := strings.Split(strings.TrimRight(tm.screen(), "\n"), "\n")
	for len(lines) < height {
		lines = append(lines, "")
	}
	top, bottom, left, right := -1, -1, -1, -1
	rule := strings.Repeat("─", 80)
	for i, l := range lines {
		if strings.Contains(l, "Get back into your account") && top < 0 {
			top = i
		}
		if at := strings.Index(l, rule); at >= 0 && left < 0 {
			left = len([]rune(l[:at]))
			right = width - left - 80
		}
		if strings.Contains(l, "Enter next") {
			bottom = height - 1 - i
		}
	}
	if top < 0 || bottom < 0 || left < 0 || right < 0 || absInt(top-bottom) > 1 || absInt(left-right) > 1 {
		t.Fatalf("the card is not centred (top %d, bottom %d, left %d, right %d):\n%s", top, bottom, left, right, tm.screen())
	}

	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	ref := tm.waitMatch(supportCode)
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")

	// The resend link counts down to when it may be used, and so does the
	// refusal of a new code asked for too soon.
	tm.countsDown(regexp.MustCompile(`Send a new code \(in (\d+) s\)`))
	tm.keys("C-r")
	tm.countsDown(regexp.MustCompile(`You can ask for a new code in (\d+) seconds?\.`))

	// Esc asks first; anything but y keeps the code screen and the session.
	tm.keys("Escape")
	tm.waitFor("Back to the methods? The code we sent stops working. y/N")
	tm.text("n")
	tm.waitFor("Enter verify")
	if got := tm.waitMatch(supportCode); got != ref || !strings.Contains(tm.screen(), "Enter your verification code") {
		t.Fatalf("Esc and n left the code screen or the session (%s, was %s):\n%s", got, ref, tm.screen())
	}
	// y goes back one step, the session kept; the text just sent makes the
	// method wait, and the wait counts down.
	tm.keys("Escape")
	tm.waitFor("y/N")
	tm.text("y")
	tm.waitFor("Please choose the contact method we should use for verification:")
	if got := tm.waitMatch(supportCode); got != ref {
		t.Fatalf("going back lost the session: %s, was %s", got, ref)
	}
	tm.keys("Enter")
	tm.countsDown(regexp.MustCompile(`You can use this method again in (\d+) seconds?\.`))
	if s := tm.screen(); strings.Contains(s, "Error:") {
		t.Fatalf("a wait is shown as an error:\n%s", s)
	}
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
