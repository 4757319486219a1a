package sshserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// Settings is the `ssh` block of sspr.yaml: the listener, the host key
// and the limits. Start from Default: the file is decoded over it, a key
// left out keeps its default and an explicit zero is a zero. For
// MaxPerSource and NewPerSource zero means no cap, in the file and in Go
// alike. The ranges in the tags are what an operator may set; New itself
// only refuses what cannot work (tests use shorter times).
type Settings struct {
	// Listen is the TCP address of ListenAndServe, host:port.
	Listen string `yaml:"listen" default:"127.0.0.1:2222 without a config file, :2222 with one" doc:"address of sspr serve"`
	// HostKey is the host key. When the file is missing an ed25519 key is
	// created there (mode 0600, in a directory created 0700); an existing
	// file that group or others may read or write is refused.
	HostKey string `yaml:"host_key" default:"<data_dir>/ssh_host_ed25519_key" doc:"host key; created (0600) when missing; a key others can read is refused"`
	// MaxSessions caps concurrent connections, handshakes included.
	// Connections beyond it are closed at once.
	MaxSessions int `yaml:"max_sessions" range:"1..100000" doc:"concurrent connections; more are closed at once"`
	// MaxSessionTime is the longest a session may last. The program is
	// asked to quit then, so the client's terminal is restored.
	MaxSessionTime time.Duration `yaml:"max_session_time" range:"1m..24h" doc:"hard limit of one SSH session"`

	// MaxPerSource caps concurrent connections from one source, and
	// NewPerSource the new connections one source may open per
	// NewPerSourceWindow; 0 is no cap. Both act at accept time, before any
	// cryptography runs; a refused connection is closed at once. A source
	// is an IPv4 address or an IPv6 /64. Behind a load balancer without
	// the PROXY protocol every client has the balancer's address: set
	// both to 0 there.
	MaxPerSource       int           `yaml:"max_per_source" range:"0..1000" doc:"concurrent connections from one source (IPv4 address or IPv6 /64), refused before the handshake; 0: no cap"`
	NewPerSource       int           `yaml:"new_per_source" range:"0..10000" doc:"new connections one source may open per ssh.new_per_source_window; 0: no cap"`
	NewPerSourceWindow time.Duration `yaml:"new_per_source_window" range:"1s..1h" doc:"the window of ssh.new_per_source"`
	// MaxPerPrefix caps the concurrent connections from one network: the
	// /PrefixV4 of an IPv4 address, the /PrefixV6 of an IPv6 one (one
	// customer's allocation, which holds many sources); 0 is no cap. Like
	// MaxPerSource it acts at accept time, and behind a balancer without
	// the PROXY protocol it must be 0.
	MaxPerPrefix int `yaml:"max_per_prefix" range:"0..100000" doc:"concurrent connections from one network (an IPv4 /ssh.prefix_v4, an IPv6 /ssh.prefix_v6), refused before the handshake; 0: no cap"`
	PrefixV4     int `yaml:"prefix_v4" range:"8..32" doc:"the IPv4 network length ssh.max_per_prefix counts by"`
	PrefixV6     int `yaml:"prefix_v6" range:"16..64" doc:"the IPv6 network length ssh.max_per_prefix counts by (a site is commonly given a /48 or a /56)"`
	// LoginGrace bounds the time from TCP accept to a running program:
	// handshakes and sessions that never start are closed.
	LoginGrace time.Duration `yaml:"login_grace" range:"5s..5m" doc:"from connect to a running wizard, handshake included"`
	// BusyLoginGrace replaces LoginGrace, counted from each connection's
	// accept, for every connection without a running program while the
	// server holds busyShare of MaxSessions or more: held handshakes give
	// their slots back quickly when slots run short. 0 (in Go): LoginGrace.
	BusyLoginGrace time.Duration `yaml:"busy_login_grace" range:"1s..5m" doc:"the login grace, from connect, of connections without a running wizard while the server holds 80% of ssh.max_sessions or more"`
	// ShutdownGrace is how long the caller lets a shutdown take (see
	// BeginShutdown and Shutdown); the server itself does not read it.
	ShutdownGrace time.Duration `yaml:"shutdown_grace" range:"1s..10m" doc:"on SIGTERM, how long a password write under way may take to finish"`
	// FPS caps the frames per second of each session, on average. A frame
	// is drawn as soon as the view changes, unless two were drawn in the
	// last 1/FPS; an idle session draws nothing and is not woken (see
	// frames and guard).
	FPS int `yaml:"fps" range:"10..120" doc:"most frames per second of each session, on average: a key press is drawn at once unless two frames were drawn in the last 1/fps, and an idle session is never woken; see docs/BENCHMARKS.md"`

	// InputRate and InputBurst bound what one session may send: a token
	// bucket of InputBurst bytes refilled at InputRate bytes a second. A
	// person types far below the rate and a paste is one burst; input
	// beyond it is dropped, and once more than InputDropLimit bytes have
	// been dropped the session ends.
	InputRate      int `yaml:"input_rate" range:"16..65536" doc:"bytes a second one session may send, sustained; more is dropped"`
	InputBurst     int `yaml:"input_burst" range:"256..1048576" doc:"bytes one session may send at once (a paste) above ssh.input_rate"`
	InputDropLimit int `yaml:"input_drop_limit" range:"1024..16777216" doc:"bytes dropped over ssh.input_rate after which the session ends"`
	// MaxPaste ends a session whose bracketed paste grows past it: the
	// terminal decoder keeps a paste whole until its end mark.
	MaxPaste int `yaml:"max_paste" range:"1024..1048576" doc:"bytes of one bracketed paste; a longer one ends the session"`
	// MaxEscape cuts an escape sequence the client sends (OSC, DCS, APC,
	// CSI, ...) at this many bytes and drops the rest of it; and input
	// pauses for 100ms after every MaxEscape bytes passed without a pause,
	// so the decoder never holds more than this of a sequence it waits to
	// see finished.
	MaxEscape int `yaml:"max_escape" range:"256..65536" doc:"bytes of one escape sequence a client sends; the rest is dropped"`
	// WindowChanges caps the window size changes a second passed to a
	// session's program; of those in between, the last one wins. Each one
	// redraws the whole screen.
	WindowChanges int `yaml:"window_changes" range:"1..60" doc:"window size changes a second passed to a session (the last one wins)"`

	ProxyProtocol ProxyProtocol `yaml:"proxy_protocol"`
}

