// Package smtp sends verification codes and reset notices by email through
// an SMTP relay, with github.com/wneessen/go-mail.
//
// Each delivery opens its own connection (EHLO, STARTTLS or implicit TLS,
// AUTH), sends one message and quits: sends are rare, and a connection of
// its own keeps one slow delivery from holding up another. A message has a
// plain text part and an HTML alternative, a Date and a Message-ID, and is
// marked as automatic (RFC 3834) so that out-of-office replies stay away.
// Links in a message come only from the Config, never from what a person
// typed. Errors say which step failed and what the server answered, with the
// password, the recipient and the message (and so the code) taken out.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/sspr-project/sspr/flow"
)

// TLSMode says how the connection to the relay is protected.
type TLSMode string

// The TLS modes.
const (
	// StartTLS upgrades a plain connection with STARTTLS and refuses a
	// server that does not offer it (usually port 587).
	StartTLS TLSMode = "starttls"
	// ImplicitTLS speaks TLS from the first byte (SMTPS, usually port 465).
	ImplicitTLS TLSMode = "implicit"
	// NoTLS sends in the clear; allowed only to a relay on the loopback
	// interface (a local MTA that relays onwards).
	NoTLS TLSMode = "none"
)

// DefaultTimeout bounds each step of a delivery (connect, every command).
const DefaultTimeout = 10 * time.Second

// Config is an SMTP relay and the sender's identity.
type Config struct {
	// Host and Port are the relay; Port defaults to 587 (starttls), 465
	// (implicit) or 25 (none).
	Host string
	Port int
	// From is the envelope and header sender address; FromName its
	// display name, e.g. "Password reset".
	From     string
	FromName string
	// Username and Password authenticate with SMTP AUTH; no username means
	// no AUTH.
	Username string
	Password string
	// TLS is StartTLS when empty.
	TLS TLSMode
	// HELO is the name given in EHLO; empty means this host's name.
	HELO string
	// Timeout bounds each step; DefaultTimeout when zero.
	Timeout time.Duration
	// CAFile is a PEM bundle of the authorities trusted for the relay's
	// certificate instead of the system's.
	CAFile string
	// SignInURL, when set, is added to every message as the place to sign
	// in. It comes from the configuration only.
	SignInURL string
	// Words, when set, returns the subject lines and the sign-in label in
	// the language of a delivery (flow.Delivery.Lang), so that they match
	// the text; nil or an empty field means the English of EnglishWords.
	Words func(lang string) Words
}

// Words are the few words the email adds around flow's text.
type Words struct {
	// CodeSubject is the subject of a verification code.
	CodeSubject string
	// NoticeSubject is the subject of a notice after a reset.
	NoticeSubject string
	// SignIn labels the sign-in link.
	SignIn string
}

// EnglishWords are the default subjects and label.
var EnglishWords = Words{
	CodeSubject:   "Your password reset code",
	NoticeSubject: "Your password was reset",
	SignIn:        "Sign in",
}

// words returns the words for lang, English where the hook gives none.
func (s *Sender) words(lang string) Words {
	w := EnglishWords
	if s.cfg.Words == nil {
		return w
	}
	got := s.cfg.Words(lang)
	clean := func(v, def string) string {
		if strings.TrimSpace(v) == "" || v != flow.Sanitize(v, 200) {
			return def
		}
		return strings.TrimSpace(v)
	}
	return Words{clean(got.CodeSubject, w.CodeSubject), clean(got.NoticeSubject, w.NoticeSubject), clean(got.SignIn, w.SignIn)}
}

// Sender delivers flow messages by email. It is safe for concurrent use.
type Sender struct {
	cfg      Config
	from     *mail.Address
	fromHost string
	tls      *tls.Config
}

