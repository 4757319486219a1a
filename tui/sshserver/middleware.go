package sshserver

import (
	"fmt"
	"runtime/debug"
	"time"

	"charm.land/ssh"
	"github.com/sspr-project/sspr/flow"
)

// lingerClose is how long a client may keep the connection after its
// session ended before the server closes it.
const lingerClose = 2 * time.Second

// setExit records the session's exit status and why it ended; the first
// call wins.
func (cs *connState) setExit(code int, why string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.endWhy == "" {
		cs.exitCode, cs.endWhy = code, why
	}
}

// scope is the outermost middleware: it admits the session (not during
// shutdown), logs its start and end, sends the exit status and closes the
// connection soon after, since a connection carries one session only.
func (s *Server) scope(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		cs := stateOf(sess.Context())
		if cs == nil {
			_ = sess.Exit(1)
			return
		}
		cs.markStarted()
		if !s.enter() {
			fmt.Fprint(sess.Stderr(), "\n"+s.printer(sess).T("sshserver.restarting")+"\n")
			_ = sess.Exit(1)
			return
		}
		defer s.sessions.Done()
		defer func() { time.AfterFunc(lingerClose, func() { _ = cs.conn.Close() }) }()

		pty, _, hasPty := sess.Pty()
		cs.log.Info("session_start",
			"user", flow.Sanitize(sess.User(), 64),
			"client", flow.Sanitize(sess.Context().ClientVersion(), 128),
			"pty", hasPty, "term", flow.Sanitize(pty.Term, 64),
			"width", pty.Window.Width, "height", pty.Window.Height, "key", keyFingerprint(provenKey(sess)))

		next(sess)

		cs.mu.Lock()
		code, why, envDenied := cs.exitCode, cs.endWhy, cs.envDenied
		cs.mu.Unlock()
		_ = sess.Exit(code)
		cs.log.Info("session_end", "reason", why, "exit", code,
			"duration", time.Since(cs.start).Round(time.Millisecond).String(), "env_refused", envDenied)
	}
}

// recoverPanics ends a session whose handler panicked, with a log line and
// a non-zero exit status; other sessions never notice.
func (s *Server) recoverPanics(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer func() {
			if r := recover(); r != nil {
				cs := stateOf(sess.Context())
				cs.log.Error("session_panic", "where", "handler",
					"panic", flow.Sanitize(fmt.Sprint(r), 200), "stack", string(debug.Stack()))
				cs.setExit(1, "panic")
				fmt.Fprint(sess.Stderr(), "\n"+s.printer(sess).T("sshserver.internal_error", "Ref", cs.id[:8])+"\n")
			}
		}()
		next(sess)
	}
}

// requireTerminal refuses sessions without a PTY: the wizard is
// interactive and nothing else runs here.
func (s *Server) requireTerminal(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		cs := stateOf(sess.Context())
		if sess.RawCommand() != "" || sess.Subsystem() != "" {
			// The request filter refuses these already.
			cs.deny("denied_exec", "command", flow.Sanitize(sess.RawCommand(), logValueLen))
			cs.setExit(1, "denied")
			return
		}
		if _, _, ok := sess.Pty(); !ok {
			cs.deny("denied_no_pty")
			cs.setExit(1, "no_pty")
			fmt.Fprint(sess.Stderr(), s.printer(sess).T("sshserver.need_terminal")+"\n")
			return
		}
		next(sess)
	}
}
