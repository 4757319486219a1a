// Package mailpit starts a real mailpit SMTP server for tests, on free
// loopback ports with a database in a temporary directory, optionally with
// SMTP authentication and TLS from a certificate authority it makes, and
// reads the captured mail back through mailpit's HTTP API.
//
// The mailpit binary is looked up in PATH, then in $GOPATH/bin; it is
// installed with `go install github.com/axllent/mailpit@v1.33.1`. A missing
// binary fails the test: these tests exist to run against the real server.
package mailpit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/testpki"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

// TLSMode says how the server offers TLS on its SMTP port.
type TLSMode int

// The TLS modes of the SMTP port.
const (
	// NoTLS offers plain SMTP only.
	NoTLS TLSMode = iota
	// StartTLS offers STARTTLS; clients may also go on without it.
	StartTLS
	// RequireStartTLS refuses mail until the client has used STARTTLS.
	RequireStartTLS
	// ImplicitTLS speaks TLS from the first byte (SMTPS).
	ImplicitTLS
)

// Options shape the server.
type Options struct {
	// Users, when not empty, turns SMTP authentication on: login to password.
	Users map[string]string
	// TLS is how the SMTP port offers TLS, with a certificate for 127.0.0.1
	// and localhost signed by the harness's own certificate authority.
	TLS TLSMode
	// AllowInsecureAuth lets clients use PLAIN and LOGIN without TLS.
	AllowInsecureAuth bool
	// AllowedRecipients, when set, is a regular expression; RCPT TO of
	// any other address is refused with a 5xx reply.
	AllowedRecipients string
}

// Server is a running mailpit.
type Server struct {
	// SMTPHost and SMTPPort are where the SMTP server listens (127.0.0.1).
	SMTPHost string
	SMTPPort int
	// HTTPURL is the base of the web API, e.g. "http://127.0.0.1:8025".
	HTTPURL string
	// CAFile is the PEM certificate of the authority that signed the
	// server's certificate; empty without TLS.
	CAFile string

	t     testing.TB
	bin   string
	dir   string
	opts  Options
	label string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{}
	out    *testserver.SyncBuffer
}

// Binary returns the path of the mailpit binary, or an error saying how to
// install it.
func Binary() (string, error) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("mailpit not found in PATH or $GOPATH/bin: install it with `go install github.com/axllent/mailpit@v1.33.1` (scripts/test.sh does)")
}

// Start starts mailpit and waits until it answers on both ports. The server
// is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("%v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), opts: opts, SMTPHost: "127.0.0.1"}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.label = "sspr-test-" + hex.EncodeToString(b[:])
	if opts.TLS != NoTLS {
		if err := s.makeCertificates(); err != nil {
			t.Fatalf("mailpit certificates: %v", err)
		}
	}
	if len(opts.Users) > 0 {
		var lines []string
		for u, p := range opts.Users {
			lines = append(lines, u+":"+p)
		}
		sort.Strings(lines)
		if err := os.WriteFile(filepath.Join(s.dir, "smtp-users"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Stop)
	// A free port can be taken between finding it and binding it; try again.
	for attempt := 0; ; attempt++ {
		s.SMTPPort = FreePort(t)
		s.HTTPURL = "http://127.0.0.1:" + strconv.Itoa(FreePort(t))
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("mailpit: %v\n%s", err, s.out)
		}
	}
}

// SMTPAddr is the SMTP server's host:port.
func (s *Server) SMTPAddr() string {
	return net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort))
}

func (s *Server) args() []string {
	args := []string{
		"--smtp", s.SMTPAddr(),
		"--listen", strings.TrimPrefix(s.HTTPURL, "http://"),
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--label", s.label,
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--quiet",
	}
	if len(s.opts.Users) > 0 {
		args = append(args, "--smtp-auth-file", filepath.Join(s.dir, "smtp-users"))
	}
	if s.opts.AllowInsecureAuth {
		args = append(args, "--smtp-auth-allow-insecure")
	}
	if s.opts.TLS != NoTLS {
		args = append(args, "--smtp-tls-cert", filepath.Join(s.dir, "server.pem"), "--smtp-tls-key", filepath.Join(s.dir, "server-key.pem"))
	}
	if s.opts.AllowedRecipients != "" {
		args = append(args, "--smtp-allowed-recipients", s.opts.AllowedRecipients)
	}
	switch s.opts.TLS {
	case RequireStartTLS:
		args = append(args, "--smtp-require-starttls")
	case ImplicitTLS:
		args = append(args, "--smtp-require-tls")
	}
	return args
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = &testserver.SyncBuffer{}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.Dir = s.dir
	// The server on the ports must be ours: its label proves it.
	exited, err := testserver.Start(cmd, 20*time.Second, 50*time.Millisecond, func() (bool, error) { return s.ours() && s.smtpAnswers(), nil })
	if err != nil {
		return err
	}
	s.cmd, s.exited = cmd, exited
	return nil
}

