package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// errClosed is returned after Close.
var errClosed = errors.New("ldap: directory closed")

// pool keeps service-account connections bound and ready. A connection
// the server dropped (a restart, an idle cut) is noticed when it is taken
// and replaced by a new one, so the directory recovers by itself.
type pool struct {
	cfg   Config
	tls   *tls.Config
	slots chan struct{}     // one per connection in use
	idle  chan *goldap.Conn // bound, ready connections

	mu     sync.Mutex
	closed bool
}

func newPool(cfg Config, tc *tls.Config) *pool {
	return &pool{cfg: cfg, tls: tc, slots: make(chan struct{}, cfg.PoolSize), idle: make(chan *goldap.Conn, cfg.PoolSize)}
}

// get returns a bound connection; fresh reports that it was just dialed.
// It waits for a free slot while PoolSize connections are in use.
func (p *pool) get(ctx context.Context) (c *goldap.Conn, fresh bool, err error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("waiting for a directory connection: %w", ctx.Err())
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		<-p.slots
		return nil, false, errClosed
	}
	// Idle connections the server has closed since are dropped here.
	for c := range p.ready() {
		return c, false, nil
	}
	c, err = p.dialAny(ctx, true)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	return c, true, nil
}

// ready yields the idle connections that are still open, without waiting.
func (p *pool) ready() func(yield func(*goldap.Conn) bool) {
	return func(yield func(*goldap.Conn) bool) {
		for {
			select {
			case c := <-p.idle:
				if c.IsClosing() {
					c.Close()
					continue
				}
				if !yield(c) {
					return
				}
			default:
				return
			}
		}
	}
}

// put gives c back; a connection that failed is closed instead of kept.
func (p *pool) put(c *goldap.Conn, healthy bool) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !healthy || closed || c.IsClosing() {
		c.Close()
		return
	}
	select {
	case p.idle <- c:
	default:
		c.Close()
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

// dialAny connects to the URLs in order and returns the first connection
// that is up (and bound, when bind is true). The error names every URL
// tried and what its server said.
func (p *pool) dialAny(ctx context.Context, bind bool) (*goldap.Conn, error) {
	var errs []string
	for _, u := range p.cfg.URLs {
		c, err := p.dial(ctx, u)
		if err == nil && bind {
			if err = p.bind(ctx, c); err != nil {
				c.Close()
			}
		}
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", u, err))
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("no directory server answered in time: %w (%s)", ctx.Err(), strings.Join(errs, "; "))
	}
	return nil, fmt.Errorf("no directory server answered (%s)", strings.Join(errs, "; "))
}

// dial connects to one URL within ConnectTimeout, with TLS for ldaps://
// and StartTLS when configured.
func (p *pool) dial(ctx context.Context, raw string) (*goldap.Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	timeout := p.cfg.ConnectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	tc := p.tls.Clone()
	tc.ServerName = u.Hostname()
	c, err := goldap.DialURL(raw, goldap.DialWithDialer(&net.Dialer{Timeout: timeout}), goldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", unwrapNetwork(err))
	}
	c.SetTimeout(timeout)
	if p.cfg.StartTLS {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("StartTLS: %w", unwrapNetwork(err))
		}
	}
	c.SetTimeout(p.cfg.Timeout)
	return c, nil
}

// bind authenticates c as the service account within the operation timeout.
func (p *pool) bind(ctx context.Context, c *goldap.Conn) error {
	stop := watch(ctx, c, p.cfg.Timeout)
	defer stop()
	if err := c.Bind(p.cfg.BindDN, p.cfg.BindPassword.Value()); err != nil {
		return fmt.Errorf("bind as %s: %w", p.cfg.BindDN, err)
	}
	return nil
}

// watch bounds the next operations on c by timeout and by ctx: when ctx
// ends first, c is closed, which ends any operation waiting on it.
func watch(ctx context.Context, c *goldap.Conn, timeout time.Duration) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		// The context ends first and closes c; the slack keeps go-ldap's
		// own timer from firing just before it, so the error says why.
		timeout = max(time.Until(dl), 0) + 50*time.Millisecond
	}
	c.SetTimeout(timeout)
	return context.AfterFunc(ctx, func() { c.Close() })
}

// unwrapNetwork drops go-ldap's "LDAP Result Code 200 "Network Error""
// prefix: the network's own words are clearer.
func unwrapNetwork(err error) error {
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode == goldap.ErrorNetwork && le.Err != nil {
		return le.Err
	}
	return err
}

// isNetwork reports whether err means the connection failed (as opposed
// to the server answering with a result code).
func isNetwork(err error) bool {
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == goldap.ErrorNetwork
	}
	return err != nil
}

// notSent reports whether err says the request never left: the
// connection was already closed, so a write may safely be tried again.
func notSent(err error) bool {
	return isNetwork(err) && strings.Contains(err.Error(), "connection closed")
}
