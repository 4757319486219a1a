// Package twilio is a fake of the parts of Twilio's REST API (2010-04-01)
// and of its webhooks that sspr uses, written from Twilio's documentation
// so that tests exercise the same requests, answers and signatures:
//
//   - POST /2010-04-01/Accounts/{AccountSid}/Messages.json sends a text
//     (form: To, From or MessagingServiceSid, Body, StatusCallback,
//     ValidityPeriod) and answers 201 with the Message resource;
//   - POST /2010-04-01/Accounts/{AccountSid}/Calls.json places a call (form:
//     To, From, Url or Twiml, Method, StatusCallback, MachineDetection,
//     Timeout, TimeLimit) and answers 201 with the Call resource;
//   - GET /2010-04-01/Accounts/{AccountSid}.json fetches the account.
//
// Every request must sign in with HTTP Basic, the account SID and its auth
// token; anything else answers 401 with Twilio's error JSON (code 20003).
// Errors are Twilio's JSON: {"code", "message", "more_info", "status"}.
//
// A placed call can then be answered (Answer, AnswerByMachine) or end
// unanswered (End): the fake fetches the call's TwiML from its Url the way
// Twilio does, follows its <Gather> by posting the keys to the action URL,
// and posts the final status to the StatusCallback, each request signed
// with X-Twilio-Signature as Twilio signs it (see Sign).
package twilio

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is a text as the fake received it.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	ValidityPeriod      string
}

// Call is a call as the fake received it.
type Call struct {
	SID                  string
	To                   string
	From                 string
	URL                  string
	Method               string
	Twiml                string
	StatusCallback       string
	StatusCallbackMethod string
	MachineDetection     string
	Timeout              string
	TimeLimit            string
	// Status is queued until the call is answered or ended.
	Status string
}

// Server is the fake Twilio API, an httptest server on a loopback port.
type Server struct {
	AccountSID string
	AuthToken  string
	// URL is the base to give as the API URL, e.g. http://127.0.0.1:4321.
	URL string

	srv    *httptest.Server
	client *http.Client

	mu            sync.Mutex
	messages      []Message
	calls         []Call
	fail          []int
	delay         time.Duration
	accountStatus string
	requests      int
}

// New starts a fake for the account sid (AC and 32 hex digits) signed in
// with token.
func New(sid, token string) *Server {
	s := &Server{AccountSID: sid, AuthToken: token, accountStatus: "active", client: &http.Client{Timeout: 10 * time.Second}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// NewAccountSID returns a random account SID, AC and 32 hex digits.
func NewAccountSID() string { return "AC" + randomHex(16) }

// NewAuthToken returns a random auth token of 32 hex digits.
func NewAuthToken() string { return randomHex(16) }

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Messages returns the texts received, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns the calls placed, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Requests counts the API requests answered, failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext answers the next n API requests with status and Twilio's error
// JSON, as an outage (500) or a throttle (429) would.
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, status)
	}
}

// SetDelay makes every API answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetAccountStatus sets what the account fetch says: active, suspended or
// closed.
func (s *Server) SetAccountStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountStatus = status
}

// apiError is Twilio's error answer.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Message: msg, MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	callsPath    = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Calls\.json$`)
	accountPath  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)\.json$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	delay := s.delay
	var fail int
	if len(s.fail) > 0 {
		fail, s.fail = s.fail[0], s.fail[1:]
	}
	s.mu.Unlock()
	// Read the whole request first, so the server notices a client that
	// gives up while the fake is being slow.
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	// Twilio checks the credentials before anything else.
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.AccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.AuthToken)) != 1 {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if fail != 0 {
		// Twilio's codes for HTTP errors are 20000 + the status (20429,
		// 20404); every 5xx is 20500.
		code := 20000 + fail
		if fail >= 500 {
			code = 20500
		}
		writeError(w, fail, code, http.StatusText(fail))
		return
	}
	var m []string
	route := ""
	for name, re := range map[string]*regexp.Regexp{"messages": messagesPath, "calls": callsPath, "account": accountPath} {
		if m = re.FindStringSubmatch(r.URL.Path); m != nil {
			route = name
			break
		}
	}
	if route == "" || m[1] != s.AccountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	switch {
	case route == "account" && r.Method == http.MethodGet:
		s.mu.Lock()
		status := s.accountStatus
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"sid": s.AccountSID, "friendly_name": "sspr test account", "status": status, "type": "Full",
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + ".json",
		})
	case route == "messages" && r.Method == http.MethodPost:
		s.createMessage(w, r)
	case route == "calls" && r.Method == http.MethodPost:
		s.createCall(w, r)
	default:
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (s *Server) form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Could not parse the form")
		return nil, false
	}
	return r.PostForm, true
}

