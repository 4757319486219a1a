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

	"github.com/sspr-project/sspr/config"
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

// Config is an SMTP relay and the sender's identity: the delivery.smtp
// block of sspr.yaml, decoded over Default. Words is set in code.
type Config struct {
	// Host and Port are the relay; Port 0 means 587 (starttls), 465
	// (implicit) or 25 (none).
	Host string `yaml:"host" doc:"the relay's host name or IP address"`
	Port int    `yaml:"port" default:"587 (starttls), 465 (implicit), 25 (none)" range:"0..65535" doc:"the relay's port; 0: the default of the tls mode"`
	// From is the envelope and header sender: a bare address
	// (reset@example.com) or one with a display name ("Password reset
	// <reset@example.com>").
	From string `yaml:"from" doc:"the sender: reset@example.com or \"Password reset <reset@example.com>\""`
	// Username and Password authenticate with SMTP AUTH; no username means
	// no AUTH.
	Username string        `yaml:"username" doc:"the user name to authenticate with"`
	Password config.Secret `yaml:"password" doc:"its password, inline, in a file or in an environment variable (one of the three)"`
	// TLS is StartTLS when empty.
	TLS TLSMode `yaml:"tls" default:"starttls" doc:"starttls, implicit, or none (a relay on the loopback interface only)"`
	// HELO is the name given in EHLO; empty means this host's name.
	HELO string `yaml:"helo" doc:"the name sspr gives in HELO/EHLO"`
	// Timeout bounds each step; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" default:"the provider's" range:"0|1s..1m" doc:"one delivery; 0s: the provider's default"`
	// CAFile is a PEM bundle of the authorities trusted for the relay's
	// certificate instead of the system's.
	CAFile string `yaml:"ca_file" default:"system roots" doc:"replaces the system's trusted authorities for the relay"`
	// SignInURL, when set, is added to every message as the place to sign
	// in. It comes from the configuration only.
	SignInURL string `yaml:"signin_url" doc:"added to every email as the place to sign in (https)"`
	// Words, when set, returns the subject lines and the sign-in label in
	// the language of a delivery (flow.Delivery.Lang), so that they match
	// the text; nil or an empty field means the English of EnglishWords.
	Words func(lang string) Words `yaml:"-"`
}

// Default is the delivery.smtp block before the file's keys: STARTTLS,
// the port of the TLS mode and DefaultTimeout.
func Default() Config {
	return Config{TLS: StartTLS, Timeout: DefaultTimeout}
}

// SetDefaults gives a delivery.smtp block its defaults.
func (c *Config) SetDefaults() { *c = Default() }

// Validate checks the keys of the block, every rule at once, with paths
// relative to it (host, tls, from...). The ranges of port and timeout are
// their tags'; config.Load checks them.
func (c Config) Validate() error {
	return c.problems().Err()
}

// problems are the rules New applies too.
func (c Config) problems() config.Errors {
	var es config.Errors
	q := func(v string) string { return fmt.Sprintf("%q", flow.Sanitize(v, 80)) }
	host := strings.TrimSpace(c.Host)
	switch {
	case c.Host == "":
		es.Add("host", "is empty (the relay's host name or IP address)")
	case host != c.Host || strings.ContainsAny(host, "/:@ ") && net.ParseIP(host) == nil:
		es.Add("host", "%s is not allowed (a host name or an IP address, without a port)", q(c.Host))
	}
	switch c.TLS {
	case "", StartTLS, ImplicitTLS:
	case NoTLS:
		if c.Host != "" && !isLoopback(host) {
			es.Add("tls", "none is not allowed for a relay that is not on the loopback interface (%s): use starttls or implicit", q(c.Host))
		}
		if c.CAFile != "" {
			es.Add("ca_file", "%s is given with tls: none", q(c.CAFile))
		}
	default:
		es.Add("tls", "%s is not allowed (starttls, implicit or none)", q(string(c.TLS)))
	}
	if c.Password.IsSet() && c.Username == "" {
		es.Add("username", "is empty, yet a password is set")
	}
	if _, err := parseFrom(c.From); err != nil {
		es.Add("from", "%s", err.Error())
	}
	if c.HELO != "" && !validHELO(c.HELO) {
		es.Add("helo", "%s is not allowed (a host name)", q(c.HELO))
	}
	if c.SignInURL != "" {
		if err := checkURL(c.SignInURL); err != nil {
			es.Add("signin_url", "%v", err)
		}
	}
	return es
}

