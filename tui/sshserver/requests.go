package sshserver

import (
	"charm.land/ssh"
	"github.com/sspr-project/sspr/flow"
	gossh "golang.org/x/crypto/ssh"
)

// Limits on what a client may ask of a session.
const (
	// maxEnv is how many env requests a session may have accepted; only
	// LANG, LC_*, COLORTERM and NO_COLOR are accepted at all, and only
	// when name=value fits in maxEnvLen bytes.
	maxEnv    = 8
	maxEnvLen = 64
	// logValueLen bounds a client-chosen value (a command, a TERM) in the
	// log.
	logValueLen = 96
)

// sessionChannel accepts the one session channel of a connection and puts
// a filter between its requests and the ssh package's session handler.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	cs := stateOf(ctx)
	if cs == nil {
		_ = nc.Reject(gossh.ConnectionFailed, "no connection state")
		return
	}
	if cs.channels.Add(1) > 1 {
		cs.deny("denied_channel", "type", "session", "why", "one session per connection")
		_ = nc.Reject(gossh.Prohibited, "one session per connection")
		return
	}
	ssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: nc, s: s, cs: cs}, ctx)
}

// filteredChannel is a gossh.NewChannel whose requests pass filterRequests.
type filteredChannel struct {
	gossh.NewChannel
	s  *Server
	cs *connState
}

func (c *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, in, err := c.NewChannel.Accept()
	if err != nil {
		return ch, in, err
	}
	out := make(chan *gossh.Request)
	go c.s.filterRequests(c.cs, in, out)
	return ch, out, nil
}

// filterRequests refuses what sspr never does (commands, subsystems, agent
// and X11 forwarding, most env), and rewrites pty-req and window-change so
// that TERM is a plain name and the window is clamped before anything
// reads them. Everything else passes unchanged.
func (s *Server) filterRequests(cs *connState, in <-chan *gossh.Request, out chan<- *gossh.Request) {
	defer close(out)
	defer func() {
		if r := recover(); r != nil {
			cs.log.Error("session_panic", "where", "requests", "panic", r)
			_ = cs.conn.Close()
			// Drain until the closed connection ends the stream.
			for range in {
			}
		}
	}()
	for req := range in {
		if s.filterRequest(cs, req) {
			out <- req
		} else if req.WantReply {
			_ = req.Reply(false, nil)
		}
	}
}

// filterRequest reports whether req goes on, possibly rewritten.
func (s *Server) filterRequest(cs *connState, req *gossh.Request) bool {
	switch req.Type {
	case "shell":
		cs.mu.Lock()
		cs.shell = true
		cs.mu.Unlock()
		return true

	case "exec":
		cmd, _, _ := parseString(req.Payload)
		cs.deny("denied_exec", "command", flow.Sanitize(cmd, logValueLen))
		return false

	case "subsystem":
		name, _, _ := parseString(req.Payload)
		cs.deny("denied_subsystem", "subsystem", flow.Sanitize(name, logValueLen))
		return false

	case "auth-agent-req@openssh.com":
		cs.deny("denied_agent")
		return false

	case "x11-req":
		cs.deny("denied_x11")
		return false

	case "pty-req":
		pr, ok := parsePtyRequest(req.Payload)
		if !ok {
			return false
		}
		if !validTerm(pr.Term) {
			cs.log.Warn("bad_term", "term", flow.Sanitize(pr.Term, logValueLen), "replaced_by", fallbackTerm)
			pr.Term = fallbackTerm
		}
		// The client's window, bounded; the program draws in a region
		// of it (regionFor).
		pr.Cols, pr.Rows, pr.PxW, pr.PxH = min(pr.Cols, maxClientWindow), min(pr.Rows, maxClientWindow), 0, 0
		req.Payload = pr.marshal()
		return true

	case "window-change":
		cols, rows, ok := parseWindowChange(req.Payload)
		if !ok {
			return false
		}
		cs.mu.Lock()
		defer cs.mu.Unlock()
		switch {
		case cs.ended:
			// Nobody reads window changes any more; passing one on
			// would block this connection's requests.
			return false
		case !cs.shell:
			// The ssh package holds one window change until the
			// program reads it; a second before the shell would block
			// the shell request. Keep the latest for the start.
			cs.window, cs.hasWindow = [2]uint32{cols, rows}, true
			return false
		}
		req.Payload = marshalWindowChange(int(min(cols, maxClientWindow)), int(min(rows, maxClientWindow)))
		return true

	case "env":
		name, value, ok := parseEnv(req.Payload)
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if !ok || cs.envOK >= maxEnv || len(name)+1+len(value) > maxEnvLen {
			cs.envDenied++
			return false
		}
		switch {
		case (name == "LANG" || isLCName(name)) && validLocale(value):
			// Locale names, for the language of the screens; the
			// program's environment never gets them.
		case name == "COLORTERM" && validTerm(value):
			// Selects the colour profile only.
		case name == "NO_COLOR" && value != "":
			// Turns colour off only; its value means nothing.
			req.Payload = marshalEnv(name, "1")
		default:
			cs.envDenied++
			return false
		}
		cs.envOK++
		return true
	}
	// signal, break and anything unknown: the ssh package answers them.
	return true
}

// refuseChannel rejects every channel type but "session"; forwarding
// channels are logged as such.
func refuseChannel(_ *ssh.Server, _ *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	kind := "denied_channel"
	reason := gossh.UnknownChannelType
	switch nc.ChannelType() {
	case "direct-tcpip", "direct-streamlocal@openssh.com", "tun@openssh.com":
		kind, reason = "denied_forward", gossh.Prohibited
	}
	if cs := stateOf(ctx); cs != nil {
		cs.deny(kind, "type", flow.Sanitize(nc.ChannelType(), logValueLen))
	}
	_ = nc.Reject(reason, "not allowed")
}

// refuseGlobal answers every global request with a refusal; forwarding
// requests are logged as such, the rest (keepalives) are not.
func refuseGlobal(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	switch req.Type {
	case "tcpip-forward", "streamlocal-forward@openssh.com":
		if cs := stateOf(ctx); cs != nil {
			cs.deny("denied_forward", "type", req.Type)
		}
	}
	return false, nil
}
