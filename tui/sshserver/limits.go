package sshserver

import (
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// sourceOf is the unit that per-source limits count: flow.SourceKey of
// the address (an IPv4 address, or the /64 of an IPv6 address), the same
// key flow's own per-source limits use. An address that is not IP (a pipe
// in tests) is its own source.
func sourceOf(addr net.Addr) string {
	ip := ipOf(addr)
	if !ip.IsValid() {
		return addr.String()
	}
	return flow.SourceKey(ip)
}

// prefixOf is the wider network of addr that MaxPerPrefix counts
// (flow.SourcePrefix), "" when addr is not IP or the cap is off.
func (s *Server) prefixOf(addr net.Addr) string {
	ip := ipOf(addr)
	if !ip.IsValid() || s.cfg.MaxPerPrefix <= 0 {
		return ""
	}
	return flow.SourcePrefix(ip, s.cfg.PrefixV4, s.cfg.PrefixV6)
}

// admitSource takes the slots of one new connection from src in its
// network pfx and as itself, or says why not; the caller holds s.mu.
func (s *Server) admitSource(src, pfx string, now time.Time) string {
	if pfx != "" {
		if s.prefixes.admit(pfx, now) != "" {
			return refusedPerPrefix
		}
	}
	refusal := s.sources.admit(src, now)
	if refusal != "" && pfx != "" {
		s.prefixes.release(pfx, now)
	}
	return refusal
}

// busyShare is the share of MaxSessions from which the server counts as
// nearly full and BusyLoginGrace applies.
const busyShare = 0.8

// busyAt is the number of open connections from which the server is
// nearly full.
func (s *Server) busyAt() int {
	return max(1, int(math.Ceil(float64(s.cfg.MaxSessions)*busyShare)))
}

// loginGrace is the grace of a connection admitted now; the caller holds
// s.mu.
func (s *Server) loginGrace() time.Duration {
	if s.busy && s.cfg.BusyLoginGrace > 0 && s.cfg.BusyLoginGrace < s.cfg.LoginGrace {
		return s.cfg.BusyLoginGrace
	}
	return s.cfg.LoginGrace
}

// noteLoad updates the busy state after a connection came or went and,
// when the server has just become nearly full, returns the connections
// whose login grace must shrink; the caller holds s.mu and shortens them
// after unlocking.
func (s *Server) noteLoad() []*connState {
	busy := s.open >= s.busyAt()
	was := s.busy
	s.busy = busy
	if !busy || was || s.cfg.BusyLoginGrace <= 0 || s.cfg.BusyLoginGrace >= s.cfg.LoginGrace {
		return nil
	}
	var pending []*connState
	for tc := range s.conns {
		if tc.cs != nil && !tc.cs.started.Load() {
			pending = append(pending, tc.cs)
		}
	}
	return pending
}

// ipOf is the IP address of addr, or the zero Addr when it has none.
func ipOf(addr net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
			ip = ap.Addr()
		}
	}
	return ip
}

// maxSources bounds the sources the limits remember at once. An entry
// lives while its source has a connection open or one admitted within the
// window; when the table is full of live entries, new sources are refused
// as if the server were busy.
const maxSources = 1 << 16

// sourceTable counts, per source, the connections open and those admitted
// within the last window. The server's mutex guards it.
type sourceTable struct {
	maxOpen   int // 0: no cap
	maxNew    int // 0: no cap
	window    time.Duration
	m         map[string]*sourceEntry
	lastSweep time.Time
}

type sourceEntry struct {
	open   int
	recent []time.Time // admissions within the window, oldest first
}

func newSourceTable(maxOpen, maxNew int, window time.Duration) *sourceTable {
	return &sourceTable{maxOpen: maxOpen, maxNew: maxNew, window: window, m: map[string]*sourceEntry{}}
}

