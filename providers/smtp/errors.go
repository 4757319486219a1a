package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"syscall"

	gomail "github.com/wneessen/go-mail"
)

// Error is a failed delivery or check: the step that failed (Op) and what
// went wrong, in words fit for a log line. Its message never carries the
// password, the recipient or the message text; Unwrap gives the underlying
// error for errors.Is and errors.As.
type Error struct {
	Op string
	// Temporary is true when the server or the network may accept a later
	// try (a 4xx reply, a timeout, a refused connection).
	Temporary bool
	msg       string
	err       error
}

func (e *Error) Error() string { return "smtp: " + e.Op + ": " + e.msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.err }

// fail describes err, the outcome of step op, for an operator: the likely
// cause first, then the server's or the library's words, with secrets out.
func (s *Sender) fail(ctx context.Context, op string, err error, secrets []string) error {
	e := &Error{Op: op, err: err}
	detail := redact(err.Error(), secrets)
	var (
		netErr   net.Error
		tpErr    *textproto.Error
		sendErr  *gomail.SendError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case ctx.Err() != nil:
		e.Temporary = true
		e.msg = fmt.Sprintf("gave up (%v): %s", ctx.Err(), detail)
		e.err = fmt.Errorf("%w: %w", ctx.Err(), err)
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Temporary = true
		e.msg = "connection refused: is the relay running and listening on this port? (" + detail + ")"
	case errors.As(err, &netErr) && netErr.Timeout():
		e.Temporary = true
		e.msg = fmt.Sprintf("no answer within %v: %s", s.cfg.Timeout, detail)
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		e.msg = "the server's TLS certificate is not trusted for " + s.cfg.Host + " (check the host name, or set ca_file): " + detail
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		e.msg = "the server does not offer STARTTLS (use tls: implicit for port 465): " + detail
	case strings.Contains(err.Error(), "does not support SMTP AUTH"):
		e.msg = "the server offers no authentication on this connection, but a username is configured: " + detail
	case strings.Contains(err.Error(), "SMTP AUTH failed") || errors.As(err, &tpErr) && (tpErr.Code == 535 || tpErr.Code == 534 || tpErr.Code == 530) && !errors.As(err, &sendErr):
		e.msg = "authentication refused (check the username and the password): " + detail
	case errors.As(err, &sendErr):
		e.Temporary = sendErr.IsTemp()
		code := ""
		if c := sendErr.ErrorCode(); c != 0 {
			code = fmt.Sprintf(" (%d", c)
			if esc := sendErr.EnhancedStatusCode(); esc != "" {
				code += " " + esc
			}
			code += ")"
		}
		e.msg = "the server refused the message" + code + ": " + detail
	default:
		var tlsErr tls.RecordHeaderError
		if errors.As(err, &tlsErr) {
			e.msg = "the server did not answer in TLS (is this the right port for tls: " + string(s.cfg.TLS) + "?): " + detail
		} else {
			e.msg = detail
		}
	}
	return e
}
