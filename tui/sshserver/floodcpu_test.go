package sshserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestFloodCPU measures the server CPU that hostile input costs, per kind
// of flood, with the real wizard. The client runs in a child process, so
// the CPU is the server's alone. Run it with
//
//	SSPR_SSH_FLOOD=typing,osc,winch go test -run TestFloodCPU -v ./tui/sshserver/
//
// SSPR_SSH_FLOOD_KB sets the bytes sent (256 KiB; for winch, the number
// of window changes is that many thousands / 16), SSPR_SSH_FLOOD_OPEN=1
// raises the input limits to their maximum, so the cost of what gets
// through is measured rather than the rate limit's.
func TestFloodCPU(t *testing.T) {
	kinds := os.Getenv("SSPR_SSH_FLOOD")
	if kinds == "" {
		t.Skip("set SSPR_SSH_FLOOD to typing, osc and/or winch")
	}
	kb, _ := strconv.Atoi(os.Getenv("SSPR_SSH_FLOOD_KB"))
	if kb <= 0 {
		kb = 256
	}
	ts := wizardServer(t, floodLimits)
	for _, kind := range strings.Split(kinds, ",") {
		c0 := cpuTime(t)
		start := time.Now()
		child := exec.Command(os.Args[0], "-test.run=^TestFloodClient$", "-test.v")
		child.Env = append(os.Environ(), "SSPR_SSH_FLOOD_ADDR="+ts.addr, "SSPR_SSH_FLOOD_FP="+ts.HostKeyFingerprint(),
			"SSPR_SSH_FLOOD_KIND="+kind, "SSPR_SSH_FLOOD_KB="+strconv.Itoa(kb))
		out, err := child.CombinedOutput()
		if err != nil {
			t.Fatalf("%s client: %v\n%s", kind, err, out)
		}
		cpu := cpuTime(t) - c0
		var sent, changes int
		for _, l := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "SENT "); ok {
				_, _ = fmt.Sscanf(rest, "%d %d", &sent, &changes)
			}
		}
		perMB := time.Duration(float64(cpu) / (float64(max(sent, 1)) / (1 << 20)))
		t.Logf("%s: %d KiB sent (%d window changes) in %s: server CPU %s, %s per MiB",
			kind, sent>>10, changes, time.Since(start).Round(time.Millisecond), cpu.Round(10*time.Millisecond), perMB.Round(10*time.Millisecond))
	}
}

// TestFloodClient is the child of TestFloodCPU: one session that floods,
// then quits and waits for the session's end, and reports what it sent.
func TestFloodClient(t *testing.T) {
	addr := os.Getenv("SSPR_SSH_FLOOD_ADDR")
	if addr == "" {
		t.Skip("run by TestFloodCPU")
	}
	fp := os.Getenv("SSPR_SSH_FLOOD_FP")
	kb, _ := strconv.Atoi(os.Getenv("SSPR_SSH_FLOOD_KB"))
	total := kb << 10
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "flood",
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if gossh.FingerprintSHA256(key) != fp {
				return fmt.Errorf("unexpected host key")
			}
			return nil
		},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := openTerm(t, c, "xterm-256color", 80, 24)
	tm.waitScreen(t, "Who are you?")
	ended := make(chan struct{})
	go func() { _ = tm.sess.Wait(); close(ended) }()

	sent, changes := 0, 0
	write := func(b []byte) bool {
		n, err := tm.stdin.Write(b)
		sent += n
		return err == nil
	}
	switch os.Getenv("SSPR_SSH_FLOOD_KIND") {
	case "typing":
		chunk := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz012345"), 128)
		for sent < total && write(chunk) {
		}
	case "osc":
		chunk := bytes.Repeat([]byte("a"), 4096)
		if write([]byte("\x1b]11;")) {
			for sent < total && write(chunk) {
			}
		}
	case "winch":
		for changes = 0; changes < total/16; changes++ {
			if tm.sess.WindowChange(24+changes%20, 80+changes%40) != nil {
				break
			}
		}
		sent = changes * 16 // the payload of a window-change
	}
	// Ctrl+C (after a BEL that ends the OSC) quits the wizard once
	// everything before it has been read: the session's end is the end of
	// the work. The pause lets the rate limit take two more bytes.
	time.Sleep(time.Second)
	_, _ = tm.stdin.Write([]byte("\x07\x03"))
	select {
	case <-ended:
	case <-time.After(10 * time.Minute):
		t.Fatal("the session did not end")
	}
	fmt.Printf("SENT %d %d\n", sent, changes)
	_ = c.Close()
}
