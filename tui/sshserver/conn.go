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
	graceFor  time.Duration // the grace the timer runs to, from start
	shell     bool          // the shell request has been passed on
	ended     bool          // the program has ended; no more window changes
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

// shortenGrace makes the login grace of each connection in pending end
// at most grace after its start (at once if that is past), unless it has
// started meanwhile.
func shortenGrace(pending []*connState, grace time.Duration) {
	for _, cs := range pending {
		cs.shorten(grace)
	}
}

func (cs *connState) shorten(grace time.Duration) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.started.Load() || grace >= cs.graceFor {
		return
	}
	if cs.grace == nil { // admit starts the timer with it
		cs.graceFor = grace
		return
	}
	if cs.grace.Stop() { // still pending: it has not fired
		cs.graceFor = grace
		cs.grace.Reset(max(0, time.Until(cs.start.Add(grace))))
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
	// The grace is picked and the state published in one step, so a
	// server that becomes nearly full from here on shortens it (shorten).
	s.mu.Lock()
	cs.graceFor = s.loginGrace()
	tc.onClose = cs.stopGrace
	tc.cs = cs
	s.mu.Unlock()
	cs.mu.Lock()
	cs.grace = time.AfterFunc(max(0, time.Until(cs.start.Add(cs.graceFor))), func() {
		if !cs.started.Load() {
			cs.mu.Lock()
			after := cs.graceFor
			cs.mu.Unlock()
			cs.log.Info("login_grace_expired", "after", after.String())
			_ = tc.Close()
		}
	})
	cs.mu.Unlock()
	// A connection closed before its timer was set did not stop it.
	s.mu.Lock()
	closed := tc.closed
	s.mu.Unlock()
	if closed {
		cs.stopGrace()
		return nil
	}
	ctx.SetValue(connStateKey{}, cs)
	return tc
}