// validCallback accepts an absolute http(s) URL, as Twilio requires of
// callbacks.
func validCallback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	msg := Message{
		SID: "SM" + randomHex(16), To: f.Get("To"), From: f.Get("From"), MessagingServiceSID: f.Get("MessagingServiceSid"),
		Body: f.Get("Body"), StatusCallback: f.Get("StatusCallback"), ValidityPeriod: f.Get("ValidityPeriod"),
	}
	switch {
	case msg.To == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164.MatchString(msg.To):
		writeError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+msg.To)
	case msg.From == "" && msg.MessagingServiceSID == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
	case msg.Body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
	case len([]rune(msg.Body)) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	case msg.StatusCallback != "" && !validCallback(msg.StatusCallback):
		writeError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback")
	case msg.ValidityPeriod != "" && !inRange(msg.ValidityPeriod, 1, 36000):
		writeError(w, http.StatusBadRequest, 21623, "ValidityPeriod must be between 1 and 36000")
	default:
		s.mu.Lock()
		s.messages = append(s.messages, msg)
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{
			"sid": msg.SID, "account_sid": s.AccountSID, "to": msg.To, "from": nullable(msg.From),
			"messaging_service_sid": nullable(msg.MessagingServiceSID), "body": msg.Body, "status": "queued",
			"direction": "outbound-api", "api_version": "2010-04-01", "num_segments": "1",
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + msg.SID + ".json",
		})
	}
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	f, ok := s.form(w, r)
	if !ok {
		return
	}
	c := Call{
		SID: "CA" + randomHex(16), To: f.Get("To"), From: f.Get("From"), URL: f.Get("Url"), Method: f.Get("Method"),
		Twiml: f.Get("Twiml"), StatusCallback: f.Get("StatusCallback"), StatusCallbackMethod: f.Get("StatusCallbackMethod"),
		MachineDetection: f.Get("MachineDetection"), Timeout: f.Get("Timeout"), TimeLimit: f.Get("TimeLimit"), Status: "queued",
	}
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.StatusCallbackMethod == "" {
		c.StatusCallbackMethod = http.MethodPost
	}
	switch {
	case c.To == "":
		writeError(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
	case !e164.MatchString(c.To):
		writeError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+c.To)
	case c.From == "":
		writeError(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
	case c.URL == "" && c.Twiml == "":
		writeError(w, http.StatusBadRequest, 21205, "Either Url or Twiml is required")
	case c.URL != "" && !validCallback(c.URL):
		writeError(w, http.StatusBadRequest, 21205, "Url is not a valid URL: "+c.URL)
	case c.StatusCallback != "" && !validCallback(c.StatusCallback):
		writeError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback")
	case c.MachineDetection != "" && c.MachineDetection != "Enable" && c.MachineDetection != "DetectMessageEnd":
		writeError(w, http.StatusBadRequest, 21218, "MachineDetection must be Enable or DetectMessageEnd")
	case c.Timeout != "" && !inRange(c.Timeout, 5, 600):
		writeError(w, http.StatusBadRequest, 21216, "Timeout must be between 5 and 600")
	case c.TimeLimit != "" && !inRange(c.TimeLimit, 1, 14400):
		writeError(w, http.StatusBadRequest, 21217, "TimeLimit must be between 1 and 14400")
	default:
		s.mu.Lock()
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{
			"sid": c.SID, "account_sid": s.AccountSID, "to": c.To, "from": c.From, "status": "queued",
			"direction": "outbound-api", "api_version": "2010-04-01",
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Calls/" + c.SID + ".json",
		})
	}
}

