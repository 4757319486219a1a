// Package twilio texts codes and places number-matching calls through
// Twilio's REST API (2010-04-01): the Messages resource for texts, the Calls
// resource for calls. A call asks the person, in their language, to key in
// the number shown on their screen; the keys come back to sspr's HTTP side
// listener as a signed webhook (see Hooks), which hands them to the engine.
//
// Answering machines are detected before anything is said (synchronous
// machine detection): a machine gets a hang-up and counts as no answer.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// DefaultTimeout bounds one API request.
const DefaultTimeout = 10 * time.Second

// callDigits is how many keys a call gathers: flow's number matching shows
// a number from 10 to 99.
const callDigits = 2

// ringTimeout is how long a call rings before Twilio gives up (no-answer).
const ringTimeout = 30

// callTimeLimit bounds a call, in seconds: the prompt is said twice and
// the keys are waited for, nothing more.
const callTimeLimit = 120

// maxErrorBody bounds what is read of an API answer.
const maxErrorBody = 64 << 10

// Paths of the webhooks on the side listener, under the public URL.
const (
	// VoicePath is where a call's answer and its keys are posted; the
	// pending approval's token follows.
	VoicePath = "/hooks/twilio/voice/"
	// StatusPath is where the final status of a call or a text is posted.
	StatusPath = "/hooks/twilio/status"
)

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Config is a Twilio account and how sspr uses it: the delivery.twilio
// block of sspr.yaml, decoded over Default. PublicURL, HTTPClient, Log and
// Observe are set in code.
type Config struct {
	// AccountSID ("AC" and 32 hex digits) names the account; with AuthToken
	// it signs in every request (HTTP Basic) and keys webhook signatures.
	AccountSID string        `yaml:"account_sid" doc:"the Twilio account (AC + 32 hex digits)"`
	AuthToken  config.Secret `yaml:"auth_token" doc:"its auth token, inline, in a file or in an environment variable (exactly one)"`
	// From is the Twilio number texts and calls come from (E.164).
	// MessagingServiceSID ("MG...") may send texts instead; calls always
	// need From (a rule of the methods, which the caller checks).
	From                string `yaml:"from" doc:"the number texts and calls come from (E.164); calls need it"`
	MessagingServiceSID string `yaml:"messaging_service_sid" doc:"a messaging service for texts instead of from"`
	// APIURL is the REST API's base (DefaultAPIURL when empty).
	APIURL string `yaml:"api_url" doc:"the REST API's base URL"`
	// Timeout bounds each API request (DefaultTimeout when zero).
	Timeout time.Duration `yaml:"timeout" range:"1s..1m" doc:"one API request; a failure or timeout offers the person another method"`
	// PublicURL is the base URL under which Twilio reaches sspr's side
	// listener, e.g. https://reset.example.com. Calls need it; texts use it
	// for delivery reports when it is set. Links are built only from it.
	PublicURL string `yaml:"-"`
	// HTTPClient sends the requests (a client of its own when nil).
	HTTPClient *http.Client `yaml:"-"`
	// Log receives operational lines (never a token, a code or a number
	// keyed); nil discards them.
	Log *slog.Logger `yaml:"-"`
	// Observe, when set, is told what each webhook brought: "answered",
	// "machine", "no-answer", "busy", "failed", "bad_signature",
	// "unknown_token" and the like, for metrics.
	Observe func(event string) `yaml:"-"`
}

// Default is the delivery.twilio block before the file's keys.
func Default() Config {
	return Config{APIURL: DefaultAPIURL, Timeout: DefaultTimeout}
}

// SetDefaults gives a delivery.twilio block its defaults.
func (c *Config) SetDefaults() { *c = Default() }

