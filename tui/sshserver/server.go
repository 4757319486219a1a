package sshserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
// or Close.
var ErrServerClosed = ssh.ErrServerClosed

// Server serves one program per SSH session. Build it with New.
type Server struct {
	cfg    Config
	log    *slog.Logger
	srv    *ssh.Server
	signer gossh.Signer

	mu        sync.Mutex
	closing   bool
	open      int          // connections, handshakes included
	sources   *sourceTable // connections per source
	prefixes  *sourceTable // connections per wider network
	busy      bool         // open >= busyAt: short login grace
	conns     map[*trackedConn]struct{}
	listeners map[net.Listener]struct{}
	running   map[*programRun]struct{}
	sessions  sync.WaitGroup // session handlers, exit status included
	refusals  refusalLog
}

// New checks cfg, loads or creates the host key and builds the server; it
// does not listen yet.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	signer, err := loadHostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, signer: signer,
		sources:  newSourceTable(cfg.MaxPerSource, cfg.NewPerSource, cfg.NewPerSourceWindow),
		prefixes: newSourceTable(cfg.MaxPerPrefix, 0, cfg.NewPerSourceWindow),
		running:  map[*programRun]struct{}{},
		conns:    map[*trackedConn]struct{}{}, listeners: map[net.Listener]struct{}{},
	}
	s.srv, err = wish.NewServer(
		wish.WithAddress(cfg.Listen),
		wish.WithVersion(cfg.Version),
		// With a host key set, wish generates none into the working
		// directory.
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		ssh.EmulatePty(),
		ssh.WrapConn(s.admit),
		// The last middleware runs first.
		wish.WithMiddleware(s.runProgram, s.requireTerminal, s.recoverPanics, s.scope),
		func(srv *ssh.Server) error {
			srv.ServerConfigCallback = s.serverConfig
			srv.HandshakeTimeout = cfg.LoginGrace
			// A backstop only: the program is asked to quit at MaxSessionTime,
			// which restores the client's terminal; this cuts the
			// connection.
			srv.MaxTimeout = cfg.MaxSessionTime + time.Minute
			// Own maps, so the ssh package's global defaults never apply.
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{
				"session": s.sessionChannel,
				"default": refuseChannel,
			}
			srv.RequestHandlers = map[string]ssh.RequestHandler{"default": refuseGlobal}
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
			srv.SessionRequestCallback = func(_ ssh.Session, kind string) bool { return kind == "shell" }
			srv.PtyCallback = func(_ ssh.Context, p ssh.Pty) bool { return validTerm(p.Term) }
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key, as
// ssh-keygen -l shows it, for people to check on first connect.
func (s *Server) HostKeyFingerprint() string {
	return gossh.FingerprintSHA256(s.signer.PublicKey())
}

// ListenAndServe listens on Config.Listen and serves until Shutdown or
// Close; then it returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	if s.cfg.Listen == "" {
		return errors.New("sshserver: no listen address")
	}
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves on l until Shutdown or Close; then it returns
// ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	s.log.Info("ssh_listening", "addr", l.Addr().String(), "host_key", s.HostKeyFingerprint())
	err := s.srv.Serve(&limitListener{Listener: l, s: s})
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
	if s.closing {
		return ErrServerClosed
	}
	return err
}

// BeginShutdown stops accepting connections and shows notice over every
// session's screen, where it stays; key presses other than Ctrl+C are
// ignored from then on, so nothing new starts. The sessions go on until
// Shutdown: meanwhile, work already under way (a password being written)
// can finish. Only the first call's notice is shown.
func (s *Server) BeginShutdown(notice string) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	runs := make([]*programRun, 0, len(s.running))
	for r := range s.running {
		runs = append(runs, r)
	}
	for l := range s.listeners {
		_ = l.Close()
	}
	s.mu.Unlock()
	s.log.Info("ssh_shutdown_begun", "sessions", len(runs))
	for _, r := range runs {
		go r.p.Send(noticeMsg{text: notice})
	}
}

// Shutdown stops accepting connections (see BeginShutdown), asks every
// running program to quit (each restores its client's terminal and says
// the server is restarting) and waits for the sessions to end, or for
// ctx. Connections left then are closed; the error is ctx's if it ended
// first.
//
// It does not use the ssh package's own Shutdown, whose wait races with
// handshakes that finish meanwhile.
func (s *Server) Shutdown(ctx context.Context) error {
	s.BeginShutdown(RestartNotice)
	s.mu.Lock()
	runs := make([]*programRun, 0, len(s.running))
	for r := range s.running {
		runs = append(runs, r)
	}
	s.mu.Unlock()

	for _, r := range runs {
		go r.stop(stopShutdown)
	}
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Handshakes in flight, clients that linger after their session and
	// sessions that did not end in time.
	_ = s.Close()
	return err
}

// Close closes the listeners and every connection at once, without
// restoring any client's terminal. Prefer Shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	err := s.srv.Close()
	s.closeConns()
	return err
}

func (s *Server) closeConns() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// enter admits a session handler unless the server is closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions.Add(1)
	return true
}

// register records a program about to run, unless the server is closing.
func (s *Server) register(r *programRun) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.running[r] = struct{}{}
	return true
}

func (s *Server) unregister(r *programRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, r)
}
