package main

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeNeverDemoesARealDirectory: over a real SSH port, a config with
// a real directory (an embedded file of real people) and no methods, or
// with the demo phone named, never starts serving; with demo: true it
// serves the demo and warns at start.
func TestServeNeverDemoesARealDirectory(t *testing.T) {
	bin := buildBinary(t)
	dataDir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\ncaptcha:\n  enabled: false\n", dataDir, port)
	// A real person in the embedded directory, added with a config that
	// may use the demo phone.
	add := exec.Command(bin, "--config", writeConfigAs(t, "demo: true\n"+base), "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"no methods", base, "methods: is missing"},
		{"demo methods", base + "methods: {text: demo, call: demo}\n", "methods.text: demo draws every code on the person's own screen"},
		{"demo false", "demo: false\n" + base + "methods: {text: demo}\n", "methods.text: demo draws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfigAs(t, tc.body)
			cmd := exec.Command(bin, "--config", cfg, "serve")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			deadline := time.After(10 * time.Second)
			for {
				if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
					c.Close()
					_ = cmd.Process.Kill()
					t.Fatalf("sspr serve listened with %s", tc.name)
				}
				select {
				case err := <-done:
					ee, ok := err.(*exec.ExitError)
					if !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.want) {
						t.Fatalf("exit %v, stderr %q, want status 2 and %q", err, stderr.String(), tc.want)
					}
					return
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatal("sspr serve neither listened nor exited")
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}

	srv := serveBinary(t, bin, writeConfigAs(t, "demo: true\n"+base), port)
	// The port is bound before the start line is logged.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(srv.Log(), `"msg":"serving"`) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(srv.Log(), "WARNING: demo: true") || !strings.Contains(srv.Log(), "demo_mode") || !strings.Contains(srv.Log(), `"demo":true`) {
		t.Errorf("no warning at start:\n%s", srv.Log())
	}
	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", port))
	tm.waitFor("Email or Username")
	if s := tm.screen(); !strings.Contains(s, "Demo mode") {
		t.Fatalf("no demo banner:\n%s", s)
	}
}