// Validate checks the keys of the block, every rule at once, with paths
// relative to it (account_sid, auth_token, from...). The range of timeout
// is its tag's; config.Load checks it.
func (c Config) Validate() error {
	var es config.Errors
	if !accountSIDRE.MatchString(c.AccountSID) {
		es.Add("account_sid", "%q is not allowed (AC followed by 32 hex digits)", flow.Sanitize(c.AccountSID, 40))
	}
	if !c.AuthToken.IsSet() {
		es.Add("auth_token", "is missing (one of auth_token, auth_token_file, auth_token_env)")
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		es.Add("from", "is empty (an E.164 number such as +12125550100, or messaging_service_sid for texts)")
	case c.From != "" && !e164RE.MatchString(c.From):
		es.Add("from", "%q is not allowed (an E.164 number such as +12125550100)", flow.Sanitize(c.From, 32))
	}
	if c.MessagingServiceSID != "" && !serviceSIDRE.MatchString(c.MessagingServiceSID) {
		es.Add("messaging_service_sid", "%q is not allowed (MG followed by 32 hex digits)", flow.Sanitize(c.MessagingServiceSID, 40))
	}
	if checkBase(c.APIURL) != nil {
		es.Add("api_url", "%q is not allowed (an http:// or https:// URL, e.g. https://api.twilio.com)", flow.Sanitize(c.APIURL, 200))
	}
	return es.Err()
}

// Client is a Twilio account as a flow.Sender for texts (TextMobile) and
// calls (CallMobile, CallOffice). It is safe for concurrent use.
type Client struct {
	cfg    Config
	token  string
	api    string
	public string
	http   *http.Client
	log    *slog.Logger
}

var _ flow.Sender = (*Client)(nil)

// New checks cfg and returns a Client. It sends nothing. A wrong key is
// reported as Validate reports it (config.Errors, with paths relative to
// the block); an empty api_url is DefaultAPIURL and a zero timeout
// DefaultTimeout. The auth token is read if it was not already.
func New(cfg Config) (*Client, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	token := cfg.AuthToken.Value()
	if token == "" {
		if err := cfg.AuthToken.Resolve("auth_token"); err != nil {
			return nil, config.Errors{{Path: "auth_token", Msg: err.Error()}}
		}
		token = cfg.AuthToken.Value()
	}
	api := cfg.APIURL
	if cfg.PublicURL != "" {
		if err := checkBase(cfg.PublicURL); err != nil {
			return nil, fmt.Errorf("twilio: public_url: %w", err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, token: token, api: strings.TrimRight(api, "/"), public: strings.TrimRight(cfg.PublicURL, "/"), http: hc, log: log}, nil
}

// checkBase accepts an absolute http(s) URL without query or fragment.
func checkBase(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", flow.Sanitize(raw, 200))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an http:// or https:// base URL", flow.Sanitize(raw, 200))
	}
	return nil
}

// Deliver texts d.Text for TextMobile, or places a number-matching call
// for CallMobile and CallOffice. An API refusal or a timeout is an error,
// so flow offers the person another method.
func (c *Client) Deliver(ctx context.Context, d flow.Delivery) error {
	switch d.Method {
	case flow.TextMobile:
		return c.text(ctx, d)
	case flow.CallMobile, flow.CallOffice:
		if d.Kind == flow.KindNotice {
			return errors.New("twilio: notices are texted, not called")
		}
		return c.call(ctx, d)
	}
	return fmt.Errorf("twilio: method %q is not a text or a call", flow.Sanitize(string(d.Method), 32))
}

func (c *Client) text(ctx context.Context, d flow.Delivery) error {
	form := url.Values{"To": {d.To}, "Body": {d.Text}}
	if c.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", c.cfg.MessagingServiceSID)
	} else {
		form.Set("From", c.cfg.From)
	}
	if c.public != "" {
		cb := c.public + StatusPath
		if d.Token != "" {
			// The watch flow keeps on the text: a failure reported here
			// reaches the person's screen, whichever instance gets it.
			cb += "?" + url.Values{"token": {d.Token}}.Encode()
		}
		form.Set("StatusCallback", cb)
	}
	if !d.Expires.IsZero() {
		// A code that arrives after it expired is of no use: Twilio drops
		// a text still queued after this many seconds.
		if left := int(time.Until(d.Expires) / time.Second); left >= 1 && left <= 36000 {
			form.Set("ValidityPeriod", strconv.Itoa(left))
		}
	}
	var m struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := c.post(ctx, "Messages.json", form, &m); err != nil {
		return fmt.Errorf("twilio: text: %w", err)
	}
	c.log.Info("twilio_text", "message_sid", flow.Sanitize(m.SID, 40), "status", flow.Sanitize(m.Status, 20), "kind", kindName(d.Kind))
	return nil
}