var _ flow.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. Nothing is contacted; Check does that.
func New(cfg Config) (*Sender, error) {
	if cfg.TLS == "" {
		cfg.TLS = StartTLS
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	host := strings.TrimSpace(cfg.Host)
	switch {
	case host == "" || host != cfg.Host || strings.ContainsAny(host, "/:@ ") && net.ParseIP(host) == nil:
		return nil, fmt.Errorf("smtp: host %q: want a host name or an IP address", cfg.Host)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("smtp: timeout %v: want a positive duration", cfg.Timeout)
	case cfg.Password != "" && cfg.Username == "":
		return nil, errors.New("smtp: a password is set but no username")
	case cfg.HELO != "" && !validHELO(cfg.HELO):
		return nil, fmt.Errorf("smtp: helo %q: want a host name", cfg.HELO)
	case cfg.FromName != flow.Sanitize(cfg.FromName, 128):
		return nil, errors.New("smtp: from name: control characters or more than 128 characters")
	}
	switch cfg.TLS {
	case StartTLS, ImplicitTLS:
	case NoTLS:
		if !isLoopback(host) {
			return nil, fmt.Errorf("smtp: tls none is allowed only for a relay on the loopback interface, not %q", host)
		}
	default:
		return nil, fmt.Errorf("smtp: tls %q: want starttls, implicit or none", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{StartTLS: 587, ImplicitTLS: 465, NoTLS: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d: want 1 to 65535", cfg.Port)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || from.Name != "" || from.Address != cfg.From {
		return nil, fmt.Errorf("smtp: from %q: want a bare address such as reset@example.com", cfg.From)
	}
	from.Name = cfg.FromName
	if cfg.SignInURL != "" {
		if err := checkURL(cfg.SignInURL); err != nil {
			return nil, fmt.Errorf("smtp: sign-in URL: %w", err)
		}
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp: CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Sender{cfg: cfg, from: from, fromHost: from.Address[strings.LastIndexByte(from.Address, '@')+1:], tls: tc}, nil
}

// Addr is the relay's host:port.
func (s *Sender) Addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// Deliver implements flow.Sender: it emails d.Text to d.To.
func (s *Sender) Deliver(ctx context.Context, d flow.Delivery) error {
	secrets := s.secrets(d)
	msg, err := s.message(d)
	if err != nil {
		return &Error{Op: "compose", msg: redact(err.Error(), secrets), err: err}
	}
	return s.session(ctx, secrets, func(c *gomail.Client, sc *gosmtp.Client) error {
		if err := c.SendWithSMTPClient(sc, msg); err != nil {
			return s.fail(ctx, "send to "+s.Addr(), err, secrets)
		}
		return nil
	})
}

// Check connects to the relay as a delivery would (EHLO, TLS, AUTH) and
// quits without sending anything.
func (s *Sender) Check(ctx context.Context) error {
	return s.session(ctx, s.secrets(flow.Delivery{}), func(*gomail.Client, *gosmtp.Client) error { return nil })
}

// smtpConn is the socket of one conversation, kept so that it can be
// closed whatever state the SMTP conversation is in.
type smtpConn struct {
	mu     sync.Mutex
	raw    net.Conn
	closed bool
}

func (c *smtpConn) set(raw net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = raw
	if c.closed && raw != nil {
		raw.Close()
	}
}

func (c *smtpConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.raw != nil {
		c.raw.Close()
	}
}

// session connects, authenticates, runs do and quits. The connection is
// closed when ctx ends, so a hung server never holds the caller longer.
func (s *Sender) session(ctx context.Context, secrets []string, do func(*gomail.Client, *gosmtp.Client) error) error {
	conn := &smtpConn{}
	defer conn.close()
	c, err := s.client(conn)
	if err != nil {
		return &Error{Op: "configure", msg: redact(err.Error(), secrets), err: err}
	}
	stop := context.AfterFunc(ctx, conn.close)
	defer stop()
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.fail(ctx, "connect to "+s.Addr(), err, secrets)
	}
	if err := do(c, sc); err != nil {
		return err
	}
	// The message is accepted once DATA is answered; a failed QUIT does
	// not undo it.
	_ = sc.Quit()
	return nil
}

// client builds a go-mail client that dials through s.dial, recording the
// socket in conn.
func (s *Sender) client(conn *smtpConn) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
		gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := s.dial(ctx, network, addr)
			conn.set(c)
			return c, err
		}),
	}
	switch s.cfg.TLS {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		// The socket is TLS already; go-mail must not try STARTTLS.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		// The strongest mechanism the server offers; PLAIN and LOGIN go
		// over TLS (or to the loopback relay) only.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(
			gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthPlain,
			gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// dial opens the TCP connection, with TLS on top in implicit mode.
func (s *Sender) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.Timeout}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil || s.cfg.TLS != ImplicitTLS {
		return raw, err
	}
	tc := tls.Client(raw, s.tls)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// message composes the email for d.
