package redisstore

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

// redisServer is a redis-server the test started on a loopback port, with
// nothing written to disk. It is killed when the test ends.
type redisServer struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	// args come after the port and persistence options: TLS, cluster or
	// sentinel settings.
	args []string
	// tls makes the readiness check speak TLS; password is what it
	// authenticates with.
	tls      bool
	password string
	// conf, when set, is written to a file that redis-server is started
	// with (Sentinel needs one it can rewrite).
	conf string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{}
	out    *testserver.SyncBuffer
}

// startRedis starts a redis-server on a free loopback port and waits until it
// answers. A missing redis-server fails the test: these tests exist to run
// against the real server.
func startRedis(t *testing.T, opts ...func(*redisServer)) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v): these tests need a real Redis; install the redis-server package (scripts/test.sh does)", err)
	}
	r := &redisServer{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(r)
	}
	t.Cleanup(r.Kill)
	// A free port can be taken between finding it and binding it; try again.
	for attempt := 0; ; attempt++ {
		r.port = testserver.FreePort(t)
		err := r.start()
		if err == nil {
			return r
		}
		if attempt == 4 {
			t.Fatalf("redis-server: %v\n%s", err, r.out)
		}
	}
}

// Addr is the server's host:port.
func (r *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Restart starts the server again on the same port, empty (nothing is
// persisted), as an operator would after it died.
func (r *redisServer) Restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart redis-server: %v\n%s", err, r.out)
	}
}

func (r *redisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var args []string
	if r.conf != "" {
		conf := filepath.Join(r.dir, "redis.conf")
		if err := os.WriteFile(conf, []byte(r.conf), 0o600); err != nil {
			return err
		}
		args = append(args, conf)
	}
	portFlag := "--port"
	if r.tls {
		args = append(args, "--port", "0")
		portFlag = "--tls-port"
	}
	args = append(args, portFlag, strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", "", "--daemonize", "no")
	args = append(args, r.args...)
	r.out = &testserver.SyncBuffer{}
	cmd := exec.Command(r.bin, args...)
	cmd.Stdout, cmd.Stderr = r.out, r.out
	// The server on the port must be ours: another one (of another
	// process) answering means ours could not bind and is exiting.
	exited, err := testserver.Start(cmd, 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		pid, err := r.pid()
		switch {
		case err != nil:
			return false, nil
		case pid != cmd.Process.Pid:
			return false, fmt.Errorf("port %d is taken by process %d", r.port, pid)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	r.cmd, r.exited = cmd, exited
	return nil
}

// pid asks the server on the port for its process id (INFO server), in
// plain RESP, so the check does not depend on the client under test.
func (r *redisServer) pid() (int, error) {
	conn, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if r.tls {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return 0, err
		}
		conn = tc
	}
	rd := bufio.NewReader(conn)
	if r.password != "" {
		if _, err := fmt.Fprintf(conn, "AUTH %s\r\n", r.password); err != nil {
			return 0, err
		}
		if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return 0, fmt.Errorf("AUTH: %q %v", line, err)
		}
	}
	if _, err := conn.Write([]byte("INFO server\r\n")); err != nil {
		return 0, err
	}
	header, err := rd.ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(header, "$")))
	if err != nil || !strings.HasPrefix(header, "$") {
		return 0, fmt.Errorf("INFO: %q", header)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("INFO: no process_id")
}

// Kill kills the server at once, as a crash would.
func (r *redisServer) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// Freeze stops the server without closing its connections, as a hung host
// would: calls reach it and get no answer.
func (r *redisServer) Freeze() { r.signal(syscall.SIGSTOP) }

// Thaw lets a frozen server go on.
func (r *redisServer) Thaw() { r.signal(syscall.SIGCONT) }

func (r *redisServer) signal(sig os.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		r.t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}
