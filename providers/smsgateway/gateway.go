package smsgateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// maxAnswer bounds what is read of the gateway's answer.
const maxAnswer = 64 << 10

// Sender is an HTTP SMS gateway as a flow.Sender for texts. It is safe
// for concurrent use.
type Sender struct {
	cfg    Config
	method string
	secret string
	http   *http.Client
}

var _ flow.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. It sends nothing. A wrong key is
// reported as Validate reports it (config.Errors, with paths relative to
// the block); New also accepts a timeout under 1s, for tests. The secret
// is read if it was not already.
func New(cfg Config) (*Sender, error) {
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if cfg.ContentType == "" {
		cfg.ContentType = ContentJSON
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	es := cfg.problems()
	if cfg.Timeout < 0 {
		es.Add("timeout", "%v is not allowed (a positive duration)", cfg.Timeout)
	}
	secret := cfg.Secret.Value()
	if secret == "" && cfg.Secret.IsSet() {
		if err := cfg.Secret.Resolve("secret"); err != nil {
			es.Add("secret", "%v", err)
		}
		secret = cfg.Secret.Value()
	}
	if len(es) > 0 {
		return nil, es
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout: cfg.Timeout,
			// A redirect would carry the secret header to wherever the
			// answer points: it is a failure instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Sender{cfg: cfg, method: strings.ToUpper(cfg.Method), secret: secret, http: hc}, nil
}

// Deliver texts d.Text to d.To through the gateway.
func (s *Sender) Deliver(ctx context.Context, d flow.Delivery) error {
	if d.Method != flow.TextMobile {
		return fmt.Errorf("smsgateway: method %q is not a text", flow.Sanitize(string(d.Method), 32))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := s.request(ctx, d)
	if err != nil {
		return fmt.Errorf("smsgateway: %w", err)
	}
	hidden := s.hidden(d)
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("smsgateway: %s %s: %s", s.method, s.host(), redact(requestError(err), hidden))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if !s.statusOK(resp.StatusCode) {
		return fmt.Errorf("smsgateway: %s answered %d%s", s.host(), resp.StatusCode, excerpt(answer, hidden))
	}
	if s.cfg.SuccessJSONPath != "" {
		got, err := lookup(answer, s.cfg.SuccessJSONPath)
		if err != nil {
			return fmt.Errorf("smsgateway: %s answered %d, but %v%s", s.host(), resp.StatusCode, err, excerpt(answer, hidden))
		}
		if got != s.cfg.SuccessValue {
			return fmt.Errorf("smsgateway: %s answered %d, but %s is %q, not %q", s.host(), resp.StatusCode,
				s.cfg.SuccessJSONPath, flow.Sanitize(redact(got, hidden), 40), s.cfg.SuccessValue)
		}
	}
	return nil
}

// request builds the request of one text.
func (s *Sender) request(ctx context.Context, d flow.Delivery) (*http.Request, error) {
	values := map[string]string{
		"{to}":      d.To,
		"{number}":  strings.TrimPrefix(d.To, "+"),
		"{message}": d.Text,
		"{lang}":    d.Lang,
	}
	var req *http.Request
	var err error
	if s.method == http.MethodGet {
		u := render(s.cfg.URL, values, url.QueryEscape)
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	} else {
		body := render(s.cfg.Body, values, escaperFor(s.cfg.ContentType))
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", s.cfg.ContentType)
		}
	}
	if err != nil {
		// The URL is checked at start; whatever failed, say nothing of
		// the values.
		return nil, errors.New("the request could not be built")
	}
	s.headers(req)
	return req, nil
}

// headers adds the configured headers and the secret header.
func (s *Sender) headers(req *http.Request) {
	req.Header.Set("User-Agent", "sspr")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	if s.cfg.SecretHeader != "" {
		req.Header.Set(s.cfg.SecretHeader, s.secret)
	}
}

// escaperFor is how placeholders are escaped for a body of content type ct.
func escaperFor(ct string) func(string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == ContentJSON || strings.HasSuffix(mt, "+json"):
		return jsonEscape
	case mt == ContentForm:
		return url.QueryEscape
	}
	return func(v string) string { return v }
}

// jsonEscape is v as the inside of a JSON string (the template writes the
// quotes).
func jsonEscape(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}

// render replaces each known placeholder in tmpl, once, with its escaped
// value: a value is never read again for placeholders.
func render(tmpl string, values map[string]string, esc func(string) string) string {
	return placeholderRE.ReplaceAllStringFunc(tmpl, func(p string) string {
		if v, ok := values[p]; ok {
			return esc(v)
		}
		return p
	})
}

func (s *Sender) statusOK(code int) bool {
	if len(s.cfg.SuccessStatus) == 0 {
		return code >= 200 && code <= 299
	}
	for _, c := range s.cfg.SuccessStatus {
		if c == code {
			return true
		}
	}
	return false
}

// host names the gateway in errors: its host, never its query.
func (s *Sender) host() string {
	u, err := url.Parse(placeholderRE.ReplaceAllString(s.cfg.URL, "x"))
	if err != nil {
		return "the gateway"
	}
	return u.Host
}

// hidden are the strings no error may carry: the secret, the number (both
// ways), the text and any run of digits in it (a code).
func (s *Sender) hidden(d flow.Delivery) []string {
	out := []string{s.secret, d.To, strings.TrimPrefix(d.To, "+"), d.Text}
	return append(out, digitRuns.FindAllString(d.Text, -1)...)
}

var digitRuns = regexp.MustCompile(`[0-9]{4,}`)

// redact replaces every hidden string of four or more characters in msg.
func redact(msg string, hidden []string) string {
	for _, h := range hidden {
		if len(h) >= 4 {
			msg = strings.ReplaceAll(msg, h, "[redacted]")
		}
	}
	return msg
}

// excerpt is a short, sanitized start of the answer for an error, with
// the hidden strings out; empty when there is none.
func excerpt(answer []byte, hidden []string) string {
	t := strings.Join(strings.Fields(flow.Sanitize(redact(string(answer), hidden), 400)), " ")
	if t == "" {
		return ""
	}
	if r := []rune(t); len(r) > 80 {
		t = string(r[:80]) + "..."
	}
	return ": " + t
}

// requestError describes a failed request without the URL (whose query
// may hold the number and the text with GET).
func requestError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return err.Error()
}