func (c *Client) call(ctx context.Context, d flow.Delivery) error {
	if c.public == "" {
		return errors.New("twilio: call: no public URL for the call's webhooks (http.public_url)")
	}
	if c.cfg.From == "" {
		return errors.New("twilio: call: calls need a from number")
	}
	if !validToken(d.Token) {
		return errors.New("twilio: call: the delivery has no approval token")
	}
	// The answer webhook carries what the call says, so that any instance
	// behind the public URL can answer it; Twilio signs the whole URL.
	q := url.Values{"lang": {Language(d.Lang)}, "say": {d.Text}}
	form := url.Values{
		"To":                   {d.To},
		"From":                 {c.cfg.From},
		"Url":                  {c.public + VoicePath + d.Token + "?" + q.Encode()},
		"Method":               {http.MethodPost},
		"StatusCallback":       {c.public + StatusPath + "?" + url.Values{"token": {d.Token}}.Encode()},
		"StatusCallbackMethod": {http.MethodPost},
		"MachineDetection":     {"Enable"},
		"Timeout":              {strconv.Itoa(ringTimeout)},
		"TimeLimit":            {strconv.Itoa(callTimeLimit)},
	}
	var call struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := c.post(ctx, "Calls.json", form, &call); err != nil {
		return fmt.Errorf("twilio: call: %w", err)
	}
	c.log.Info("twilio_call", "call_sid", flow.Sanitize(call.SID, 40), "status", flow.Sanitize(call.Status, 20))
	return nil
}

func kindName(k flow.DeliveryKind) string {
	if k == flow.KindNotice {
		return "notice"
	}
	return "verification"
}

// Check fetches the account: it proves the SID and the token without
// sending anything, and that the account is active.
func (c *Client) Check(ctx context.Context) error {
	var acct struct {
		Status string `json:"status"`
	}
	if err := c.send(ctx, http.MethodGet, c.api+"/2010-04-01/Accounts/"+c.cfg.AccountSID+".json", nil, &acct); err != nil {
		return fmt.Errorf("twilio: account: %w", err)
	}
	if acct.Status != "active" {
		return fmt.Errorf("twilio: account is %q, not active", flow.Sanitize(acct.Status, 20))
	}
	return nil
}

// APIError is Twilio's error answer: {code, message, more_info, status}.
type APIError struct {
	Status   int    `json:"status"`
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (e *APIError) Error() string {
	msg := flow.Sanitize(e.Message, 200)
	if e.Code != 0 {
		return fmt.Sprintf("HTTP %d, error %d: %s", e.Status, e.Code, msg)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
}

func (c *Client) post(ctx context.Context, resource string, form url.Values, out any) error {
	return c.send(ctx, http.MethodPost, c.api+"/2010-04-01/Accounts/"+c.cfg.AccountSID+"/"+resource, form, out)
}

// send makes one API request, form-encoded when form is not nil, and
// decodes a 2xx JSON answer into out; any other answer is an *APIError.
// Errors never carry the auth token: it travels only in the Authorization
// header.
func (c *Client) send(ctx context.Context, method, u string, form url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sspr")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The operation, the path and the cause: the whole URL adds
			// nothing useful.
			return fmt.Errorf("%s %s: %w", ue.Op, req.URL.Path, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Message == "" {
			apiErr = &APIError{Message: http.StatusText(resp.StatusCode)}
		}
		apiErr.Status = resp.StatusCode
		return apiErr
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return nil
}

// validToken accepts flow's approval tokens: 32 hex digits.
func validToken(t string) bool {
	if len(t) != 32 {
		return false
	}
	for _, r := range t {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
