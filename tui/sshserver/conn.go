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

// admit is the connection callback, run on the connection's goroutine
// before any cryptography: the listener has admitted the connection
// already; here a balancer's PROXY header is read and its client admitted,
// the login grace timer starts and the connection's state is recorded. A
// nil return closes the connection.
func (s *Server) admit(ctx ssh.Context, c net.Conn) net.Conn {
	tc, ok := c.(*trackedConn)
	if !ok {
		// Only connections from Serve's listener are served.
		return nil
	}
	if tc.proxied && !s.admitProxied(tc) {
		return nil
	}
	remote := tc.RemoteAddr().String() // the client's, after a PROXY header
	cs := &connState{id: newID(), remote: remote, start: time.Now(), conn: tc}
	cs.log = s.log.With("conn", cs.id, "remote", remote)
	if tc.proxied {
		cs.log = cs.log.With("via", tc.Conn.(interface{ Raw() net.Conn }).Raw().RemoteAddr().String())
	}
	cs.mu.Lock()
	cs.grace = time.AfterFunc(s.cfg.LoginGrace, func() {
		if !cs.started.Load() {
			cs.log.Info("login_grace_expired", "after", s.cfg.LoginGrace.String())
			_ = tc.Close()
		}
	})
	cs.mu.Unlock()
	s.mu.Lock()
	closed := tc.closed
	tc.onClose = cs.stopGrace
	s.mu.Unlock()
	if closed {
		cs.stopGrace()
		return nil
	}
	ctx.SetValue(connStateKey{}, cs)
	return tc
}
