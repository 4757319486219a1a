// Package smsgateway texts codes through any HTTP SMS gateway: one request
// per text, built from the delivery.http block of sspr.yaml (a URL, a
// method, headers, a secret header and a body template), and judged a
// success by its status code and, optionally, by one value of its JSON
// answer.
//
// The body template knows four placeholders: {to} (the stored number in
// E.164, with its +), {number} (the same without the +), {message} (the
// text) and {lang} (its language, "en"). Each value is escaped for where
// it lands: as the inside of a JSON string when content_type is
// application/json, form-encoded when it is
// application/x-www-form-urlencoded, as is otherwise. With method GET the
// placeholders go into the URL's query instead, form-encoded, and there is
// no body.
//
// Neither the message nor the secret is ever logged or put into an error;
// an error names the status code and at most a short, sanitized part of
// the answer, with the number, the message and the secret taken out.
package smsgateway

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// DefaultTimeout bounds one request to the gateway.
const DefaultTimeout = 10 * time.Second

// The content types whose placeholders are escaped.
const (
	ContentJSON = "application/json"
	ContentForm = "application/x-www-form-urlencoded"
)

// Config is an HTTP SMS gateway: the delivery.http block of sspr.yaml,
// decoded over Default. HTTPClient is set in code.
type Config struct {
	URL    string `yaml:"url" doc:"the gateway's endpoint (https; http only to a loopback host); with GET its query may hold the placeholders"`
	Method string `yaml:"method" default:"POST" doc:"POST or GET"`
	// Headers are sent with every request; they must hold no secret (the
	// file is read by people who may not see the gateway's key).
	Headers map[string]string `yaml:"headers" doc:"extra request headers, name: value; no secrets here (use secret_header)"`
	// SecretHeader carries Secret, e.g. Authorization with "Bearer ..." or
	// X-API-Key.
	SecretHeader string        `yaml:"secret_header" doc:"the header that carries secret, e.g. Authorization or X-API-Key"`
	Secret       config.Secret `yaml:"secret" doc:"the value of secret_header (e.g. \"Bearer abc...\"), inline, in a file or in an environment variable (one of the three)"`
	Body         string        `yaml:"body" doc:"the request body with {to}, {number}, {message} and {lang}, escaped for content_type; empty with GET"`
	ContentType  string        `yaml:"content_type" default:"application/json" doc:"the body's type: application/json and application/x-www-form-urlencoded escape the placeholders, anything else takes them as they are"`
	// SuccessStatus lists the status codes that mean sent; empty means
	// any 2xx.
	SuccessStatus []int `yaml:"success_status" default:"any 2xx" doc:"the status codes that mean the text was accepted"`
	// SuccessJSONPath and SuccessValue, when set, also require the JSON
	// answer to hold SuccessValue at the dotted path (status, or
	// messages.0.status).
	SuccessJSONPath string        `yaml:"success_json_path" doc:"a dotted path into the JSON answer (e.g. status, or messages.0.status) that must equal success_value"`
	SuccessValue    string        `yaml:"success_value" doc:"the value success_json_path must hold (compared as text: queued, true, 0)"`
	ProbeURL        string        `yaml:"probe_url" doc:"checked by sspr check with a GET (headers and secret header included; success is 2xx) instead of a TLS connect to url's host"`
	Timeout         time.Duration `yaml:"timeout" range:"1s..1m" doc:"one request; a failure or timeout offers the person another method"`

	// HTTPClient sends the requests (a client of its own when nil). It
	// must not follow redirects.
	HTTPClient *http.Client `yaml:"-"`
}

// Default is the delivery.http block before the file's keys.
func Default() Config {
	return Config{Method: http.MethodPost, ContentType: ContentJSON, Timeout: DefaultTimeout}
}

// SetDefaults gives a delivery.http block its defaults.
func (c *Config) SetDefaults() { *c = Default() }

var (
	placeholderRE = regexp.MustCompile(`\{[A-Za-z0-9_]*\}`)
	headerNameRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	e164RE        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	placeholders  = map[string]bool{"{to}": true, "{number}": true, "{message}": true, "{lang}": true}
)

// Validate checks the keys of the block, every rule at once, with paths
// relative to it (url, secret_header, body...). The range of timeout is
// its tag's; config.Load checks it.
func (c Config) Validate() error { return c.problems().Err() }

