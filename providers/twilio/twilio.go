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

// Config is a Twilio account and how sspr uses it.
type Config struct {
	// AccountSID ("AC" and 32 hex digits) names the account; with AuthToken
	// it signs in every request (HTTP Basic) and keys webhook signatures.
	AccountSID string
	AuthToken  string
	// From is the Twilio number texts and calls come from (E.164).
	// MessagingServiceSID ("MG...") may send texts instead; calls always
	// need From.
	From                string
	MessagingServiceSID string
	// APIURL is the REST API's base (DefaultAPIURL when empty).
	APIURL string
	// PublicURL is the base URL under which Twilio reaches sspr's side
	// listener, e.g. https://reset.example.com. Calls need it; texts use it
	// for delivery reports when it is set. Links are built only from it.
	PublicURL string
	// Timeout bounds each API request (DefaultTimeout when zero).
	Timeout time.Duration
	// HTTPClient sends the requests (a client of its own when nil).
	HTTPClient *http.Client
	// Log receives operational lines (never a token, a code or a number
	// keyed); nil discards them.
	Log *slog.Logger
	// Observe, when set, is told what each webhook brought: "answered",
	// "machine", "no-answer", "busy", "failed", "bad_signature",
	// "unknown_token" and the like, for metrics.
	Observe func(event string)
}

// Client is a Twilio account as a flow.Sender for texts (TextMobile) and
// calls (CallMobile, CallOffice). It is safe for concurrent use.
type Client struct {
	cfg    Config
	api    string
	public string
	http   *http.Client
	log    *slog.Logger
}

var _ flow.Sender = (*Client)(nil)

// New checks cfg and returns a Client. It sends nothing.
func New(cfg Config) (*Client, error) {
	switch {
	case !accountSIDRE.MatchString(cfg.AccountSID):
		return nil, errors.New("twilio: account_sid must be AC followed by 32 hex digits")
	case cfg.AuthToken == "":
		return nil, errors.New("twilio: no auth token")
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		return nil, errors.New("twilio: one of from and messaging_service_sid is needed")
	case cfg.From != "" && !e164RE.MatchString(cfg.From):
		return nil, fmt.Errorf("twilio: from %q is not an E.164 number such as +12125550100", flow.Sanitize(cfg.From, 32))
	case cfg.MessagingServiceSID != "" && !serviceSIDRE.MatchString(cfg.MessagingServiceSID):
		return nil, errors.New("twilio: messaging_service_sid must be MG followed by 32 hex digits")
	}
	api := cfg.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	if err := checkBase(api); err != nil {
		return nil, fmt.Errorf("twilio: api_url: %w", err)
	}
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
	return &Client{cfg: cfg, api: strings.TrimRight(api, "/"), public: strings.TrimRight(cfg.PublicURL, "/"), http: hc, log: log}, nil
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
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
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
