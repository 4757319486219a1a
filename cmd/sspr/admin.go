package main

// The admin socket: a Unix socket of `sspr serve`, mode 0600, over which
// administrators' commands act on the state that lives in the process
// (suspensions in the in-process store). Only root and the server's own
// user may use it, checked with the peer's credentials (SO_PEERCRED) on
// every connection, whatever the file's mode. It speaks HTTP.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sspr-project/sspr/flow"
)

// suspensionKeeper is what the admin socket needs of the engine.
type suspensionKeeper interface {
	Suspended(ctx context.Context, login string) (time.Duration, error)
	LiftSuspension(ctx context.Context, login, agent string) (bool, error)
}

// adminEngine is what the admin socket serves.
type adminEngine interface {
	suspensionKeeper
	helpdeskKeeper
}

// openAdmin returns where suspensions and helpdesk codes live: Redis,
// through an engine wired from cfg, or the admin socket of the running
// server (the in-process store).
func openAdmin(cfg *Config) (adminEngine, func(), error) {
	if len(cfg.Store.Redis.Addrs) == 0 {
		return newAdminClient(cfg.Admin.Socket), func() {}, nil
	}
	a, err := wire(cfg)
	if err != nil {
		return nil, nil, err
	}
	if a.storeAtStart != nil {
		a.Close()
		return nil, nil, a.storeAtStart
	}
	return a.engine, func() { a.Close() }, nil
}

// withAdmin opens the admin engine (openAdmin) and runs fn on it within
// 30 seconds; an error is prefixed with what, the command's name.
func withAdmin(cfg *Config, what string, fn func(context.Context, adminEngine) error) error {
	k, done, err := openAdmin(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fn(ctx, k); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// adminServer serves the admin socket.
type adminServer struct {
	path string
	srv  *http.Server
	done chan struct{}
}

// peerUIDKey holds the peer's uid in a request's context.
type peerUIDKey struct{}

// peerAllowed says whether a peer with uid may use the socket: root, or
// the user the server runs as.
func peerAllowed(uid uint32) bool { return uid == 0 || int(uid) == os.Getuid() }

// peerAgent is who acts through the socket, for the audit trail: the name
// the client gives, cut so that the uid, which is the kernel's word, always
// fits within the engine's bound on an agent (128 characters).
func peerAgent(r *http.Request) string {
	uid, _ := r.Context().Value(peerUIDKey{}).(uint32)
	return fmt.Sprintf("%s [peer uid %d]", flow.Sanitize(r.PostFormValue("agent"), 100), uid)
}

// peerUID is the uid of the process at the other end of c.
func peerUID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return cred.Uid, nil
}

// peerListener accepts only the connections of allowed peers; the others
// are closed at once and logged.
type peerListener struct {
	net.Listener
	log *slog.Logger
}

func (l peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && peerAllowed(uid) {
			return c, nil
		}
		attrs := []any{"socket", l.Addr().String()}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		} else {
			attrs = append(attrs, "uid", uid)
		}
		l.log.Warn("admin_refused", attrs...)
		c.Close()
	}
}

// listenAdmin makes the socket at path, mode 0600. A socket left there by
// a server that is gone is replaced; one that answers, or a file that is
// not a socket, is refused.
func listenAdmin(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("admin.socket: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin.socket: %s answers: is another sspr serve running?", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin.socket: %w", err)
		}
	}
	// Made 0600 from the start, not chmod-ed after: the umask applies.
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}

// startAdmin serves the admin socket at path for eng.
func startAdmin(path string, eng adminEngine, log *slog.Logger) (*adminServer, error) {
	l, err := listenAdmin(path)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /suspension", func(w http.ResponseWriter, r *http.Request) {
		left, err := eng.Suspended(r.Context(), r.URL.Query().Get("login"))
		if err != nil {
			adminReply(w, http.StatusServiceUnavailable, adminAnswer{Error: err.Error()})
			return
		}
		adminReply(w, http.StatusOK, adminAnswer{Left: left.Round(time.Second).String(), LeftSeconds: int64(left.Round(time.Second) / time.Second)})
	})
	mux.HandleFunc("POST /suspension/lift", func(w http.ResponseWriter, r *http.Request) {
		lifted, err := eng.LiftSuspension(r.Context(), r.PostFormValue("login"), peerAgent(r))
		if err != nil {
			adminReply(w, http.StatusServiceUnavailable, adminAnswer{Error: err.Error()})
			return
		}
		adminReply(w, http.StatusOK, adminAnswer{Lifted: lifted})
	})
	helpdeskRoutes(mux, eng)
	s := &adminServer{path: path, done: make(chan struct{}), srv: &http.Server{
		Handler:           http.MaxBytesHandler(mux, 8<<10),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, _ := peerUID(c)
			return context.WithValue(ctx, peerUIDKey{}, uid)
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(peerListener{l, log}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin_failed", "error", err.Error())
		}
	}()
	log.Info("admin_socket", "path", path)
	return s, nil
}

// stop closes the socket and removes its file.
func (s *adminServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// adminAnswer is every reply of the admin socket.
type adminAnswer struct {
	Lifted      bool   `json:"lifted,omitempty"`
	Left        string `json:"left,omitempty"`
	LeftSeconds int64  `json:"left_seconds,omitempty"`
	Error       string `json:"error,omitempty"`
	adminHelpdesk
}

func adminReply(w http.ResponseWriter, status int, a adminAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// adminClient talks to the admin socket of a running sspr serve; it is a
// suspensionKeeper, so the commands do not care where the state lives.
type adminClient struct {
	path string
	http *http.Client
}

func newAdminClient(path string) *adminClient {
	return &adminClient{path: path, http: &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

func (c *adminClient) do(req *http.Request) (adminAnswer, error) {
	var a adminAnswer
	resp, err := c.http.Do(req)
	if err != nil {
		return a, fmt.Errorf("admin.socket %s: %w (is sspr serve running, and are you root or its user?)", c.path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a); err != nil {
		return a, fmt.Errorf("admin.socket %s: %s: %w", c.path, resp.Status, err)
	}
	if a.Error != "" {
		return a, errors.New(a.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("admin.socket %s: %s", c.path, resp.Status)
	}
	return a, nil
}

func (c *adminClient) Suspended(ctx context.Context, login string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sspr-admin/suspension?"+url.Values{"login": {login}}.Encode(), nil)
	if err != nil {
		return 0, err
	}
	a, err := c.do(req)
	return time.Duration(a.LeftSeconds) * time.Second, err
}

func (c *adminClient) LiftSuspension(ctx context.Context, login, agent string) (bool, error) {
	form := url.Values{"login": {login}, "agent": {agent}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sspr-admin/suspension/lift", strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a, err := c.do(req)
	return a.Lifted, err
}

var _ adminEngine = (*flow.Engine)(nil)