func inRange(v string, lo, hi int) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= lo && n <= hi
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Sign computes X-Twilio-Signature as Twilio documents it: take the full
// URL of the request (scheme, host, path and query, exactly as configured),
// append each POST parameter sorted by name, its name then its value; sign
// that with HMAC-SHA1 keyed with the account's auth token; base64-encode.
func Sign(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Webhook posts params to target, form-encoded and signed with authToken,
// as Twilio posts a webhook; it returns the status and the body.
func (s *Server) Webhook(ctx context.Context, authToken, target string, params url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(authToken, target, params))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// Turn is one request the fake made for a call and what came back.
type Turn struct {
	URL    string
	Params url.Values
	Status int
	Body   string
}

// Result is what happened on a call the fake answered or ended.
type Result struct {
	// Turns are the webhooks posted, in order: the answer, the gather's
	// action, the status callback.
	Turns []Turn
	// Said is every <Say> the call spoke, in order, with its language.
	Said []Said
	// Gather is the <Gather> the call offered, nil when none.
	Gather *Gather
}

// Said is one <Say>.
type Said struct {
	Language string
	Text     string
}

// TwiML is the subset of Twilio's TwiML the fake follows.
type TwiML struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []Verb   `xml:",any"`
}

// Verb is one TwiML verb: Say, Pause, Gather, Hangup.
type Verb struct {
	XMLName  xml.Name
	Language string `xml:"language,attr"`
	Text     string `xml:",chardata"`
	Gather
	Nested []Verb `xml:",any"`
}

// Gather holds the attributes of <Gather>.
type Gather struct {
	Input               string `xml:"input,attr"`
	NumDigits           string `xml:"numDigits,attr"`
	Action              string `xml:"action,attr"`
	Method              string `xml:"method,attr"`
	Timeout             string `xml:"timeout,attr"`
	ActionOnEmptyResult string `xml:"actionOnEmptyResult,attr"`
}

func (s *Server) call(sid string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.SID == sid {
			return c, true
		}
	}
	return Call{}, false
}

func (s *Server) setStatus(sid, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.calls {
		if s.calls[i].SID == sid {
			s.calls[i].Status = status
		}
	}
}

