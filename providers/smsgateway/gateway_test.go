package smsgateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

const (
	testSecret = "Bearer gw-Secret-0123456789"
	testNumber = "+4915112345678"
	testCode   = "48213957"
)

// A text with characters each escaping must handle.
func testText() string {
	return `Your code is ` + testCode + `. "Quotes" & ampersand + plus = equals\ back` + "\nnew line: ünïcode"
}

// seen is what the fake gateway received.
type seen struct {
	Method string
	Header http.Header
	Body   string
	Query  url.Values
}

// gateway is a fake gateway that records each request and answers with
// status and answer.
func gateway(t *testing.T, status int, answer string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.Header.Clone(), string(b), r.URL.Query()})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

func jsonConfig(u string) Config {
	c := Default()
	c.URL = u + "/v1/sms"
	c.Headers = map[string]string{"X-Tenant": "reset", "Accept": "application/json"}
	c.SecretHeader = "Authorization"
	c.Secret = config.InlineSecret(testSecret)
	c.Body = `{"to": "{to}", "text": "{message}", "lang": "{lang}"}`
	return c
}

func text() flow.Delivery {
	return flow.Delivery{Method: flow.TextMobile, Kind: flow.KindVerification, To: testNumber, Text: testText(), Lang: "de"}
}

func newSender(t *testing.T, c Config) *Sender {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func clean(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{testSecret, "gw-Secret", testCode, testNumber, strings.TrimPrefix(testNumber, "+"), "Quotes"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("the error carries %q: %v", s, err)
		}
	}
}

