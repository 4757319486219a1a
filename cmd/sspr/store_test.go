package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// startRedis runs a private redis-server on a loopback port for one test.
func startRedis(t *testing.T) string {
	t.Helper()
	return startRedisOn(t, freePort(t)).addr
}

// redisServer is a private redis-server; stop ends it before the test does.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	once sync.Once
}

func (r *redisServer) stop() {
	r.once.Do(func() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() })
}

// startRedisOn runs a private redis-server on the loopback port given.
func startRedisOn(t *testing.T, port int) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed (scripts/test.sh installs it): %v", err)
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(r.stop)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", r.addr)
		if err == nil {
			c.Close()
			return r
		}
		if i > 200 {
			t.Fatalf("redis-server never listened on %s: %v", r.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A suspension made through one instance holds on another instance and
// after the first is gone: both are wired from one config, with Redis.
func TestRedisStoreSharedByInstances(t *testing.T) {
	addr := startRedis(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf(`data_dir: %s
captcha:
  enabled: false
store:
  redis:
    addrs: [%q]
    timeout: 2s
limits:
  identify_floor: 100ms
  identify_jitter: 1ms
  send_floor: 50ms
  send_jitter: 1ms
`, dir, addr))
	if _, _, err := sspr(t, cfgPath, "Copper-Violin-3907\n", "users", "add", "bob", "--mobile", "+1 212 555 0102"); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := first.engine.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.10:5555"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	// Wrong numbers are failed verifications: enough of them suspend bob.
	var last error
	for i := 0; i < 5; i++ {
		last = s.ConfirmNumber(ctx, fmt.Sprintf("+1 212 555 01%02d", 50+i))
		if flow.ReasonOf(last) == flow.ReasonSuspended {
			break
		}
		if flow.ReasonOf(last) == flow.ReasonTooManyAttempts {
			// The phone methods closed for this session; go on in a new one.
			s, _ = first.engine.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.10:5555"})
			if err := s.Identify(ctx, "bob", ""); err != nil {
				last = err
				break
			}
			_ = s.Choose(ctx, flow.TextMobile)
		}
	}
	first.Close()

	second, err := wire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	s2, err := second.engine.Begin(ctx, flow.Origin{Channel: flow.SSH, Remote: "198.51.100.7:4444"})
	if err != nil {
		t.Fatal(err)
	}
	err = s2.Identify(ctx, "bob", "")
	if flow.ReasonOf(err) != flow.ReasonSuspended {
		t.Fatalf("a new instance let bob in after 5 failures elsewhere (last refusal there: %v): %v", last, err)
	}
	if !strings.Contains(err.Error(), "paused") {
		t.Fatalf("the refusal does not say what happened: %q", err)
	}
}

func TestRedisConfigRefusals(t *testing.T) {
	cases := []struct{ body, want string }{
		{"store:\n  redis:\n    addrs: [nowhere]\n", `store.redis.addrs[0]: "nowhere"`},
		{"store:\n  redis:\n    password: x\n", "store.redis.addrs"},
		{"store:\n  redis:\n    addrs: [\"127.0.0.1:6379\"]\n    password: x\n    password_env: Y\n", "store.redis.password"},
		{"store:\n  redis:\n    addrs: [\"127.0.0.1:6379\"]\n    ca_file: /x.pem\n", "store.redis.ca_file"},
		{"store:\n  redis:\n    addrs: [\"127.0.0.1:6379\"]\n    db: 99\n", "store.redis.db: 99"},
	}
	for _, c := range cases {
		_, err := loadConfig(writeConfig(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
		}
	}
}
