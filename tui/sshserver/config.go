package sshserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Config says how to serve. Zero fields take the defaults listed with them.
type Config struct {
	// Listen is the TCP address for ListenAndServe (default ":22").
	Listen string
	// HostKeyPath is the host key. When the file is missing an ed25519 key
	// is created there (mode 0600, in a directory created 0700); an
	// existing file that group or others may read or write is refused.
	HostKeyPath string
	// NewModel builds the program of one session. It is called once per
	// session, on that session's goroutine. A model with a Close() method
	// has it called once its program has ended, however it ended.
	NewModel func(SessionInfo) tea.Model
	// Lang is the language when the client sends no LC_ALL, LC_MESSAGES
	// or LANG naming one offered (see package i18n); empty: English.
	Lang string

	// MaxSessions caps concurrent connections, handshakes included
	// (default 200). Connections beyond it are closed at once.
	MaxSessions int

	// MaxPerSource caps concurrent connections from one source (default
	// 3; negative: no cap), and NewPerSource the new connections one
	// source may open per NewPerSourceWindow (default 10 per 10s;
	// negative: no cap). Both act at accept time, before any
	// cryptography runs; a refused connection is closed at once. A source
	// is an IPv4 address or an IPv6 /64. Behind a load balancer without
	// the PROXY protocol every client has the balancer's address: turn
	// both off there.
	MaxPerSource       int
	NewPerSource       int
	NewPerSourceWindow time.Duration
	// ProxyTrusted lists the load balancers (addresses or CIDR prefixes)
	// whose connections start with a PROXY protocol header (v1 or v2);
	// their connections must, and the header's source is the client's
	// address for logs and limits. Every other peer is served as it
	// connects, and a header it sends is never read as one. Empty: the
	// PROXY protocol is off.
	ProxyTrusted []netip.Prefix
	// MaxTimeout is the longest a session may last (default 15m). The
	// program is asked to quit then, so the client's terminal is restored.
	MaxTimeout time.Duration
	// LoginGraceTime bounds the time from TCP accept to a running program
	// (default 30s): handshakes and sessions that never start are closed.
	LoginGraceTime time.Duration

	// MaxWidth and MaxHeight clamp the window the program draws in
	// (default 160x50). The renderer keeps about 230 bytes per cell, so
	// every client may claim this much: 160x50 costs about 2.1 MiB a
	// session, 240x80 about 4.5 MiB. A larger terminal shows the wizard
	// in its top left 160x50.
	MaxWidth, MaxHeight int
	// FPS caps the frames per second of each program (default 30). The
	// first frame and every echo wait for the next frame.
	FPS int
	// ExitPause is the wait between the program's end and closing the
	// session, so the bytes that restore the client's terminal arrive
	// first (default 30ms).
	ExitPause time.Duration
	// Version is what follows "SSH-2.0-" in the version string (default
	// "SSPR").
	Version string

	// Logger receives connection events: session_start, session_end,
	// denied_exec, denied_forward and the like (default slog.Default()).
	Logger *slog.Logger
}

// SessionInfo is what a model may know about its session. It carries no
// SSH user name and no key: those are never an identity here.
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
	// Language is the language of the session, a base tag ("en", "de",
	// "fr"): the client's messages locale when it names a language
	// offered, else Config.Lang, else English. The server's own words
	// (a missing terminal, a time limit, a restart) are in it too.
	Language string
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

// Defaults.
const (
	defaultListen     = ":22"
	defaultMaxSess    = 200
	defaultMaxTimeout = 15 * time.Minute
	defaultGrace      = 30 * time.Second
	defaultMaxWidth   = 160
	defaultMaxHeight  = 50
	defaultFPS        = 30
	defaultExitPause  = 30 * time.Millisecond
	defaultVersion    = "SSPR"
	defaultPerSource  = 3
	defaultNewPerSrc  = 10
	defaultNewWindow  = 10 * time.Second
	// fallbackTerm replaces a TERM that is empty or not a plain name.
	fallbackTerm = "xterm-256color"
	// defaultWidth and defaultHeight replace a zero dimension.
	defaultWidth, defaultHeight = 80, 24
)

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = defaultMaxSess
	}
	if c.MaxTimeout == 0 {
		c.MaxTimeout = defaultMaxTimeout
	}
	if c.LoginGraceTime == 0 {
		c.LoginGraceTime = defaultGrace
	}
	if c.MaxWidth == 0 {
		c.MaxWidth = defaultMaxWidth
	}
	if c.MaxHeight == 0 {
		c.MaxHeight = defaultMaxHeight
	}
	if c.FPS == 0 {
		c.FPS = defaultFPS
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
	if c.MaxPerSource == 0 {
		c.MaxPerSource = defaultPerSource
	}
	if c.NewPerSource == 0 {
		c.NewPerSource = defaultNewPerSrc
	}
	if c.NewPerSourceWindow == 0 {
		c.NewPerSourceWindow = defaultNewWindow
	}
	return c
}

// validate names the first field that is out of bounds.
func (c Config) validate() error {
	switch {
	case c.HostKeyPath == "":
		return errors.New("sshserver: host key path is empty: sspr never writes a key into the working directory")
	case c.NewModel == nil:
		return errors.New("sshserver: no model factory configured")
	case c.MaxSessions < 1:
		return fmt.Errorf("sshserver: max sessions is %d: at least 1 is needed", c.MaxSessions)
	case c.MaxTimeout < 0 || c.LoginGraceTime < 0 || c.ExitPause < 0 || c.NewPerSourceWindow < 0:
		return errors.New("sshserver: durations must not be negative")
	case c.MaxWidth < defaultWidth || c.MaxHeight < defaultHeight || c.MaxWidth > 1000 || c.MaxHeight > 500:
		return fmt.Errorf("sshserver: max window is %dx%d: allowed are 80x24 to 1000x500", c.MaxWidth, c.MaxHeight)
	case c.FPS < 1 || c.FPS > 120:
		return fmt.Errorf("sshserver: fps is %d: allowed are 1 to 120", c.FPS)
	case !validTerm(c.Version):
		return fmt.Errorf("sshserver: version %q: letters, digits and ._+- only", c.Version)
	}
	for _, p := range c.ProxyTrusted {
		if !p.IsValid() {
			return errors.New("sshserver: an invalid prefix among the trusted PROXY protocol senders")
		}
	}
	return nil
}
