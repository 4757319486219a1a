package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// suspendBob makes wrong numbers for bob through eng until his
// self-service reset is suspended.
func suspendBob(t *testing.T, eng *flow.Engine) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		s, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.10:5555"})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Identify(ctx, "bob", "")
		if flow.ReasonOf(err) == flow.ReasonSuspended {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Choose(ctx, flow.TextMobile); err != nil {
			t.Fatal(err)
		}
		if err := s.ConfirmNumber(ctx, "+1 212 555 0150"); flow.ReasonOf(err) == flow.ReasonSuspended {
			return
		}
	}
	t.Fatal("bob was never suspended")
}

// identifies reports whether bob gets past identify on eng.
func identifies(t *testing.T, eng *flow.Engine) error {
	t.Helper()
	ctx := context.Background()
	s, err := eng.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "198.51.100.7:4444"})
	if err != nil {
		t.Fatal(err)
	}
	return s.Identify(ctx, "bob", "")
}

const suspensionLimits = `captcha:
  enabled: false
limits:
  identify_floor: 100ms
  identify_jitter: 1ms
  send_floor: 50ms
  send_jitter: 1ms
`

// With store.redis, sspr suspensions acts on Redis itself: a suspension
// made by an instance is shown, lifted and audited, and the instance lets
// bob in again.
func TestSuspensionsLiftOnRedis(t *testing.T) {
	addr := startRedis(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\nstore:\n  redis:\n    addrs: [%q]\n    timeout: 2s\n%s", dir, addr, suspensionLimits))
	if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", "bob", "--mobile", "+1 212 555 0102"); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	suspendBob(t, a.engine)

	out, _, err := sspr(t, cfgPath, "", "suspensions", "show", "bob")
	if err != nil || !strings.Contains(out, "bob is suspended for 24h0m0s more") {
		t.Fatalf("show: %q, %v", out, err)
	}
	out, _, err = sspr(t, cfgPath, "", "suspensions", "lift", "BOB", "--agent", "helpdesk-jane")
	if err != nil || !strings.Contains(out, "lifted the suspension of BOB") {
		t.Fatalf("lift: %q, %v", out, err)
	}
	if err := identifies(t, a.engine); err != nil {
		t.Fatalf("bob still refused after the lift: %v", err)
	}
	out, _, err = sspr(t, cfgPath, "", "suspensions", "show", "bob")
	if err != nil || !strings.Contains(out, "bob is not suspended") {
		t.Fatalf("show after lifting: %q, %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"login":"BOB","step":"lift_suspension","result":"ok","agent":"helpdesk-jane (`) {
		t.Fatalf("no lift in the audit trail:\n%s", b)
	}
}

// With the in-process store, sspr suspensions goes through the admin
// socket of the process that holds the store.
func TestSuspensionsLiftThroughAdminSocket(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\n%s", dir, suspensionLimits))
	if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", "bob", "--mobile", "+1 212 555 0102"); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	adm, err := startAdmin(cfg.Admin.Socket, a.engine, logger(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.stop()
	if fi, err := os.Stat(cfg.Admin.Socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want mode 0600", fi.Mode(), err)
	}
	suspendBob(t, a.engine)
	out, _, err := sspr(t, cfgPath, "", "suspensions", "show", "bob")
	if err != nil || !strings.Contains(out, "bob is suspended for 24h") {
		t.Fatalf("show: %q, %v", out, err)
	}
	out, _, err = sspr(t, cfgPath, "", "suspensions", "lift", "bob")
	if err != nil || !strings.Contains(out, "lifted the suspension of bob") {
		t.Fatalf("lift: %q, %v", out, err)
	}
	if err := identifies(t, a.engine); err != nil {
		t.Fatalf("bob still refused after the lift: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	if !strings.Contains(string(b), fmt.Sprintf(`[peer uid %d]","was":"24h0m0s"`, os.Getuid())) {
		t.Fatalf("no lift with the peer's uid in the audit trail:\n%s", b)
	}
}

func TestPeerAllowed(t *testing.T) {
	if !peerAllowed(0) || !peerAllowed(uint32(os.Getuid())) {
		t.Fatal("root or the server's own user refused")
	}
	if os.Getuid() != 65534 && peerAllowed(65534) {
		t.Fatal("another user allowed")
	}
}

// The built binary: sspr serve makes its admin socket (0600) and sspr
// suspensions uses it; a connection from another uid is closed unanswered
// even when the file's mode would let it in.
func TestAdminSocketEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir, port := t.TempDir(), freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\n%s", dir, port, suspensionLimits))
	add := exec.Command(bin, "--config", cfg, "users", "add", "bob", "--mobile", "+1 212 555 0102")
	add.Stdin = strings.NewReader("Copper-Violin-3907\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	srv := serveBinary(t, bin, cfg, port)
	sock := filepath.Join(dir, "admin.sock")
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("no admin socket:\n%s", srv.Log())
		}
		time.Sleep(25 * time.Millisecond)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v", fi.Mode())
	}
	out, err := exec.Command(bin, "--config", cfg, "suspensions", "show", "bob").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bob is not suspended") {
		t.Fatalf("show: %s, %v\n%s", out, err, srv.Log())
	}
	out, err = exec.Command(bin, "--config", cfg, "suspensions", "lift", "bob", "--agent", "ops").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bob was not suspended") {
		t.Fatalf("lift: %s, %v\n%s", out, err, srv.Log())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	if !strings.Contains(string(b), `"step":"lift_suspension","result":"ok","agent":"ops (`) {
		t.Fatalf("no lift in the audit trail:\n%s", b)
	}

	if os.Getuid() != 0 {
		t.Log("not root: the refusal of another uid is checked by TestPeerAllowed only")
		return
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed: %v", err)
	}
	// Open the way for nobody, so only the peer check stands.
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(curl, "-sS", "--max-time", "5", "--unix-socket", sock, "http://sspr-admin/suspension?login=bob")
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err = c.CombinedOutput()
	if err == nil || strings.Contains(string(out), "left") {
		t.Fatalf("nobody was answered: %s", out)
	}
	for i := 0; !strings.Contains(srv.Log(), "admin_refused"); i++ {
		if i > 100 {
			t.Fatalf("no admin_refused in the log (curl said %s):\n%s", out, srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(srv.Log(), "uid=65534") && !strings.Contains(srv.Log(), `"uid":65534`) {
		t.Fatalf("the refusal does not name the uid:\n%s", srv.Log())
	}
}

// A client of the admin socket that names a long agent cannot push the
// peer's uid, the kernel's word, out of the audit trail.
func TestAdminSocketKeepsPeerUIDOfLongAgent(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("data_dir: %s\n%s", dir, suspensionLimits))
	if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", "bob", "--mobile", "+1 212 555 0102"); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	adm, err := startAdmin(cfg.Admin.Socket, a.engine, logger(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.stop()
	c := newAdminClient(cfg.Admin.Socket)
	long := strings.Repeat("x", 200)
	ctx := context.Background()
	if _, err := c.LiftSuspension(ctx, "bob", long); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HelpdeskCodes(ctx, long); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	peer := fmt.Sprintf(`[peer uid %d]"`, os.Getuid())
	for _, step := range []string{"lift_suspension", "helpdesk_list"} {
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"step":"`+step+`"`) {
				found = true
				if !strings.Contains(line, peer) {
					t.Errorf("%s without the peer's uid:\n%s", step, line)
				}
			}
		}
		if !found {
			t.Errorf("no %s in the audit trail:\n%s", step, b)
		}
	}
}