// ProxyProtocol lists the load balancers whose PROXY protocol headers
// are trusted.
type ProxyProtocol struct {
	// Trusted lists the load balancers whose connections start with a
	// PROXY protocol header (v1 or v2); their connections must, and the
	// header's source is the client's address for logs and limits. Every
	// other peer is served as it connects, and a header it sends is never
	// read as one. Empty: the PROXY protocol is off.
	Trusted []Prefix `yaml:"trusted" doc:"load balancers (addresses or CIDR prefixes) whose connections start with a PROXY header; empty: PROXY protocol off"`
}

// Default is the ssh block sspr ships with. HostKey is left empty for the
// caller to place (sspr puts it under its data directory).
func Default() Settings {
	return Settings{
		Listen:             ":2222",
		MaxSessions:        500,
		MaxSessionTime:     15 * time.Minute,
		MaxPerSource:       3,
		NewPerSource:       10,
		NewPerSourceWindow: 10 * time.Second,
		MaxPerPrefix:       32,
		PrefixV4:           24,
		PrefixV6:           48,
		LoginGrace:         30 * time.Second,
		BusyLoginGrace:     5 * time.Second,
		ShutdownGrace:      10 * time.Second,
		FPS:                60,
		InputRate:          256,
		InputBurst:         4096,
		InputDropLimit:     64 << 10,
		MaxPaste:           64 << 10,
		MaxEscape:          4096,
		WindowChanges:      4,
	}
}

// Validate checks the listen address and the trusted balancers, with
// paths relative to the block. The ranges are checked by package config.
func (s *Settings) Validate() error {
	var es config.Errors
	if !validHostPort(s.Listen) {
		es.Add("listen", "%q is not allowed (host:port, e.g. :2222 or 127.0.0.1:2222)", s.Listen)
	}
	for i, p := range s.ProxyProtocol.Trusted {
		if !p.IsValid() {
			es.Add(fmt.Sprintf("proxy_protocol.trusted[%d]", i), "is not allowed (%s)", prefixWords)
		}
	}
	return es.Err()
}

