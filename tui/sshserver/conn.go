package sshserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
)

// connState is what the server keeps about one connection. It lives in the
// connection's ssh.Context; sessions never share one.
type connState struct {
	id     string
	remote string
	host   string
	start  time.Time
	log    *slog.Logger
	conn   net.Conn

	started  atomic.Bool  // the session handler has been reached
	channels atomic.Int32 // session channels asked for

	mu        sync.Mutex
	grace     *time.Timer
	shell     bool // the shell request has been passed on
	ended     bool // the program has ended; no more window changes
	window    [2]uint32
	hasWindow bool // a window change came before the shell
	envOK     int
	envDenied int
	exitCode  int
	endWhy    string
	denied    map[string]bool // denial kinds already logged
}

type connStateKey struct{}

func stateOf(ctx ssh.Context) *connState {
	cs, _ := ctx.Value(connStateKey{}).(*connState)
	return cs
}

// maxDenialLogs bounds the denials logged per connection.
const maxDenialLogs = 16

// deny logs a refused request once per connection, and at most
// maxDenialLogs different ones, so a client that repeats itself cannot
// flood the log.
func (cs *connState) deny(kind string, attrs ...any) {
	key := kind + fmt.Sprint(attrs...)
	cs.mu.Lock()
	if cs.denied == nil {
		cs.denied = map[string]bool{}
	}
	first := !cs.denied[key] && len(cs.denied) < maxDenialLogs
	if first {
		cs.denied[key] = true
	}
	cs.mu.Unlock()
	if first {
		cs.log.Warn(kind, attrs...)
	}
}

// markStarted stops the login grace timer: the connection has reached the
// session handler.
func (cs *connState) markStarted() {
	cs.started.Store(true)
	cs.stopGrace()
}

func (cs *connState) stopGrace() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.grace != nil {
		cs.grace.Stop()
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// admit is the connection callback: it enforces the session caps before
// any cryptography runs, starts the login grace timer and records the
// connection's state. A nil return closes the connection.
func (s *Server) admit(ctx ssh.Context, c net.Conn) net.Conn {
	remote := c.RemoteAddr().String()
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return nil
	case s.open >= s.cfg.MaxSessions:
		s.mu.Unlock()
		s.refusals.log(s.log, "refused_busy", remote)
		return nil
	case s.cfg.MaxSessionsPerIP > 0 && s.perHost[host] >= s.cfg.MaxSessionsPerIP:
		s.mu.Unlock()
		s.refusals.log(s.log, "refused_per_address", remote)
		return nil
	}
	tc := &trackedConn{Conn: c}
	s.open++
	s.perHost[host]++
	s.conns[tc] = struct{}{}
	s.mu.Unlock()

	cs := &connState{id: newID(), remote: remote, host: host, start: time.Now()}
	cs.log = s.log.With("conn", cs.id, "remote", remote)
	tc.release = func() {
		cs.stopGrace()
		s.mu.Lock()
		delete(s.conns, tc)
		s.open--
		if s.perHost[host]--; s.perHost[host] <= 0 {
			delete(s.perHost, host)
		}
		s.mu.Unlock()
	}
	cs.conn = tc
	cs.mu.Lock()
	cs.grace = time.AfterFunc(s.cfg.LoginGraceTime, func() {
		if !cs.started.Load() {
			cs.log.Info("login_grace_expired", "after", s.cfg.LoginGraceTime.String())
			_ = tc.Close()
		}
	})
	cs.mu.Unlock()
	ctx.SetValue(connStateKey{}, cs)
	return tc
}

// trackedConn gives the connection's slot back when it closes.
type trackedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// refusalLog logs refused connections at most once a second, with the
// number left out, so a flood beyond the caps cannot flood the log too.
type refusalLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (r *refusalLog) log(l *slog.Logger, kind, remote string) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.skipped++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	r.mu.Unlock()
	l.Warn(kind, "remote", remote, "not_logged_since_last", skipped)
}