// ours reports whether the HTTP port is served by this mailpit.
func (s *Server) ours() bool {
	var conf struct{ Label string }
	resp, err := httpClient.Get(s.HTTPURL + "/api/v1/webui")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&conf) != nil {
		return false
	}
	return conf.Label == s.label
}

// smtpAnswers reports whether the SMTP port accepts a connection.
func (s *Server) smtpAnswers() bool {
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop kills the server; its ports then refuse connections.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kill()
}

func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Log is what mailpit wrote to its standard output and error.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Summary is one entry of the message list.
type Summary struct {
	ID        string
	MessageID string
	From      *mail.Address
	To        []*mail.Address
	Subject   string
	Username  string
	Snippet   string
}

// Message is one captured message with its decoded parts.
type Message struct {
	ID        string
	MessageID string
	From      *mail.Address
	To        []*mail.Address
	Subject   string
	Date      time.Time
	Username  string
	Text      string
	HTML      string
}

// Messages lists the captured messages, newest first.
func (s *Server) Messages() ([]Summary, error) {
	var list struct{ Messages []Summary }
	if err := s.getJSON("/api/v1/messages", &list); err != nil {
		return nil, err
	}
	return list.Messages, nil
}

// Message returns the message with the database ID id.
func (s *Server) Message(id string) (Message, error) {
	var m Message
	err := s.getJSON("/api/v1/message/"+id, &m)
	return m, err
}

// Headers returns the message's headers as they were received.
func (s *Server) Headers(id string) (map[string][]string, error) {
	h := map[string][]string{}
	err := s.getJSON("/api/v1/message/"+id+"/headers", &h)
	return h, err
}

// Raw returns the message exactly as it was received.
func (s *Server) Raw(id string) ([]byte, error) {
	resp, err := httpClient.Get(s.HTTPURL + "/api/v1/message/" + id + "/raw")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("raw message %s: HTTP %d", id, resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// WaitMessages waits until at least n messages were captured and returns
// them, newest first; the test fails after timeout.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		list, err := s.Messages()
		if err == nil && len(list) >= n {
			return list
		}
		select {
		case <-ctx.Done():
			t.Fatalf("mailpit: %d messages after %v, want %d (last error %v)\n%s", len(list), timeout, n, err, s.Log())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// DeleteAll removes every captured message.
func (s *Server) DeleteAll() error {
	req, err := http.NewRequest(http.MethodDelete, s.HTTPURL+"/api/v1/messages", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("delete messages: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (s *Server) getJSON(path string, v any) error {
	resp, err := httpClient.Get(s.HTTPURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// makeCertificates writes a certificate authority (ca.pem) and a server
// certificate for 127.0.0.1, ::1 and localhost signed by it.
func (s *Server) makeCertificates() error {
	ca, err := testpki.NewCA("sspr test CA "+s.label, 24*time.Hour, x509.KeyUsageCRLSign)
	if err != nil {
		return err
	}
	srv, err := ca.Issue("127.0.0.1", x509.ExtKeyUsageServerAuth, "127.0.0.1", "::1", "localhost")
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.dir, "ca.pem")
	if err := ca.WriteCert(s.CAFile); err != nil {
		return err
	}
	if err := srv.WriteCert(filepath.Join(s.dir, "server.pem")); err != nil {
		return err
	}
	return srv.WriteKey(filepath.Join(s.dir, "server-key.pem"), testpki.SEC1)
}

// httpClient bounds every API call, so a hung server fails the test
// instead of holding it.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// FreePort returns a loopback port that is free now and that no other
// caller in this test binary was given.
func FreePort(t testing.TB) int {
	t.Helper()
	return testserver.FreePort(t)
}