// Refusal kinds, as logged.
const (
	refusedBusy      = "refused_busy"
	refusedPerSource = "refused_per_source"
	refusedRate      = "refused_rate"
	refusedPerPrefix = "refused_per_prefix"
)

// admit takes a slot for one new connection from src, or says why not.
func (t *sourceTable) admit(src string, now time.Time) (refusal string) {
	e := t.m[src]
	if e == nil {
		if len(t.m) >= maxSources {
			t.sweep(now)
			if len(t.m) >= maxSources {
				return refusedBusy
			}
		}
		e = &sourceEntry{}
		t.m[src] = e
	}
	e.trim(now, t.window)
	switch {
	case t.maxOpen > 0 && e.open >= t.maxOpen:
		return refusedPerSource
	case t.maxNew > 0 && len(e.recent) >= t.maxNew:
		return refusedRate
	}
	e.open++
	if t.maxNew > 0 {
		e.recent = append(e.recent, now)
	}
	if now.Sub(t.lastSweep) > t.window && len(t.m) > 1024 {
		t.sweep(now)
	}
	return ""
}

// release gives back the slot of a connection from src that has closed.
func (t *sourceTable) release(src string, now time.Time) {
	e := t.m[src]
	if e == nil {
		return
	}
	e.open--
	e.trim(now, t.window)
	if e.open <= 0 && len(e.recent) == 0 {
		delete(t.m, src)
	}
}

// sweep forgets the sources with nothing open and nothing recent.
func (t *sourceTable) sweep(now time.Time) {
	t.lastSweep = now
	for src, e := range t.m {
		e.trim(now, t.window)
		if e.open <= 0 && len(e.recent) == 0 {
			delete(t.m, src)
		}
	}
}

func (e *sourceEntry) trim(now time.Time, window time.Duration) {
	i := 0
	for i < len(e.recent) && now.Sub(e.recent[i]) >= window {
		i++
	}
	if i > 0 {
		e.recent = append(e.recent[:0], e.recent[i:]...)
	}
}

// refusalLog logs refused connections at most once a second per source,
// and at most maxRefusalLines a second in all, each line with the number
// left out since; so a flood beyond the limits cannot flood the log too.
type refusalLog struct {
	mu      sync.Mutex
	sources map[string]*refusalEntry
	second  time.Time // start of the current second, for the overall cap
	lines   int       // lines logged in it
	dropped int       // refusals left out whose source's count was lost
}

type refusalEntry struct {
	last    time.Time
	skipped int
}

const (
	maxRefusalLines   = 10
	maxRefusalSources = 4096
)

func (r *refusalLog) log(l *slog.Logger, kind, src, remote string) {
	now := time.Now()
	r.mu.Lock()
	if r.sources == nil {
		r.sources = map[string]*refusalEntry{}
	}
	e := r.sources[src]
	if e != nil && now.Sub(e.last) < time.Second {
		e.skipped++
		r.mu.Unlock()
		return
	}
	if now.Sub(r.second) >= time.Second {
		r.second, r.lines = now, 0
	}
	if r.lines >= maxRefusalLines {
		if e != nil {
			e.skipped++
		} else {
			r.dropped++
		}
		r.mu.Unlock()
		return
	}
	r.lines++
	if e == nil {
		if len(r.sources) >= maxRefusalSources {
			for s, old := range r.sources {
				if now.Sub(old.last) >= time.Second {
					r.dropped += old.skipped
					delete(r.sources, s)
				}
			}
		}
		e = &refusalEntry{}
		if len(r.sources) < maxRefusalSources {
			r.sources[src] = e
		}
	}
	skipped, dropped := e.skipped, r.dropped
	e.last, e.skipped, r.dropped = now, 0, 0
	r.mu.Unlock()
	attrs := []any{"remote", remote, "source", src, "not_logged_since_last", skipped}
	if dropped > 0 {
		attrs = append(attrs, "not_logged_other_sources", dropped)
	}
	l.Warn(kind, attrs...)
}