func TestJSONBody(t *testing.T) {
	srv, got := gateway(t, http.StatusCreated, `{"status":"queued"}`)
	if err := newSender(t, jsonConfig(srv.URL)).Deliver(context.Background(), text()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != ContentJSON {
		t.Fatalf("method %s, content type %q", r.Method, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Authorization") != testSecret || r.Header.Get("X-Tenant") != "reset" || r.Header.Get("Accept") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
	var body struct{ To, Text, Lang string }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("the body is not JSON: %v\n%s", err, r.Body)
	}
	if body.To != testNumber || body.Text != testText() || body.Lang != "de" {
		t.Fatalf("body %+v", body)
	}
}

func TestFormBody(t *testing.T) {
	srv, got := gateway(t, http.StatusOK, `ok`)
	c := jsonConfig(srv.URL)
	c.ContentType = ContentForm
	c.Body = "to={number}&text={message}&sender=Reset"
	if err := newSender(t, c).Deliver(context.Background(), text()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	form, err := url.ParseQuery(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("to") != strings.TrimPrefix(testNumber, "+") || form.Get("text") != testText() || form.Get("sender") != "Reset" || len(form) != 3 {
		t.Fatalf("form %v from %q", form, r.Body)
	}
}

func TestGetQuery(t *testing.T) {
	srv, got := gateway(t, http.StatusOK, `{}`)
	c := jsonConfig(srv.URL)
	c.Method = "GET"
	c.Body = ""
	c.URL = srv.URL + "/send?to={to}&msg={message}&lang={lang}"
	if err := newSender(t, c).Deliver(context.Background(), text()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.Method != http.MethodGet || r.Query.Get("to") != testNumber || r.Query.Get("msg") != testText() || r.Query.Get("lang") != "de" || r.Body != "" {
		t.Fatalf("got %+v", r)
	}
}

func TestAValueIsNotReadForPlaceholders(t *testing.T) {
	srv, got := gateway(t, http.StatusOK, `{}`)
	c := jsonConfig(srv.URL)
	c.ContentType = "text/plain"
	c.Body = "{to} {message}"
	d := text()
	d.Text = "code {to} {lang}"
	if err := newSender(t, c).Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if b := got()[0].Body; b != testNumber+" code {to} {lang}" {
		t.Fatalf("body %q", b)
	}
}

func TestSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, answer, path, value string
		status                    int
		statuses                  []int
		ok                        bool
		want                      string
	}{
		{name: "2xx", status: 202, ok: true},
		{name: "500", status: 500, answer: `{"error":"internal, to ` + testNumber + `"}`, want: "answered 500: "},
		{name: "3xx is not followed", status: 302, want: "answered 302"},
		{name: "listed status", status: 200, statuses: []int{201}, want: "answered 200"},
		{name: "listed status ok", status: 201, statuses: []int{201}, ok: true},
		{name: "json path", status: 200, answer: `{"data":{"status":"queued"}}`, path: "data.status", value: "queued", ok: true},
		{name: "json path in a list", status: 200, answer: `{"messages":[{"status":0}]}`, path: "messages.0.status", value: "0", ok: true},
		{name: "json bool", status: 200, answer: `{"ok":true}`, path: "ok", value: "true", ok: true},
		{name: "wrong json value", status: 200, answer: `{"data":{"status":"rejected"}}`, path: "data.status", value: "queued", want: `data.status is "rejected", not "queued"`},
		{name: "no such path", status: 200, answer: `{"data":{}}`, path: "data.status", value: "queued", want: "the answer has no data.status"},
		{name: "not json", status: 200, answer: `OK`, path: "status", value: "queued", want: "the answer is not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := gateway(t, tc.status, tc.answer)
			c := jsonConfig(srv.URL)
			c.SuccessStatus, c.SuccessJSONPath, c.SuccessValue = tc.statuses, tc.path, tc.value
			err := newSender(t, c).Deliver(context.Background(), text())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			clean(t, err)
		})
	}
}

func TestAnErrorIsShortAndSanitized(t *testing.T) {
	answer := "\x1b[31mbad secret " + testSecret + " for " + testNumber + ": " + testText() + strings.Repeat(" padding", 100)
	srv, _ := gateway(t, 401, answer)
	err := newSender(t, jsonConfig(srv.URL)).Deliver(context.Background(), text())
	if err == nil {
		t.Fatal("no error")
	}
	clean(t, err)
	if len(err.Error()) > 200 || strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %q", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := jsonConfig(srv.URL)
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	err := newSender(t, c).Deliver(context.Background(), text())
	if err == nil || !strings.Contains(err.Error(), "no answer in time") {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	clean(t, err)
}

func TestOnlyTexts(t *testing.T) {
	srv, got := gateway(t, 200, "")
	err := newSender(t, jsonConfig(srv.URL)).Deliver(context.Background(), flow.Delivery{Method: flow.CallMobile, To: testNumber, Text: "x"})
	if err == nil || len(got()) != 0 {
		t.Fatalf("err %v, %d requests", err, len(got()))
	}
}

func TestCheck(t *testing.T) {
	// Without probe_url: a TLS handshake with the url's host.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the check sent a request: %s %s", r.Method, r.URL)
	}))
	defer tlsSrv.Close()
	c := jsonConfig(tlsSrv.URL)
	c.HTTPClient = tlsSrv.Client()
	s := newSender(t, c)
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k := s.ProbeKind(); !strings.HasPrefix(k, "DNS and TLS connect to 127.0.0.1:") {
		t.Fatalf("kind %q", k)
	}
	// An untrusted certificate fails.
	c.HTTPClient = nil
	if err := newSender(t, c).Check(context.Background()); err == nil {
		t.Fatal("an untrusted certificate passed")
	}

	// With probe_url: a GET with the headers, 2xx or not.
	for _, status := range []int{200, 403} {
		srv, got := gateway(t, status, `{"balance":3}`)
		c := jsonConfig(srv.URL)
		c.ProbeURL = srv.URL + "/v1/balance"
		s := newSender(t, c)
		err := s.Check(context.Background())
		if (err == nil) != (status == 200) {
			t.Fatalf("status %d: err %v", status, err)
		}
		if err != nil {
			clean(t, err)
		}
		r := got()[0]
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != testSecret || s.ProbeKind() != "GET "+c.ProbeURL {
			t.Fatalf("probe %+v, kind %q", r, s.ProbeKind())
		}
	}
}