func (c Config) problems() config.Errors {
	var es config.Errors
	q := func(v string) string { return fmt.Sprintf("%q", flow.Sanitize(v, 80)) }
	method := strings.ToUpper(c.Method)
	if method == "" {
		method = http.MethodPost
	}
	if method != http.MethodPost && method != http.MethodGet {
		es.Add("method", "%s is not allowed (POST or GET)", q(c.Method))
	}
	if err := checkURL(c.URL, method == http.MethodGet); err != nil {
		es.Add("url", "%v", err)
	}
	if c.ProbeURL != "" {
		if err := checkURL(c.ProbeURL, false); err != nil {
			es.Add("probe_url", "%v", err)
		}
	}
	for name, v := range c.Headers {
		switch {
		case !headerNameRE.MatchString(name):
			es.Add("headers."+name, "is not a header name")
		case strings.ContainsAny(v, "\r\n\x00"):
			es.Add("headers."+name, "has a line break or NUL in its value")
		case strings.EqualFold(name, "Content-Type"):
			es.Add("headers."+name, "is set by content_type")
		case strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization") || strings.EqualFold(name, c.SecretHeader):
			es.Add("headers."+name, "carries a secret: give it as secret_header with secret, secret_file or secret_env")
		case strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length"):
			es.Add("headers."+name, "is set by sspr")
		}
	}
	switch {
	case c.SecretHeader != "" && !headerNameRE.MatchString(c.SecretHeader):
		es.Add("secret_header", "%s is not a header name", q(c.SecretHeader))
	case c.SecretHeader != "" && !c.Secret.IsSet():
		es.Add("secret", "is missing: secret_header %s needs a value (secret, secret_file or secret_env)", q(c.SecretHeader))
	case c.SecretHeader == "" && c.Secret.IsSet():
		es.Add("secret_header", "is empty, yet a secret is set (name the header that carries it)")
	}
	if c.ContentType != "" {
		if _, _, err := mime.ParseMediaType(c.ContentType); err != nil || strings.ContainsAny(c.ContentType, "\r\n") {
			es.Add("content_type", "%s is not a media type", q(c.ContentType))
		}
	}
	switch {
	case method == http.MethodGet && c.Body != "":
		es.Add("body", "is set with method GET: put the placeholders in the url's query")
	case method == http.MethodPost && !strings.Contains(c.Body, "{message}"):
		es.Add("body", "has no {message}: the text would not be sent")
	case method == http.MethodPost && !strings.Contains(c.Body, "{to}") && !strings.Contains(c.Body, "{number}") && !strings.Contains(c.URL, "{to}") && !strings.Contains(c.URL, "{number}"):
		es.Add("body", "has no {to} or {number}: the gateway would not know where to send")
	}
	for _, kv := range [][2]string{{"url", c.URL}, {"body", c.Body}} {
		for _, p := range placeholderRE.FindAllString(kv[1], -1) {
			if !placeholders[p] {
				es.Add(kv[0], "%s is not a placeholder ({to}, {number}, {message} or {lang})", q(p))
				break
			}
		}
	}
	switch {
	case method == http.MethodGet && !strings.Contains(c.URL, "{message}"):
		es.Add("url", "has no {message} in its query: with GET the text goes there")
	case method == http.MethodGet && !strings.Contains(c.URL, "{to}") && !strings.Contains(c.URL, "{number}"):
		es.Add("url", "has no {to} or {number} in its query: the gateway would not know where to send")
	}
	for i, s := range c.SuccessStatus {
		if s < 100 || s > 599 {
			es.Add(fmt.Sprintf("success_status[%d]", i), "%d is not an HTTP status code", s)
		}
	}
	switch {
	case c.SuccessJSONPath != "" && c.SuccessValue == "":
		es.Add("success_value", "is empty, yet success_json_path is set")
	case c.SuccessJSONPath == "" && c.SuccessValue != "":
		es.Add("success_json_path", "is empty, yet success_value is set")
	case c.SuccessJSONPath != "" && (strings.HasPrefix(c.SuccessJSONPath, ".") || strings.HasSuffix(c.SuccessJSONPath, ".") || strings.Contains(c.SuccessJSONPath, "..")):
		es.Add("success_json_path", "%s is not a dotted path (e.g. status or messages.0.status)", q(c.SuccessJSONPath))
	}
	return es
}

// checkURL accepts an absolute https URL without credentials or fragment,
// or http to a loopback host (a local relay, or a test). query allows
// placeholders in the query.
func checkURL(raw string, query bool) error {
	u, err := url.Parse(placeholderRE.ReplaceAllString(raw, "x"))
	switch {
	case raw == "":
		return fmt.Errorf("is empty (the gateway's https:// URL)")
	case err != nil || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", flow.Sanitize(raw, 80))
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
		return fmt.Errorf("%q is not allowed: https only (http to a loopback host only)", flow.Sanitize(raw, 80))
	case u.User != nil:
		return fmt.Errorf("%q has a user name or password: use secret_header", flow.Sanitize(raw, 80))
	case u.Fragment != "" || strings.ContainsAny(raw, " \r\n\"<>"):
		return fmt.Errorf("%q has a fragment, spaces or quotes", flow.Sanitize(raw, 80))
	case !query && placeholderRE.MatchString(raw):
		return fmt.Errorf("%q has placeholders: only a GET url's query may", flow.Sanitize(raw, 80))
	case query && placeholderRE.MatchString(strings.SplitN(raw, "?", 2)[0]):
		return fmt.Errorf("%q has placeholders before its query", flow.Sanitize(raw, 80))
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
