package web

import (
	"net"
	"net/netip"
	"sync"

	"github.com/sspr-project/sspr/flow"
)

// limitListener caps the connections a listener holds open: at most max
// in all, which makes Accept wait (the rest queue in the kernel, holding
// no descriptor of the process), and at most perSource from one source
// (flow.SourceKey: an IPv4 address or an IPv6 /64), beyond which a
// connection is closed as soon as it is accepted. A slot comes back when
// its connection closes.
type limitListener struct {
	net.Listener
	perSource int // 0: no cap
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	sources map[string]int
}

func newLimitListener(l net.Listener, max, perSource int) *limitListener {
	return &limitListener{
		Listener: l, perSource: perSource,
		slots: make(chan struct{}, max), done: make(chan struct{}),
		sources: map[string]int{},
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		src := sourceKey(c.RemoteAddr())
		l.mu.Lock()
		refused := l.perSource > 0 && l.sources[src] >= l.perSource
		if !refused {
			l.sources[src]++
		}
		l.mu.Unlock()
		if refused {
			_ = c.Close()
			<-l.slots
			continue
		}
		return &limitedConn{Conn: c, l: l, src: src}, nil
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *limitListener) release(src string) {
	l.mu.Lock()
	if l.sources[src]--; l.sources[src] <= 0 {
		delete(l.sources, src)
	}
	l.mu.Unlock()
	<-l.slots
}

// sourceKey is the per-source key of addr; an address that is not IP is
// its own source.
func sourceKey(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return flow.SourceKey(ip)
		}
	}
	return addr.String()
}

// limitedConn gives its slots back once, when it closes.
type limitedConn struct {
	net.Conn
	l    *limitListener
	src  string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}
