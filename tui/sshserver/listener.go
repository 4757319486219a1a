package sshserver

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds the wait for a load balancer's PROXY header,
// which it sends as soon as it connects.
const proxyHeaderTimeout = 5 * time.Second

// limitListener admits connections before anything else sees them: the
// global cap and the per-source limits are checked as each is accepted,
// and a refused connection is closed at once, before a goroutine, a
// version line or a key exchange is spent on it.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.accept(c); tc != nil {
			return tc, nil
		}
	}
}

// accept takes a slot for c, or closes it and returns nil. The connection
// of a trusted load balancer counts against the global cap here and
// against its client's source once its PROXY header has been read (see
// admitProxied), which happens on the connection's own goroutine.
func (s *Server) accept(c net.Conn) *trackedConn {
	peer := c.RemoteAddr()
	proxied := s.trustsProxy(peer)
	src, pfx := "", ""
	if !proxied {
		src, pfx = sourceOf(peer), s.prefixOf(peer)
	}
	now := time.Now()
	s.mu.Lock()
	refusal := ""
	switch {
	case s.closing:
		refusal = "closing"
	case s.open >= s.cfg.MaxSessions:
		refusal = refusedBusy
	case !proxied:
		refusal = s.admitSource(src, pfx, now)
	}
	if refusal != "" {
		s.mu.Unlock()
		_ = c.Close()
		if refusal != "closing" {
			if src == "" {
				src = sourceOf(peer)
			}
			s.refusals.log(s.log, refusal, src, peer.String())
		}
		return nil
	}
	s.open++
	tc := &trackedConn{Conn: c, s: s, source: src, prefix: pfx}
	s.conns[tc] = struct{}{}
	pending := s.noteLoad()
	grace := s.loginGrace()
	s.mu.Unlock()
	shortenGrace(pending, grace)
	if proxied {
		tc.proxied = true
		tc.Conn = proxyproto.NewConn(c,
			proxyproto.WithPolicy(proxyproto.REQUIRE),
			proxyproto.SetReadHeaderTimeout(proxyHeaderTimeout))
	}
	return tc
}

// trustsProxy reports whether peer is a load balancer whose connections
// start with a PROXY header.
func (s *Server) trustsProxy(peer net.Addr) bool {
	if len(s.cfg.ProxyProtocol.Trusted) == 0 {
		return false
	}
	ta, ok := peer.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.ProxyProtocol.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// admitProxied reads the PROXY header of a load balancer's connection and
// applies the per-source limits to the client it names. It reports
// whether the connection goes on; the caller closes it if not.
func (s *Server) admitProxied(tc *trackedConn) bool {
	pc, ok := tc.Conn.(*proxyproto.Conn)
	if !ok {
		return false
	}
	balancer := pc.Raw().RemoteAddr().String()
	h := pc.ProxyHeader() // reads the header, within proxyHeaderTimeout
	if h == nil {
		s.refusals.log(s.log, "refused_no_proxy_header", sourceOf(pc.Raw().RemoteAddr()), balancer)
		return false
	}
	if h.Command.IsLocal() {
		// The balancer's own health check: nobody to serve.
		return false
	}
	client, ok := h.SourceAddr.(*net.TCPAddr)
	if !ok {
		s.refusals.log(s.log, "refused_proxy_source", sourceOf(pc.Raw().RemoteAddr()), balancer)
		return false
	}
	src, pfx := sourceOf(client), s.prefixOf(client)
	s.mu.Lock()
	refusal := s.admitSource(src, pfx, time.Now())
	if refusal == "" {
		tc.source, tc.prefix = src, pfx
	}
	s.mu.Unlock()
	if refusal != "" {
		s.refusals.log(s.log, refusal, src, client.String())
		return false
	}
	return true
}

// trackedConn is an admitted connection; closing it gives its slots back.
type trackedConn struct {
	net.Conn
	s       *Server
	proxied bool // a trusted balancer's; Conn is a *proxyproto.Conn
	// Guarded by s.mu:
	source  string     // whose per-source slot it holds
	prefix  string     // whose per-network slot it holds, "" for none
	cs      *connState // set once the connection callback has run
	onClose func()     // runs once the slots are given back
	closed  bool

	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func (c *trackedConn) release() {
	s := c.s
	s.mu.Lock()
	c.closed = true
	delete(s.conns, c)
	s.open--
	now := time.Now()
	if c.source != "" {
		s.sources.release(c.source, now)
	}
	if c.prefix != "" {
		s.prefixes.release(c.prefix, now)
	}
	s.noteLoad() // only leaves the busy state: nothing to shorten
	onClose := c.onClose
	s.mu.Unlock()
	if onClose != nil {
		onClose()
	}
}
