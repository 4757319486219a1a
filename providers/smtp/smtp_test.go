package smtp

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/mailpit"
)

const (
	testUser     = "relay-user"
	testPassword = "Relay-Pa55word-Secret"
	testCode     = "48213957"
)

func codeText() string {
	return "Your password reset verification code is " + testCode + ". It expires in 5 minutes. If you did not ask for it, ignore this message."
}

// secureServer is mailpit requiring STARTTLS and authentication.
func secureServer(t *testing.T) *mailpit.Server {
	return mailpit.Start(t, mailpit.Options{Users: map[string]string{testUser: testPassword}, TLS: mailpit.RequireStartTLS})
}

func configFor(srv *mailpit.Server) Config {
	return Config{Host: srv.SMTPHost, Port: srv.SMTPPort, From: "Password reset <reset@example.com>",
		Username: testUser, Password: config.InlineSecret(testPassword), CAFile: srv.CAFile, Timeout: 5 * time.Second}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// only returns the one message mailpit holds.
func only(t *testing.T, srv *mailpit.Server) mailpit.Message {
	t.Helper()
	list := srv.WaitMessages(t, 1, 5*time.Second)
	if len(list) != 1 {
		t.Fatalf("%d messages, want 1", len(list))
	}
	m, err := srv.Message(list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noSecrets fails when err's message carries a secret.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testPassword, testCode) {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("the error carries a secret %q: %v", s, err)
		}
	}
}

func TestDeliverCodeOverStartTLS(t *testing.T) {
	srv := secureServer(t)
	s := newSender(t, configFor(srv))
	before := time.Now().Add(-time.Second)
	start := time.Now()
	err := s.Deliver(context.Background(), flow.Delivery{Method: flow.EmailAltern, To: "alice@example.com", Text: codeText(), Lang: "de_DE.UTF-8"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one delivery over STARTTLS with AUTH: %v", time.Since(start))
	m := only(t, srv)
	if m.Subject != "Your password reset code" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.From == nil || m.From.Address != "reset@example.com" || m.From.Name != "Password reset" {
		t.Errorf("from %v", m.From)
	}
	if len(m.To) != 1 || m.To[0].Address != "alice@example.com" {
		t.Errorf("to %v", m.To)
	}
	if m.Username != testUser {
		t.Errorf("mailpit saw user %q: the message was not sent authenticated", m.Username)
	}
	if !strings.Contains(m.Text, codeText()) {
		t.Errorf("text part lacks the message:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `letter-spacing:2px">`+testCode+`</strong>`) || !strings.Contains(m.HTML, "It expires in 5 minutes.") {
		t.Errorf("HTML part lacks the code:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, `<html lang="de-DE">`) {
		t.Errorf("HTML part lacks the language:\n%s", m.HTML)
	}
	if m.Date.Before(before) || m.Date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date %v, want about now", m.Date)
	}
	h, err := srv.Headers(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h["Date"]) != 1 {
		t.Errorf("Date header %q", h["Date"])
	} else if _, err := mail.ParseDate(h["Date"][0]); err != nil {
		t.Errorf("Date header %q: %v", h["Date"][0], err)
	}
	if id := h["Message-Id"]; len(id) != 1 || !strings.HasPrefix(id[0], "<") || !strings.HasSuffix(id[0], "@example.com>") || len(id[0]) < 40 {
		t.Errorf("Message-ID %q, want a random one in the sender's domain", id)
	}
	if got := h["Auto-Submitted"]; len(got) != 1 || got[0] != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if got := h["Content-Language"]; len(got) != 1 || got[0] != "de-DE" {
		t.Errorf("Content-Language %q", got)
	}
	if ua := h["User-Agent"]; len(ua) != 0 {
		t.Errorf("User-Agent %q: the library's version need not leave", ua)
	}
	raw, err := srv.Raw(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "multipart/alternative") || !strings.Contains(string(raw), "text/plain") || !strings.Contains(string(raw), "text/html") {
		t.Errorf("not a multipart/alternative with both parts:\n%s", raw)
	}
}

func TestDeliverNoticeEscapesAndLinksFromConfigOnly(t *testing.T) {
	srv := secureServer(t)
	cfg := configFor(srv)
	cfg.SignInURL = "https://login.example.com/?from=reset&x=1"
	s := newSender(t, cfg)
	text := `Your password was reset on 3 March 2026 at 10:04 UTC from 192.0.2.7 over SSH, verified by a code. <script>alert("x")</script> & https://evil.example/ If this wasn't you, call the helpdesk.`
	if err := s.Deliver(context.Background(), flow.Delivery{Kind: flow.KindNotice, Method: flow.EmailAltern, To: "bob@example.com", Text: text}); err != nil {
		t.Fatal(err)
	}
	m := only(t, srv)
	if m.Subject != "Your password was reset" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, text) || !strings.Contains(m.Text, "Sign in: https://login.example.com/?from=reset&x=1") {
		t.Errorf("text part:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("the HTML part does not escape the text:\n%s", m.HTML)
	}
	if strings.Contains(m.HTML, `href="https://evil.example`) {
		t.Errorf("a URL in the text became a link:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, `<a href="https://login.example.com/?from=reset&amp;x=1">`) {
		t.Errorf("no sign-in link from the config:\n%s", m.HTML)
	}
	if strings.Contains(m.HTML, "<strong") {
		t.Errorf("a notice has no code to set apart:\n%s", m.HTML)
	}
	if strings.Contains(m.HTML, "lang=") {
		t.Errorf("no language was given, yet the HTML names one:\n%s", m.HTML)
	}
}

func TestDeliverImplicitTLS(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{testUser: testPassword}, TLS: mailpit.ImplicitTLS})
	cfg := configFor(srv)
	cfg.TLS = ImplicitTLS
	s := newSender(t, cfg)
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("check: %v", err)
	}
	if err := s.Deliver(context.Background(), flow.Delivery{To: "carol@example.com", Text: codeText()}); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.Username != testUser || !strings.Contains(m.Text, testCode) {
		t.Fatalf("got %+v", m)
	}
	// STARTTLS against an implicit TLS port fails: both sides wait for
	// the other to speak first.
	cfg.TLS, cfg.Timeout = StartTLS, 500*time.Millisecond
	err := newSender(t, cfg).Check(context.Background())
	if err == nil {
		t.Fatal("STARTTLS against an SMTPS port succeeded")
	}
	t.Logf("starttls against implicit: %v", err)
}

func TestPlainLoopbackRelay(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{testUser: testPassword}, AllowInsecureAuth: true})
	cfg := configFor(srv)
	cfg.TLS, cfg.CAFile = NoTLS, ""
	s := newSender(t, cfg)
	if err := s.Deliver(context.Background(), flow.Delivery{To: "dave@example.com", Text: codeText()}); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.Username != testUser {
		t.Fatalf("not authenticated: %+v", m)
	}
	// The default, STARTTLS, refuses a server that does not offer it.
	cfg.TLS = StartTLS
	err := newSender(t, cfg).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("starttls against a plain server: %v", err)
	}
}

