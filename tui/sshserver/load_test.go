package sshserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/tui"
)

// TestIdleSessionsCost measures what idle sessions cost the server: RSS,
// goroutines and CPU. The clients run in a child process, so the numbers
// are the server's alone. Run it with
//
//	SSPR_SSH_LOAD=100 go test -run TestIdleSessionsCost -v ./tui/sshserver/
//
// SSPR_SSH_FPS sets the frame rate, SSPR_SSH_SIZE the window (80x24), and
// SSPR_SSH_MODEL=wizard serves the real wizard in demo mode instead of a
// one-line model.
func TestIdleSessionsCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SSPR_SSH_LOAD"))
	if n <= 0 {
		t.Skip("set SSPR_SSH_LOAD to the number of sessions to measure")
	}
	fps, _ := strconv.Atoi(os.Getenv("SSPR_SSH_FPS"))
	wizard := os.Getenv("SSPR_SSH_MODEL") == "wizard"
	ts := startServer(t, func(c *Config) {
		c.MaxSessions = n + 10
		if fps > 0 {
			c.FPS = fps
		}
		if wizard {
			// Every client comes from 127.0.0.1: trust it, as an office NAT.
			l := flow.DefaultLimits()
			l.TrustedSources = []string{"127.0.0.1/32"}
			l.TrustedSessions = flow.Rate{Count: n + 10, Per: 10 * time.Second}
			eng, _, phone, _ := demoEngine(t, true, l)
			c.NewModel = func(info SessionInfo) tea.Model {
				return tui.New(eng, tui.Options{Origin: flow.Origin{Channel: flow.SSH, Remote: info.Remote}, Demo: phone, Remote: true})
			}
		}
	})
	wait := "sspr-test"
	if wizard {
		wait = "Who are you?"
	}

	runtime.GC()
	time.Sleep(200 * time.Millisecond)
	rss0, g0, cpu0 := vmRSS(t), runtime.NumGoroutine(), cpuTime(t)

	child := exec.Command(os.Args[0], "-test.run=^TestIdleSessionsClients$", "-test.v")
	child.Env = append(os.Environ(),
		"SSPR_SSH_CLIENTS_ADDR="+ts.addr, "SSPR_SSH_CLIENTS_N="+strconv.Itoa(n),
		"SSPR_SSH_CLIENTS_FP="+ts.HostKeyFingerprint(), "SSPR_SSH_CLIENTS_WAIT="+wait)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	start := time.Now()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "READY") {
	}
	t.Logf("%d sessions open with a first frame each in %s", n, time.Since(start).Round(time.Millisecond))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	time.Sleep(2 * time.Second) // let start-up work settle
	runtime.GC()
	rss1, g1 := vmRSS(t), runtime.NumGoroutine()
	c1 := cpuTime(t)
	const window = 5 * time.Second
	time.Sleep(window)
	c2 := cpuTime(t)
	fpsUsed := fps
	if fpsUsed == 0 {
		fpsUsed = Default().FPS
	}
	t.Logf("fps %d: RSS %d KiB -> %d KiB: %d KiB per session; goroutines %d -> %d: %.1f per session",
		fpsUsed, rss0, rss1, (rss1-rss0)/int64(n), g0, g1, float64(g1-g0)/float64(n))
	t.Logf("idle CPU with %d sessions: %.1f %% of one core (start-up took %s of CPU)",
		n, 100*float64(c2-c1)/float64(window), (c1 - cpu0).Round(time.Millisecond))
}

// TestIdleSessionsClients is the child of TestIdleSessionsCost: it opens
// the sessions and holds them until its stdin closes.
func TestIdleSessionsClients(t *testing.T) {
	addr := os.Getenv("SSPR_SSH_CLIENTS_ADDR")
	if addr == "" {
		t.Skip("run by TestIdleSessionsCost")
	}
	n, _ := strconv.Atoi(os.Getenv("SSPR_SSH_CLIENTS_N"))
	fp := os.Getenv("SSPR_SSH_CLIENTS_FP")
	cfg := &gossh.ClientConfig{
		User: "load",
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if gossh.FingerprintSHA256(key) != fp {
				return fmt.Errorf("unexpected host key")
			}
			return nil
		},
		Timeout: 10 * time.Second,
	}
	for i := range n {
		c, err := gossh.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		w, h := 80, 24
		if size := os.Getenv("SSPR_SSH_SIZE"); size != "" {
			_, _ = fmt.Sscanf(size, "%dx%d", &w, &h)
		}
		tm := openTerm(t, c, "xterm-256color", w, h)
		tm.waitScreen(t, os.Getenv("SSPR_SSH_CLIENTS_WAIT"))
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// cpuTime is the user and system CPU time of this process.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc/self/stat")
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
