package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

// sspr behind a real HAProxy, with a real Redis: what people see when all
// is well, and when the store is down.

// sshScreen connects to addr over SSH, waits until the screen shows one of
// wants, and returns the screen (ANSI stripped) and which it showed.
func sshScreen(addr string, limit time.Duration, wants ...string) (string, string, error) {
	deadline := time.Now().Add(limit)
	conn, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	cc, chans, reqs, err := gossh.NewClientConn(conn, addr, &gossh.ClientConfig{
		User: "reset", HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		return "", "", fmt.Errorf("handshake: %w", err)
	}
	c := gossh.NewClient(cc, chans, reqs)
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return "", "", err
	}
	out := &testserver.SyncBuffer{}
	sess.Stdout = out
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		return "", "", err
	}
	if err := sess.Shell(); err != nil {
		return "", "", err
	}
	for time.Now().Before(deadline) {
		s := ansi.Strip(out.String())
		for _, w := range wants {
			if strings.Contains(s, w) {
				return s, w, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ansi.Strip(out.String()), "", fmt.Errorf("none of %q on the screen", wants)
}

// waitLog waits until srv's log holds want.
func waitLog(t *testing.T, srv *servedBinary, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(srv.Log(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, srv.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An instance started while Redis is down says so once, in its log,
// serves the "temporarily unavailable" screen (not a closed connection),
// fails /readyz but not /healthz, and serves the wizard once Redis is
// back, logging that once too.
func TestServeWhileStoreDownThenBack(t *testing.T) {
	bin := buildBinary(t)
	port, httpPort, redisPort := freePort(t), freePort(t), freePort(t)
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
http:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
store:
  redis:
    addrs: ["127.0.0.1:%d"]
    timeout: 300ms
`, t.TempDir(), port, httpPort, redisPort))
	addBob(t, bin, cfg)
	srv := serveBinary(t, bin, cfg, port)
	side := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	waitHTTP(t, side+"/healthz")

	if log := srv.Log(); !strings.Contains(log, "store_unavailable_at_start") || !strings.Contains(log, "without comparing the secret key") {
		t.Errorf("no WARN that the store was away at start:\n%s", log)
	}
	screen, _, err := sshScreen(fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second, "temporarily unavailable")
	if err != nil {
		t.Fatalf("with the store down: %v\n%s", err, screen)
	}
	if code, body := get(t, side+"/readyz"); code != 503 || !strings.Contains(body, "store: unavailable") {
		t.Errorf("readyz with the store down: %d %q", code, body)
	}
	if code, _ := get(t, side+"/healthz"); code != 200 {
		t.Errorf("healthz with the store down: %d", code)
	}
	// Probes do not add a line each.
	for range 5 {
		get(t, side+"/readyz")
	}
	if n := strings.Count(srv.Log(), "store_down") + strings.Count(srv.Log(), "store_unavailable_at_start"); n != 1 {
		t.Errorf("the outage was logged %d times:\n%s", n, srv.Log())
	}

	// Redis comes back: a new connection (or Enter on the message)
	// starts a reset again, within about a second (the Redis client
	// redials once a second after failed dials).
	startRedisOn(t, redisPort)
	back := time.Now()
	for {
		screen, got, err := sshScreen(fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second, "Email or Username", "temporarily unavailable")
		if err != nil {
			t.Fatalf("with the store back: %v\n%s\n%s", err, screen, srv.Log())
		}
		if got == "Email or Username" {
			break
		}
		if time.Since(back) > 15*time.Second {
			t.Fatalf("still unavailable 15s after Redis came back:\n%s", srv.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("from Redis back to the identify screen: %v", time.Since(back).Round(time.Millisecond))
	if code, body := get(t, side+"/readyz"); code != 200 {
		t.Errorf("readyz with the store back: %d %q", code, body)
	}
	waitLog(t, srv, "store_up", 15*time.Second)
	for _, line := range strings.Split(srv.Log(), "\n") {
		if strings.Contains(line, `"component":"redis"`) && strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("a failed dial logged at WARN: %s", line)
		}
	}
	if n := strings.Count(srv.Log(), "store_up"); n != 1 {
		t.Errorf("the return was logged %d times:\n%s", n, srv.Log())
	}
}

// waitHTTP waits until url answers at all.
func waitHTTP(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", u.Host)
		if err == nil {
			c.Close()
			return
		}
		if i > 400 {
			t.Fatalf("%s never answered: %v", raw, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// haproxyConfig is examples/haproxy.cfg's shape on loopback ports: a
// backend checked on /readyz, the same servers checked on /healthz for
// when none is ready.
func haproxyConfig(front int, sshPorts, httpPorts []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log stdout format raw local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 2m
    timeout server 2m
    timeout check 1s
frontend ssh
    bind 127.0.0.1:%d
    default_backend sspr
    use_backend sspr_alive if { nbsrv(sspr) eq 0 }
`, front)
	for _, be := range []struct{ name, path string }{{"sspr", "/readyz"}, {"sspr_alive", "/healthz"}} {
		fmt.Fprintf(&b, `backend %s
    balance leastconn
    option httpchk
    http-check send meth GET uri %s
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2 send-proxy-v2
`, be.name, be.path)
		for i := range sshPorts {
			fmt.Fprintf(&b, "    server sspr%d 127.0.0.1:%d check port %d\n", i+1, sshPorts[i], httpPorts[i])
		}
	}
	return b.String()
}

// The example's shape, for real: HAProxy in front of two instances on one
// Redis. A reset through it over OpenSSH, the PROXY header accepted (the
// audit trail has the client's address, not the balancer's); then Redis
// stops, every /readyz fails, and a new connection through HAProxy still
// reaches sspr's own "temporarily unavailable" screen.
func TestEndToEndBehindHAProxy(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			t.Fatalf("haproxy is needed (scripts/test.sh installs it): %v", err)
		}
		haproxy = "/usr/sbin/haproxy"
	}
	bin := buildBinary(t)
	redis := startRedisOn(t, freePort(t))
	shared := t.TempDir()
	// One host key and one secret key for both, one directory file.
	var cfgs []string
	var sshPorts, httpPorts []int
	var dataDirs []string
	for i := range 2 {
		dataDir := t.TempDir()
		sshPort, httpPort := freePort(t), freePort(t)
		cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
secret_key_file: %s/secret.key
signin_url: https://login.example.com
directory:
  embedded:
    path: %s/users.yaml
ssh:
  listen: 127.0.0.1:%d
  host_key: %s/ssh_host_ed25519_key
  proxy_protocol:
    trusted: [127.0.0.1]
http:
  listen: 127.0.0.1:%d
captcha:
  enabled: false
store:
  redis:
    addrs: [%q]
    timeout: 300ms
`, dataDir, shared, shared, sshPort, shared, httpPort, redis.addr))
		if i == 0 {
			addBob(t, bin, cfg)
		}
		cfgs, dataDirs = append(cfgs, cfg), append(dataDirs, dataDir)
		sshPorts, httpPorts = append(sshPorts, sshPort), append(httpPorts, httpPort)
	}
	var srvs []*servedBinary
	for i, cfg := range cfgs {
		srvs = append(srvs, serveBinary(t, bin, cfg, sshPorts[i]))
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPorts[i]))
	}

	front := freePort(t)
	hcfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(hcfg, []byte(haproxyConfig(front, sshPorts, httpPorts)), 0o600); err != nil {
		t.Fatal(err)
	}
	hlog := &testserver.SyncBuffer{}
	hp := exec.Command(haproxy, "-db", "-f", hcfg)
	hp.Stdout, hp.Stderr = hlog, hlog
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.Process.Kill(); _ = hp.Wait() })
	frontAddr := fmt.Sprintf("127.0.0.1:%d", front)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", frontAddr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("haproxy never listened:\n%s", hlog.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	// Let the checks rise (rise 2 x inter 300ms).
	time.Sleep(time.Second)

	// A full reset through HAProxy, over OpenSSH in tmux.
	tm := newTmux(t, fmt.Sprintf("ssh -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -t reset@127.0.0.1; sleep 60", front))
	tm.waitFor("Email or Username")
	tm.text("bob")
	tm.keys("Enter")
	tm.waitFor("Please choose the contact method we should use for verification:")
	tm.keys("Enter")
	tm.waitFor("Enter your phone number") // the number screen; the method list shows the hint too
	tm.text("(212) 555-0102")
	tm.keys("Enter")
	tm.waitFor("Enter your verification code")
	// The code is in the outbox of whichever instance HAProxy chose.
	var code string
	for i := 0; code == ""; i++ {
		for _, d := range dataDirs {
			if data, err := os.ReadFile(filepath.Join(d, "outbox.log")); err == nil && strings.Contains(string(data), "+12125550102") {
				code = lastCode(t, filepath.Join(d, "outbox.log"), "+12125550102")
			}
		}
		if code == "" && i > 100 {
			t.Fatal("no code in either instance's outbox")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.text(code)
	tm.keys("Enter")
	tm.waitFor("Enter new password")
	const newPassword = "Brand-New-Passw0rd-77"
	tm.text(newPassword)
	tm.keys("Enter")
	tm.text(newPassword)
	tm.keys("Enter")
	tm.waitFor("Your password has been reset")
	tm.keys("Enter")

	// The PROXY header was read: from a trusted balancer (127.0.0.1) sspr
	// requires one, so a connection without it would have been refused
	// (refused_no_proxy_header, as the test's own probe of the port is)
	// and no reset done.
	var audit string
	for _, d := range dataDirs {
		b, _ := os.ReadFile(filepath.Join(d, "audit.log"))
		audit += string(b)
	}
	if !strings.Contains(audit, `"step":"set_password","result":"ok"`) {
		t.Fatalf("no reset in the audit trails:\n%s", audit)
	}

	// Redis stops: every /readyz fails, and HAProxy takes both servers
	// out of sspr; a new connection still gets sspr's own message.
	redis.stop()
	for i, p := range httpPorts {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", p))
			if code == 503 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still ready without Redis", i+1)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// fall 2 x inter 300ms, with room.
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	screen, _, err := sshScreen(frontAddr, 15*time.Second, "temporarily unavailable")
	if err != nil {
		t.Fatalf("through HAProxy with Redis down: %v\n%s\nhaproxy:\n%s", err, screen, hlog.String())
	}
	t.Logf("with Redis down, through HAProxy to the message: %v", time.Since(start).Round(time.Millisecond))
	// HAProxy logs a TCP session when it ends.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(hlog.String(), "ssh sspr_alive/") {
		if time.Now().After(deadline) {
			t.Errorf("haproxy's log does not show the sspr_alive backend used:\n%s", hlog.String())
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, s := range srvs {
		if n := strings.Count(s.Log(), "store_down"); n != 1 {
			t.Errorf("instance %d logged store_down %d times:\n%s", i+1, n, s.Log())
		}
	}
}