func TestUntrustedCertificateRefused(t *testing.T) {
	srv := secureServer(t)
	cfg := configFor(srv)
	cfg.CAFile = "" // the system roots do not know the harness's CA
	err := newSender(t, cfg).Deliver(context.Background(), flow.Delivery{To: "alice@example.com", Text: codeText()})
	if err == nil || !strings.Contains(err.Error(), "certificate is not trusted") {
		t.Fatalf("got %v", err)
	}
	noSecrets(t, err, "alice@example.com")
	if msgs, _ := srv.Messages(); len(msgs) != 0 {
		t.Fatalf("%d messages went out over an untrusted connection", len(msgs))
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	srv := secureServer(t)
	cfg := configFor(srv)
	cfg.Password = config.InlineSecret("Wrong-Pa55word-Guess")
	s := newSender(t, cfg)
	err := s.Deliver(context.Background(), flow.Delivery{To: "alice@example.com", Text: codeText()})
	if err == nil || !strings.Contains(err.Error(), "authentication refused") {
		t.Fatalf("got %v", err)
	}
	noSecrets(t, err, "Wrong-Pa55word-Guess", "alice@example.com")
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Op, "connect to ") {
		t.Fatalf("not an *Error of the connect step: %#v", err)
	}
	t.Logf("wrong password: %v", err)
	if cerr := s.Check(context.Background()); cerr == nil || !strings.Contains(cerr.Error(), "authentication refused") {
		t.Fatalf("check: %v", cerr)
	}
	if msgs, _ := srv.Messages(); len(msgs) != 0 {
		t.Fatalf("%d messages went out with a wrong password", len(msgs))
	}
}