func (s *Sender) message(d flow.Delivery) (*gomail.Msg, error) {
	to, err := mail.ParseAddress(d.To)
	if err != nil || to.Name != "" || strings.ContainsAny(d.To, "\r\n<>") {
		return nil, errors.New("the recipient is not a bare email address")
	}
	words := s.words(d.Lang)
	var subject string
	switch d.Kind {
	case flow.KindVerification:
		subject = words.CodeSubject
	case flow.KindNotice:
		subject = words.NoticeSubject
	default:
		return nil, fmt.Errorf("unknown delivery kind %q", d.Kind)
	}
	// flow's own title, in the session's language, says what the notice
	// is about (a reset, an unlock, a privileged account).
	if t := strings.TrimSpace(d.Subject); t != "" && !strings.ContainsAny(t, "\r\n") {
		subject = t
	}
	lang := langTag(d.Lang)
	text, html, err := render(body{Subject: subject, Text: d.Text, Lang: lang, SignInURL: s.cfg.SignInURL, SignIn: words.SignIn, Kind: d.Kind})
	if err != nil {
		return nil, err
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.SetAddrHeader(gomail.HeaderFrom, s.from.String()); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(to.Address); err != nil {
		return nil, errors.New("the recipient is not a usable email address")
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageIDWithValue(messageID(s.fromHost))
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	if lang != "" {
		m.SetGenHeader(gomail.HeaderContentLang, lang)
	}
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// messageID is a random Message-ID in the sender's domain, so that the
// host's own name does not leave the network.
func messageID(domain string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + domain
}

// secrets are the strings no error may carry: the password, the recipient,
// the message and any number in it (a code).
func (s *Sender) secrets(d flow.Delivery) []string {
	out := []string{s.cfg.Password, d.To, d.Text}
	out = append(out, digitRuns.FindAllString(d.Text, -1)...)
	return out
}

var digitRuns = regexp.MustCompile(`[0-9]{4,}`)

// redact replaces every secret of four or more characters in msg.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validHELO(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '[' || r == ']' || r == ':')) {
			return false
		}
	}
	return h != ""
}

// checkURL accepts an absolute http or https URL without credentials.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "https":
		// A link in an email is followed from anywhere: https only.
		return fmt.Errorf("%q: want an https:// URL", s)
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("%q: want a host and no user name or password", s)
	case s != flow.Sanitize(s, 2048) || strings.ContainsAny(s, " \"'<>"):
		return fmt.Errorf("%q: spaces, quotes or control characters", flow.Sanitize(s, 64))
	}
	return nil
}

// langTag turns a session language ("de", "de_DE.UTF-8", "pt-BR") into a
// BCP 47 tag for Content-Language and the HTML lang attribute; "" when it
// is empty or cannot be one.
func langTag(l string) string {
	l, _, _ = strings.Cut(l, ".")
	l, _, _ = strings.Cut(l, "@")
	l = strings.ReplaceAll(l, "_", "-")
	if l == "C" || l == "POSIX" || !langRE.MatchString(l) {
		return ""
	}
	return l
}

var langRE = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)