func TestValidate(t *testing.T) {
	ok := jsonConfig("https://sms.example.net")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		paths []string
	}{
		{"http to a remote host", func(c *Config) { c.URL = "http://sms.example.net/send" }, []string{"url"}},
		{"http to loopback", func(c *Config) { c.URL = "http://127.0.0.1:8080/send" }, nil},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url"}},
		{"credentials in the url", func(c *Config) { c.URL = "https://u:p@sms.example.net/" }, []string{"url"}},
		{"method", func(c *Config) { c.Method = "PUT" }, []string{"method"}},
		{"secret in headers", func(c *Config) { c.Headers = map[string]string{"authorization": "Bearer x"} }, []string{"headers.authorization"}},
		{"bad header", func(c *Config) { c.Headers = map[string]string{"X-A": "a\r\nX-B: b"} }, []string{"headers.X-A"}},
		{"secret without header", func(c *Config) { c.SecretHeader = "" }, []string{"secret_header"}},
		{"header without secret", func(c *Config) { c.Secret = config.Secret{} }, []string{"secret"}},
		{"no message", func(c *Config) { c.Body = `{"to":"{to}"}` }, []string{"body"}},
		{"unknown placeholder", func(c *Config) { c.Body = `{"to":"{to}","m":"{message}","x":"{code}"}` }, []string{"body"}},
		{"get with body", func(c *Config) { c.Method = "GET"; c.URL += "?m={message}&to={to}" }, []string{"body"}},
		{"get without message", func(c *Config) { c.Method = "get"; c.Body = "" }, []string{"url"}},
		{"placeholder in a post url", func(c *Config) { c.URL += "?to={to}" }, []string{"url"}},
		{"get without number", func(c *Config) { c.Method = "GET"; c.Body = ""; c.URL += "?m={message}" }, []string{"url"}},
		{"unknown placeholder in a get url", func(c *Config) { c.Method = "GET"; c.Body = ""; c.URL += "?m={message}&to={to}&k={key}" }, []string{"url"}},
		{"status", func(c *Config) { c.SuccessStatus = []int{200, 99} }, []string{"success_status[1]"}},
		{"path without value", func(c *Config) { c.SuccessJSONPath = "status" }, []string{"success_value"}},
		{"value without path", func(c *Config) { c.SuccessValue = "queued" }, []string{"success_json_path"}},
		{"probe over http", func(c *Config) { c.ProbeURL = "http://sms.example.net/" }, []string{"probe_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := jsonConfig("https://sms.example.net")
			tc.edit(&c)
			err := c.Validate()
			var es config.Errors
			if tc.paths == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &es) {
				t.Fatalf("err %v", err)
			}
			var paths []string
			for _, e := range es {
				paths = append(paths, e.Path)
			}
			if strings.Join(paths, ",") != strings.Join(tc.paths, ",") {
				t.Fatalf("paths %v, want %v (%v)", paths, tc.paths, err)
			}
		})
	}
}

// file is the part of sspr.yaml that holds the blocks, as cmd composes it.
type file struct {
	HTTP      *Config          `yaml:"http"`
	Email2SMS *Email2SMSConfig `yaml:"email2sms"`
}

func TestConfigLoadsTheBlock(t *testing.T) {
	t.Setenv("SSPR_TEST_GW_SECRET", "Bearer from-env")
	var f file
	err := config.Load([]byte(`http:
  url: https://sms.example.net/v1/send
  headers:
    X-Tenant: reset
  secret_header: Authorization
  secret_env: SSPR_TEST_GW_SECRET
  body: '{"to": "{to}", "text": "{message}"}'
  success_status: [200, 201]
  success_json_path: status
  success_value: queued
email2sms:
  address: "{number}@sms.example.net"
`), &f)
	if err != nil {
		t.Fatal(err)
	}
	g := f.HTTP
	if g.Method != "POST" || g.ContentType != ContentJSON || g.Timeout != DefaultTimeout || g.Headers["X-Tenant"] != "reset" ||
		g.Secret.Value() != "Bearer from-env" || len(g.SuccessStatus) != 2 || f.Email2SMS.Subject != DefaultEmail2SMSSubject {
		t.Fatalf("got %+v %+v", g, f.Email2SMS)
	}
	f = file{}
	err = config.Load([]byte("http:\n  url: http://sms.example.net/\n  timeout: 2m\n  body: x\n"), &f)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"http.url", "http.timeout", "http.body"} {
		if !strings.Contains(err.Error(), want+": ") {
			t.Errorf("no %s in %v", want, err)
		}
	}
}