// lookup finds the dotted path in a JSON answer and returns its value as
// text: a string as is, a number as written, true/false, null.
func lookup(answer []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", errors.New("the answer is not JSON")
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return "", fmt.Errorf("the answer has no %s", path)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("the answer has no %s", path)
			}
			v = x[i]
		default:
			return "", fmt.Errorf("the answer has no %s", path)
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "null", nil
	}
	return "", fmt.Errorf("%s is not a single value", path)
}

// ProbeKind says what Check does: "GET <probe_url>" or "TLS connect to
// <host>".
func (s *Sender) ProbeKind() string {
	if s.cfg.ProbeURL != "" {
		return "GET " + s.cfg.ProbeURL
	}
	u, _ := url.Parse(placeholderRE.ReplaceAllString(s.cfg.URL, "x"))
	if u.Scheme == "http" {
		return "TCP connect to " + hostPort(u)
	}
	return "DNS and TLS connect to " + hostPort(u)
}

// Check reaches the gateway without sending a text: a GET of probe_url
// (with the headers and the secret header; any 2xx is success) when it is
// set, else a DNS lookup and a TLS handshake with the url's host (a TCP
// connect for http to a loopback host).
func (s *Sender) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	hidden := []string{s.secret}
	if s.cfg.ProbeURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.ProbeURL, nil)
		if err != nil {
			return fmt.Errorf("smsgateway: probe_url: %w", err)
		}
		s.headers(req)
		resp, err := s.http.Do(req)
		if err != nil {
			return fmt.Errorf("smsgateway: probe: %s", redact(requestError(err), hidden))
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("smsgateway: probe answered %d%s", resp.StatusCode, excerpt(answer, hidden))
		}
		return nil
	}
	u, err := url.Parse(placeholderRE.ReplaceAllString(s.cfg.URL, "x"))
	if err != nil {
		return config.Errors{{Path: "url", Msg: "is not a URL"}}
	}
	d := &net.Dialer{Timeout: s.cfg.Timeout}
	if u.Scheme == "http" {
		c, err := d.DialContext(ctx, "tcp", hostPort(u))
		if err != nil {
			return fmt.Errorf("smsgateway: connect: %w", err)
		}
		return c.Close()
	}
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
	if tr, ok := s.http.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		td.Config = tr.TLSClientConfig.Clone()
		td.Config.ServerName = u.Hostname()
	}
	c, err := td.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return fmt.Errorf("smsgateway: TLS connect: %w", err)
	}
	return c.Close()
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return net.JoinHostPort(u.Hostname(), "443")
}