// validHostPort accepts host:port with a port of 0 to 65535 (the host may
// be empty: every interface).
func validHostPort(s string) bool {
	_, p, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// Prefix is an IP address or a CIDR prefix; an address is its own /32
// (IPv4) or /128 (IPv6). In YAML it is a string: 10.0.0.5 or 10.0.0.0/24.
type Prefix struct{ netip.Prefix }

const prefixWords = "an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24"

// ParsePrefix reads "10.0.0.0/24" (masked to its network), or "10.0.0.5"
// as its own /32 (an IPv4-mapped IPv6 address as its IPv4 /32).
func ParsePrefix(s string) (Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Prefix{}, fmt.Errorf("is not allowed (%s)", prefixWords)
		}
		return Prefix{p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return Prefix{}, fmt.Errorf("is not allowed (%s)", prefixWords)
	}
	a = a.Unmap()
	return Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
}

// MustPrefix is ParsePrefix for constants; it panics on an error.
func MustPrefix(s string) Prefix {
	p, err := ParsePrefix(s)
	if err != nil {
		panic("sshserver: prefix " + strconv.Quote(s) + " " + err.Error())
	}
	return p
}

// UnmarshalText reads an address or a prefix (ParsePrefix).
func (p *Prefix) UnmarshalText(b []byte) error {
	q, err := ParsePrefix(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Config is what New needs: the Settings of the file and what the caller
// adds at run time. Zero run-time fields take the defaults listed with
// them; the Settings are taken as they are (start from Default).
type Config struct {
	Settings `yaml:",inline"`

	// NewModel builds the program of one session. It is called once per
	// session, on that session's goroutine. A model with a Close() method
	// has it called once its program has ended, however it ended.
	NewModel func(SessionInfo) tea.Model `yaml:"-"`
	// KeyAuth asks clients for a public key (any will do; one without
	// authenticates without a question) instead of letting "none" in, so
	// that SessionInfo.PublicKey carries the key a client proved it holds.
	KeyAuth bool `yaml:"-"`
	// Lang is the language when the client sends no LC_ALL, LC_MESSAGES
	// or LANG naming one offered (see package i18n); empty: English.
	Lang string `yaml:"-"`

	// MaxWidth and MaxHeight bound the window the program draws in
	// (default 100x30, the wizard's card and its margins): a larger
	// terminal shows it centred, or in its top left corner when TopLeft
	// (plain mode, for screen readers and magnifiers). The renderer keeps
	// about 230 bytes a cell of that window, twice, so a client's window
	// does not set what its session costs.
	MaxWidth  int  `yaml:"-"`
	MaxHeight int  `yaml:"-"`
	TopLeft   bool `yaml:"-"`
	// ExitPause is the wait between the program's end and closing the
	// session, so the bytes that restore the client's terminal arrive
	// first (default 30ms).
	ExitPause time.Duration `yaml:"-"`
	// Version is what follows "SSH-2.0-" in the version string (default
	// "SSPR").
	Version string `yaml:"-"`

	// Logger receives connection events: session_start, session_end,
	// denied_exec, denied_forward and the like (default slog.Default()).
	Logger *slog.Logger `yaml:"-"`
}

// SessionInfo is what a model may know about its session. It carries no
// SSH user name: that is never an identity here, and neither is the key.
type SessionInfo struct {
	// ID correlates the server's log lines of this connection.
	ID string
	// Remote is the client's address, host:port.
	Remote string
	// Term is the checked TERM (an unusable one is replaced).
	Term string
	// Width and Height are the clamped window size at start.
	Width, Height int
	// Env is the environment the program gets: TERM, and COLORTERM and
	// NO_COLOR when the client sent usable ones.
	Env []string
	// Lang, LCAll and LCMessages are the client's LANG, LC_ALL and
	// LC_MESSAGES when it sent usable ones ("" otherwise): plain locale
	// names such as de_CH.UTF-8, never a path. MessagesLocale picks the
	// one that governs the language of messages.
	Lang, LCAll, LCMessages string
	// Context ends when the connection does. It carries none of the
	// connection's values (no user name, no key).
	Context context.Context
	// Task is what the SSH user name asks for (TaskFor): the only use
	// of the user name, which never says who the person is.
	Task flow.Task
	// Language is the language of the session, a base tag ("en", "de",
	// "fr"): the client's messages locale when it names a language
	// offered, else Config.Lang, else English. The server's own words
	// (a missing terminal, a time limit, a restart) are in it too.
	Language string
	// PublicKey is the wire form of the public key the client proved it
	// holds by signing with it (Config.KeyAuth); nil when it authenticated
	// otherwise. A key only offered is never here.
	PublicKey []byte
}

// MessagesLocale is the locale that governs messages, by the POSIX order:
// LC_ALL, then LC_MESSAGES, then LANG; "" when the client sent none.
func (i SessionInfo) MessagesLocale() string {
	for _, l := range []string{i.LCAll, i.LCMessages, i.Lang} {
		if l != "" {
			return l
		}
	}
	return ""
}

// Defaults of the run-time fields.
const (
	defaultMaxWidth  = 100
	defaultMaxHeight = 30
	defaultExitPause = 30 * time.Millisecond
	defaultVersion   = "SSPR"
	// fallbackTerm replaces a TERM that is empty or not a plain name.
	fallbackTerm = "xterm-256color"
	// defaultWidth and defaultHeight replace a zero dimension.
	defaultWidth, defaultHeight = 80, 24
)

func (c Config) withDefaults() Config {
	if c.MaxWidth == 0 {
		c.MaxWidth = defaultMaxWidth
	}
	if c.MaxHeight == 0 {
		c.MaxHeight = defaultMaxHeight
	}
	if c.ExitPause == 0 {
		c.ExitPause = defaultExitPause
	}
	if c.Version == "" {
		c.Version = defaultVersion
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate names the first field that cannot work. It is looser than the
// ranges of Settings, which bound what an operator may set.
func (c Config) validate() error {
	switch {
	case c.HostKey == "":
		return errors.New("sshserver: host key path is empty: sspr never writes a key into the working directory")
	case c.NewModel == nil:
		return errors.New("sshserver: no model factory configured")
	case c.MaxSessions < 1:
		return fmt.Errorf("sshserver: max sessions is %d: at least 1 is needed", c.MaxSessions)
	case c.MaxPerSource < 0 || c.NewPerSource < 0 || c.MaxPerPrefix < 0:
		return errors.New("sshserver: per-source limits must not be negative (0: no cap)")
	case c.MaxPerPrefix > 0 && (c.PrefixV4 < 1 || c.PrefixV4 > 32 || c.PrefixV6 < 1 || c.PrefixV6 > 128):
		return fmt.Errorf("sshserver: prefix lengths /%d and /%d: allowed are 1 to 32 (IPv4) and 1 to 128 (IPv6)", c.PrefixV4, c.PrefixV6)
	case c.MaxSessionTime <= 0 || c.LoginGrace <= 0:
		return errors.New("sshserver: the session time and the login grace must be positive (start from Default)")
	case c.NewPerSource > 0 && c.NewPerSourceWindow <= 0:
		return errors.New("sshserver: the window of new connections per source must be positive")
	case c.ExitPause < 0 || c.ShutdownGrace < 0 || c.NewPerSourceWindow < 0 || c.BusyLoginGrace < 0:
		return errors.New("sshserver: durations must not be negative")
	case c.MaxWidth < defaultWidth || c.MaxHeight < defaultHeight || c.MaxWidth > 1000 || c.MaxHeight > 500:
		return fmt.Errorf("sshserver: max window is %dx%d: allowed are 80x24 to 1000x500", c.MaxWidth, c.MaxHeight)
	case c.FPS < 1 || c.FPS > 120:
		return fmt.Errorf("sshserver: fps is %d: allowed are 1 to 120", c.FPS)
	case c.InputRate < 1 || c.InputBurst < 1 || c.InputDropLimit < 1 || c.MaxPaste < 1 || c.MaxEscape < 16 || c.WindowChanges < 1:
		return errors.New("sshserver: the input limits must be positive (start from Default)")
	case !validTerm(c.Version):
		return fmt.Errorf("sshserver: version %q: letters, digits and ._+- only", c.Version)
	}
	for _, p := range c.ProxyProtocol.Trusted {
		if !p.IsValid() {
			return errors.New("sshserver: an invalid prefix among the trusted PROXY protocol senders")
		}
	}
	return nil
}