// params are the parameters Twilio posts with every voice webhook.
func (s *Server) params(c Call, status string) url.Values {
	return url.Values{
		"AccountSid": {s.AccountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {c.SID}, "CallStatus": {status},
		"Direction": {"outbound-api"}, "From": {c.From}, "To": {c.To}, "Called": {c.To}, "Caller": {c.From},
	}
}

// Answer picks up call sid as a person would and keys digits ("" keys
// nothing): the fake fetches the call's TwiML (answered by a human, as
// machine detection reports), says its <Say>s, posts the keys to the
// <Gather>'s action (truncated to numDigits), then ends the call and posts
// its status (completed) to the StatusCallback.
func (s *Server) Answer(ctx context.Context, sid, digits string) (Result, error) {
	return s.answer(ctx, sid, digits, "human")
}

// AnswerByMachine picks up call sid with an answering machine: machine
// detection reports machine_start to the call's Url.
func (s *Server) AnswerByMachine(ctx context.Context, sid string) (Result, error) {
	return s.answer(ctx, sid, "", "machine_start")
}

func (s *Server) answer(ctx context.Context, sid, digits, answeredBy string) (Result, error) {
	var res Result
	c, ok := s.call(sid)
	if !ok {
		return res, fmt.Errorf("fake twilio: no call %s", sid)
	}
	s.setStatus(sid, "in-progress")
	doc, base := c.Twiml, c.URL
	if c.URL != "" {
		p := s.params(c, "in-progress")
		if c.MachineDetection != "" {
			p.Set("AnsweredBy", answeredBy)
		}
		t, err := s.turn(ctx, c.URL, p)
		res.Turns = append(res.Turns, t)
		if err != nil {
			return res, err
		}
		if t.Status != http.StatusOK {
			return res, fmt.Errorf("fake twilio: the call's Url answered %d", t.Status)
		}
		doc = t.Body
	}
	var tw TwiML
	if err := xml.Unmarshal([]byte(doc), &tw); err != nil {
		return res, fmt.Errorf("fake twilio: the call's TwiML: %w", err)
	}
	gathered := false
	for _, v := range tw.Verbs {
		if gathered {
			break
		}
		switch v.XMLName.Local {
		case "Say":
			res.Said = append(res.Said, Said{v.Language, strings.TrimSpace(v.Text)})
		case "Hangup":
			gathered = true
		case "Gather":
			g := v.Gather
			res.Gather = &g
			for _, n := range v.Nested {
				if n.XMLName.Local == "Say" {
					res.Said = append(res.Said, Said{n.Language, strings.TrimSpace(n.Text)})
				}
			}
			if g.Input != "" && !strings.Contains(g.Input, "dtmf") {
				return res, fmt.Errorf("fake twilio: <Gather input=%q> takes no keys", g.Input)
			}
			keys := digits
			if n, err := strconv.Atoi(g.NumDigits); err == nil && n > 0 && len(keys) > n {
				keys = keys[:n]
			}
			if keys == "" && g.ActionOnEmptyResult != "true" {
				continue // Twilio goes on with the next verb
			}
			action, err := resolve(base, g.Action)
			if err != nil {
				return res, err
			}
			if g.Method != "" && !strings.EqualFold(g.Method, http.MethodPost) {
				return res, fmt.Errorf("fake twilio: only POST gathers are followed, not %s", g.Method)
			}
			p := s.params(c, "in-progress")
			p.Set("Digits", keys)
			p.Set("FinishedOnKey", "")
			p.Set("msg", "Gather End")
			t, err := s.turn(ctx, action, p)
			res.Turns = append(res.Turns, t)
			if err != nil {
				return res, err
			}
			gathered = true // the action's TwiML replaces the rest; sspr's hangs up
		}
	}
	s.setStatus(sid, "completed")
	if c.StatusCallback != "" {
		p := s.params(c, "completed")
		p.Set("CallDuration", "15")
		t, err := s.turn(ctx, c.StatusCallback, p)
		res.Turns = append(res.Turns, t)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// End ends call sid unanswered with status (no-answer, busy, failed or
// canceled) and posts it to the StatusCallback.
func (s *Server) End(ctx context.Context, sid, status string) (Turn, error) {
	c, ok := s.call(sid)
	if !ok {
		return Turn{}, fmt.Errorf("fake twilio: no call %s", sid)
	}
	s.setStatus(sid, status)
	if c.StatusCallback == "" {
		return Turn{}, fmt.Errorf("fake twilio: call %s has no StatusCallback", sid)
	}
	p := s.params(c, status)
	p.Set("CallDuration", "0")
	return s.turn(ctx, c.StatusCallback, p)
}

// ReportText posts a text's delivery status (delivered, undelivered,
// failed) to its StatusCallback.
func (s *Server) ReportText(ctx context.Context, m Message, status string) (Turn, error) {
	if m.StatusCallback == "" {
		return Turn{}, fmt.Errorf("fake twilio: message %s has no StatusCallback", m.SID)
	}
	p := url.Values{
		"AccountSid": {s.AccountSID}, "ApiVersion": {"2010-04-01"}, "MessageSid": {m.SID}, "SmsSid": {m.SID},
		"MessageStatus": {status}, "SmsStatus": {status}, "To": {m.To}, "From": {m.From},
	}
	if status == "undelivered" || status == "failed" {
		p.Set("ErrorCode", "30003")
	}
	return s.turn(ctx, m.StatusCallback, p)
}

func (s *Server) turn(ctx context.Context, target string, p url.Values) (Turn, error) {
	status, body, err := s.Webhook(ctx, s.AuthToken, target, p)
	return Turn{URL: target, Params: p, Status: status, Body: string(bytes.TrimSpace(body))}, err
}

// resolve makes a relative action URL absolute against the document's URL,
// as Twilio does.
func resolve(base, ref string) (string, error) {
	if ref == "" {
		ref = base
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("fake twilio: action %q: %w", ref, err)
	}
	if r.IsAbs() {
		return ref, nil
	}
	b, err := url.Parse(base)
	if err != nil || base == "" {
		return "", fmt.Errorf("fake twilio: relative action %q without a document URL", ref)
	}
	return b.ResolveReference(r).String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