// parseFrom reads the sender, with or without a display name.
func parseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("%q is not allowed (an address, e.g. reset@example.com or \"Password reset <reset@example.com>\")", flow.Sanitize(from, 80))
	}
	if a.Name != flow.Sanitize(a.Name, 128) {
		return nil, errors.New("the display name has control characters or more than 128 characters")
	}
	return a, nil
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
	password string
	from     *mail.Address
	fromHost string
	tls      *tls.Config
}

var _ flow.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. Nothing is contacted; Check does
// that. A wrong key is reported as config.Errors with its path relative to
// the block, as Validate does (New also accepts a timeout under 1s, for
// tests). The password is read if it was not already.
func New(cfg Config) (*Sender, error) {
	if cfg.TLS == "" {
		cfg.TLS = StartTLS
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	es := cfg.problems()
	if cfg.Timeout < 0 {
		es.Add("timeout", "%v is not allowed (a positive duration)", cfg.Timeout)
	}
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{StartTLS: 587, ImplicitTLS: 465, NoTLS: 25}[cfg.TLS]
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		es.Add("port", "%d is not allowed (1 to 65535)", cfg.Port)
	}
	password, err := secretValue(&cfg.Password)
	if err != nil {
		es.Add("password", "%v", err)
	}
	if len(es) > 0 {
		return nil, es
	}
	from, _ := parseFrom(cfg.From)
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, config.Errors{{Path: "ca_file", Msg: "the CA file: " + err.Error()}}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, config.Errors{{Path: "ca_file", Msg: "the CA file " + cfg.CAFile + " has no PEM certificate in it"}}
		}
		tc.RootCAs = pool
	}
	return &Sender{cfg: cfg, password: password, from: from, fromHost: from.Address[strings.LastIndexByte(from.Address, '@')+1:], tls: tc}, nil
}

// secretValue is s's value, read now when it was not (a Secret built in
// code rather than by config.Load).
func secretValue(s *config.Secret) (string, error) {
	if v := s.Value(); v != "" || !s.IsSet() {
		return v, nil
	}
	if err := s.Resolve("password"); err != nil {
		return "", err
	}
	return s.Value(), nil
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
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.password))
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
	m, err := s.newMsg(to.Address, subject)
	if err != nil {
		return nil, err
	}
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
	out := []string{s.password, d.To, d.Text}
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

// SendPlain emails text to a bare address as one plain text part, with no
// HTML alternative and no sign-in link: for a mail-to-SMS gateway, which
// turns the body into the text. Errors carry neither the address nor the
// text.
func (s *Sender) SendPlain(ctx context.Context, to, subject, text string) error {
	secrets := s.secrets(flow.Delivery{To: to, Text: text})
	if local, _, ok := strings.Cut(to, "@"); ok {
		// The local part is the number.
		secrets = append(secrets, local)
	}
	msg, err := s.plainMessage(to, subject, text)
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

func (s *Sender) plainMessage(to, subject, text string) (*gomail.Msg, error) {
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || strings.ContainsAny(to, "\r\n<>") {
		return nil, errors.New("the recipient is not a bare email address")
	}
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errors.New("the subject has a line break")
	}
	m, err := s.newMsg(a.Address, subject)
	if err != nil {
		return nil, err
	}
	m.SetBodyString(gomail.TypeTextPlain, strings.ReplaceAll(text, "\r", ""))
	return m, nil
}

// newMsg is a message from sspr to one address, with the headers every
// message carries: an automatic message, no auto-replies.
func (s *Sender) newMsg(to, subject string) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.SetAddrHeader(gomail.HeaderFrom, s.from.String()); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(to); err != nil {
		return nil, errors.New("the recipient is not a usable email address")
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageIDWithValue(messageID(s.fromHost))
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	return m, nil
}