func TestRecipientRefusedHidesAddressAndCode(t *testing.T) {
	srv := mailpit.Start(t, mailpit.Options{Users: map[string]string{testUser: testPassword}, TLS: mailpit.StartTLS,
		AllowedRecipients: `@example\.com$`})
	s := newSender(t, configFor(srv))
	err := s.Deliver(context.Background(), flow.Delivery{To: "mallory@example.org", Text: codeText()})
	if err == nil || !strings.Contains(err.Error(), "refused the message") {
		t.Fatalf("got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Temporary {
		t.Fatalf("a 5xx refusal should be permanent: %#v", err)
	}
	noSecrets(t, err, "mallory@example.org", codeText())
	t.Logf("refused recipient: %v", err)
}

func TestCheck(t *testing.T) {
	srv := secureServer(t)
	s := newSender(t, configFor(srv))
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if msgs, _ := srv.Messages(); len(msgs) != 0 {
		t.Fatalf("check sent %d messages", len(msgs))
	}
	// A username the server cannot authenticate on this connection.
	plain := mailpit.Start(t, mailpit.Options{TLS: mailpit.StartTLS})
	err := newSender(t, configFor(plain)).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no authentication") {
		t.Fatalf("check with AUTH against a server without it: %v", err)
	}
	noSecrets(t, err)
	// Without a username, the same server is fine.
	cfg := configFor(plain)
	cfg.Username, cfg.Password = "", config.Secret{}
	if err := newSender(t, cfg).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServerDownFailsFast(t *testing.T) {
	srv := secureServer(t)
	s := newSender(t, configFor(srv))
	srv.Stop()
	start := time.Now()
	err := s.Deliver(context.Background(), flow.Delivery{To: "alice@example.com", Text: codeText()})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || !e.Temporary {
		t.Fatalf("a refused connection should be temporary: %#v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	noSecrets(t, err, "alice@example.com")
}

// hungServer accepts connections and never says a word.
func hungServer(t *testing.T) (host string, port int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	h, p, _ := net.SplitHostPort(l.Addr().String())
	port, _ = strconv.Atoi(p)
	return h, port
}

func TestSilentServerTimesOut(t *testing.T) {
	host, port := hungServer(t)
	s := newSender(t, Config{Host: host, Port: port, From: "reset@example.com", Timeout: 300 * time.Millisecond})
	start := time.Now()
	err := s.Deliver(context.Background(), flow.Delivery{To: "alice@example.com", Text: codeText()})
	d := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("got %v", err)
	}
	if d > 2*time.Second {
		t.Fatalf("took %v with a 300ms timeout", d)
	}
	t.Logf("silent server: error after %v: %v", d, err)
	// The caller's context ends it sooner.
	s = newSender(t, Config{Host: host, Port: port, From: "reset@example.com", Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = s.Check(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v with a 200ms context", d)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	srv := secureServer(t)
	s := newSender(t, configFor(srv))
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Deliver(context.Background(), flow.Delivery{To: "user" + strconv.Itoa(i) + "@example.com", Text: codeText()})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d concurrent deliveries: %v", n, time.Since(start))
	srv.WaitMessages(t, n, 5*time.Second)
}

func TestNewRefuses(t *testing.T) {
	ok := Config{Host: "smtp.example.com", From: "reset@example.com"}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no host", func(c *Config) { c.Host = "" }, "host"},
		{"host with port", func(c *Config) { c.Host = "smtp.example.com:25" }, "host"},
		{"plain to a remote relay", func(c *Config) { c.TLS = NoTLS }, "loopback"},
		{"unknown tls", func(c *Config) { c.TLS = "ssl" }, "starttls, implicit or none"},
		{"port", func(c *Config) { c.Port = 70000 }, "port"},
		{"from not an address", func(c *Config) { c.From = "reset" }, "from: \"reset\" is not allowed"},
		{"from name with a newline", func(c *Config) { c.From = "Reset\r\nBcc: x@example.org <reset@example.com>" }, "from: "},
		{"from name too long", func(c *Config) { c.From = strings.Repeat("x", 129) + " <reset@example.com>" }, "more than 128 characters"},
		{"password without user", func(c *Config) { c.Password = config.InlineSecret("Relay-Pa55word-Secret") }, "username: is empty"},
		{"javascript link", func(c *Config) { c.SignInURL = "javascript:alert(1)" }, "https://"},
		{"plain http link", func(c *Config) { c.SignInURL = "http://login.example.com/" }, "https://"},
		{"link with credentials", func(c *Config) { c.SignInURL = "https://u:p@login.example.com/" }, "no user name"},
		{"helo", func(c *Config) { c.HELO = "bad name" }, "helo"},
		{"missing CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "CA file"},
	}
	for _, c := range cases {
		cfg := ok
		c.change(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		} else if strings.Contains(err.Error(), "Relay-Pa55word-Secret") {
			t.Errorf("%s: the error carries the password: %v", c.name, err)
		}
	}
	s, err := New(ok)
	if err != nil || s.Addr() != "smtp.example.com:587" {
		t.Fatalf("default port: %v %v", s, err)
	}
	for host, port := range map[string]int{"127.0.0.1": 25, "localhost": 25, "::1": 25} {
		s, err := New(Config{Host: host, From: "reset@example.com", TLS: NoTLS})
		if err != nil || s.cfg.Port != port {
			t.Errorf("loopback %s: %v", host, err)
		}
	}
	if s, err := New(Config{Host: "smtp.example.com", From: "reset@example.com", TLS: ImplicitTLS}); err != nil || s.cfg.Port != 465 {
		t.Errorf("implicit: %v", err)
	}
}

func TestDeliverRefusesBadRecipient(t *testing.T) {
	s := newSender(t, Config{Host: "127.0.0.1", Port: 1, From: "reset@example.com", TLS: NoTLS})
	for _, to := range []string{"", "not an address", "Alice <alice@example.com>", "alice@example.com\r\nBcc: x@example.org"} {
		err := s.Deliver(context.Background(), flow.Delivery{To: to, Text: codeText()})
		if err == nil || !strings.Contains(err.Error(), "compose") {
			t.Errorf("%q: got %v", to, err)
			continue
		}
		noSecrets(t, err)
	}
}

func TestLangTag(t *testing.T) {
	for in, want := range map[string]string{"": "", "de": "de", "de_DE.UTF-8": "de-DE", "pt-BR": "pt-BR", "C": "", "POSIX": "",
		"sr_RS@latin": "sr-RS", `en"><script>`: "", "x": ""} {
		if got := langTag(in); got != want {
			t.Errorf("langTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWordsFollowTheLanguage(t *testing.T) {
	srv := secureServer(t)
	cfg := configFor(srv)
	cfg.SignInURL = "https://login.example.com/"
	cfg.Words = func(lang string) Words {
		if lang == "de" {
			return Words{CodeSubject: "Ihr Code zum Zurücksetzen des Kennworts", NoticeSubject: "Bcc: x\r\n", SignIn: "Anmelden"}
		}
		return Words{}
	}
	s := newSender(t, cfg)
	if err := s.Deliver(context.Background(), flow.Delivery{To: "alice@example.com", Text: "Ihr Code lautet 12345678.", Lang: "de"}); err != nil {
		t.Fatal(err)
	}
	m := only(t, srv)
	if m.Subject != "Ihr Code zum Zurücksetzen des Kennworts" || !strings.Contains(m.Text, "Anmelden: https://login.example.com/") {
		t.Fatalf("subject %q, text:\n%s", m.Subject, m.Text)
	}
	// A subject with control characters falls back to English.
	if got := s.words("de").NoticeSubject; got != EnglishWords.NoticeSubject {
		t.Fatalf("notice subject %q", got)
	}
	if got := s.words("fr"); got != EnglishWords {
		t.Fatalf("fr: %+v", got)
	}
}

// TestDeliverTakesFlowsSubject: flow's title (an unlock notice, say, in the
// session's language) becomes the subject; one with a line break is not
// used, so no header can be injected through it.
func TestDeliverTakesFlowsSubject(t *testing.T) {
	srv := secureServer(t)
	s := newSender(t, configFor(srv))
	d := flow.Delivery{Kind: flow.KindNotice, Method: flow.EmailAltern, To: "bob@example.com",
		Text: "Ihr Konto wurde entsperrt.", Subject: "Ihr Konto wurde entsperrt", Lang: "de"}
	if err := s.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.Subject != "Ihr Konto wurde entsperrt" {
		t.Fatalf("subject %q", m.Subject)
	}
	if err := srv.DeleteAll(); err != nil {
		t.Fatal(err)
	}
	d.Subject = "Hello\r\nBcc: victim@example.com"
	if err := s.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.Subject != EnglishWords.NoticeSubject {
		t.Fatalf("subject %q", m.Subject)
	}
}
