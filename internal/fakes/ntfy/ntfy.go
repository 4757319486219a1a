// Package ntfy is a fake ntfy server for tests, written as executable
// documentation of the parts of ntfy's HTTP API (https://docs.ntfy.sh/publish/)
// that sspr uses, and of what ntfy's app does when a person taps an "http"
// action button.
//
// What it implements, as ntfy documents and does it:
//
//   - Access control with auth-default-access: deny-all. A request with
//     "Authorization: Bearer tk_..." names a user by access token; an
//     unknown token is 401 {"code":40101,"http":401,"error":"unauthorized"}.
//     An anonymous publish is 403 {"code":40301,...,"error":"forbidden"}.
//   - POST or PUT / with a JSON body {topic, title, message, priority, tags,
//     actions, ...} ("publish as JSON"); an invalid body is 40017, an
//     invalid topic (not 1 to 64 of [-_A-Za-z0-9]) 40009, a priority
//     outside 1 to 5 is 40007, and bad actions are 40018 (at most 3;
//     action one of view, broadcast, http; a label; a url for view and
//     http; no body with GET or HEAD).
//   - POST or PUT /{topic} with the message as the body and the Title,
//     Priority, Tags and Actions headers (X- prefixed too); Actions must be
//     in the JSON form here (ntfy also has a "simple" form, unused by sspr).
//   - The answer to a publish is the message as ntfy stores it: id, time,
//     expires, event "message", and the fields, each action with an id,
//     its method upper-cased and POST by default for http.
//   - GET /v1/account: 200 with the token's user (or "*" anonymous).
//   - GET /v1/health: {"healthy":true}.
//
// Tap performs an action's request as the app does: the method, the URL,
// the headers and the body, nothing else.
package ntfy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Action is an action button as ntfy stores it.
type Action struct {
	ID      string            `json:"id"`
	Action  string            `json:"action"`
	Label   string            `json:"label"`
	Clear   bool              `json:"clear"`
	URL     string            `json:"url,omitempty"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Message is a published message as ntfy stores and returns it.
type Message struct {
	ID       string    `json:"id"`
	Time     int64     `json:"time"`
	Expires  int64     `json:"expires,omitempty"`
	Event    string    `json:"event"`
	Topic    string    `json:"topic"`
	Title    string    `json:"title,omitempty"`
	Message  string    `json:"message,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Actions  []*Action `json:"actions,omitempty"`
	// User is who published it (not part of ntfy's answer).
	User string `json:"-"`
}

// Server is a running fake ntfy server.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567.
	URL string

	srv    *httptest.Server
	tokens map[string]string // access token -> user

	mu       sync.Mutex
	messages []Message
	notify   chan struct{}
	fail     int           // answer publishes with this status (500: ntfy's 50001)
	stall    time.Duration // hold publishes this long first
	requests int
}

// New starts a fake on a free loopback port; tokens maps each valid
// access token (tk_...) to its user name. Close stops it.
func New(tokens map[string]string) *Server {
	s := &Server{tokens: tokens, notify: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Fail makes every publish answer status (0: normal again); 500 is
// ntfy's {"code":50001,"http":500,"error":"internal server error"}.
func (s *Server) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
}

// Stall holds every publish for d before answering it (0: no more).
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = d
}

// Messages returns what was published, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests counts the requests the server has seen.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Next waits until more than n messages are published and returns
// message n (0-based).
func (s *Server) Next(ctx context.Context, n int) (Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) > n {
			m := s.messages[n]
			s.mu.Unlock()
			return m, nil
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("fake ntfy: message %d never came: %w", n, ctx.Err())
		}
	}
}

// Tap performs the request of m's action button labelled label, as the
// ntfy app does when the person taps it, and returns the status and body.
func (s *Server) Tap(ctx context.Context, m Message, label string) (int, string, error) {
	for _, a := range m.Actions {
		if a.Label != label {
			continue
		}
		if a.Action != "http" {
			return 0, "", fmt.Errorf("fake ntfy: action %q is %q, not http", label, a.Action)
		}
		var body io.Reader
		if a.Body != "" {
			body = strings.NewReader(a.Body)
		}
		req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
		if err != nil {
			return 0, "", err
		}
		for k, v := range a.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return resp.StatusCode, string(raw), nil
	}
	return 0, "", fmt.Errorf("fake ntfy: no action labelled %q", label)
}

type apiError struct {
	Code     int    `json:"code"`
	HTTPCode int    `json:"http"`
	Message  string `json:"error"`
	Link     string `json:"link,omitempty"`
}

var (
	errUnauthorized   = apiError{40101, 401, "unauthorized", "https://ntfy.sh/docs/publish/#authentication"}
	errForbidden      = apiError{40301, 403, "forbidden", "https://ntfy.sh/docs/publish/#authentication"}
	errNotFound       = apiError{40401, 404, "page not found", ""}
	errPriority       = apiError{40007, 400, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority"}
	errTopic          = apiError{40009, 400, "invalid request: topic invalid", ""}
	errJSON           = apiError{40017, 400, "invalid request: request body must be message JSON", "https://ntfy.sh/docs/publish/#publish-as-json"}
	errActions        = apiError{40018, 400, "invalid request: actions invalid", "https://ntfy.sh/docs/publish/#action-buttons"}
	errInternal       = apiError{50001, 500, "internal server error", ""}
	errTooManyRequest = apiError{42901, 429, "limit reached: too many requests", "https://ntfy.sh/docs/publish/#limitations"}
)

func writeError(w http.ResponseWriter, e apiError, detail string) {
	if detail != "" {
		e.Message += "; " + detail
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.HTTPCode)
	b, _ := json.Marshal(e)
	_, _ = w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(v)
	_, _ = w.Write(append(b, '\n'))
}

// user authenticates the request: "" is anonymous, ok false a bad token.
func (s *Server) user(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", true
	}
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false // sspr uses tokens only; basic auth is not modelled
	}
	u, ok := s.tokens[strings.TrimSpace(h[7:])]
	return u, ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/health":
		writeJSON(w, map[string]bool{"healthy": true})
		return
	case r.Method == http.MethodGet && r.URL.Path == "/v1/account":
		u, ok := s.user(r)
		switch {
		case !ok:
			writeError(w, errUnauthorized, "")
		case u == "":
			writeJSON(w, map[string]any{"username": "*", "role": "anonymous"})
		default:
			writeJSON(w, map[string]any{"username": u, "role": "user"})
		}
		return
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		s.publish(w, r)
		return
	}
	writeError(w, errNotFound, "")
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r)
	if !ok {
		writeError(w, errUnauthorized, "")
		return
	}
	// Read the body first: only then does the server notice a client
	// that gives up during a stall.
	raw, err := io.ReadAll(io.LimitReader(r.Body, 32<<10))
	if err != nil {
		writeError(w, errJSON, "")
		return
	}
	s.mu.Lock()
	fail, stall := s.fail, s.stall
	s.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	var m Message
	var actions []*Action
	if r.URL.Path == "/" {
		var in struct {
			Topic    string    `json:"topic"`
			Title    string    `json:"title"`
			Message  string    `json:"message"`
			Priority int       `json:"priority"`
			Tags     []string  `json:"tags"`
			Actions  []*Action `json:"actions"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			writeError(w, errJSON, "")
			return
		}
		m = Message{Topic: in.Topic, Title: in.Title, Message: in.Message, Priority: in.Priority, Tags: in.Tags}
		actions = in.Actions
	} else {
		m = Message{Topic: strings.TrimPrefix(r.URL.Path, "/"), Message: string(raw), Title: header(r, "Title")}
		if p := header(r, "Priority"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				writeError(w, errPriority, "")
				return
			}
			m.Priority = n
		}
		if t := header(r, "Tags"); t != "" {
			for _, tag := range strings.Split(t, ",") {
				m.Tags = append(m.Tags, strings.TrimSpace(tag))
			}
		}
		if a := header(r, "Actions"); a != "" {
			if err := json.Unmarshal([]byte(a), &actions); err != nil {
				writeError(w, errActions, "only the JSON form is modelled")
				return
			}
		}
	}
	if !validTopic(m.Topic) {
		writeError(w, errTopic, "")
		return
	}
	if m.Priority < 0 || m.Priority > 5 {
		writeError(w, errPriority, "")
		return
	}
	if detail := checkActions(actions); detail != "" {
		writeError(w, errActions, detail)
		return
	}
	if u == "" {
		// deny-all: only known users publish.
		writeError(w, errForbidden, "")
		return
	}
	switch fail {
	case 0:
	case http.StatusTooManyRequests:
		writeError(w, errTooManyRequest, "")
		return
	default:
		e := errInternal
		e.HTTPCode = fail
		writeError(w, e, "")
		return
	}
	now := time.Now()
	m.ID, m.Time, m.Expires, m.Event, m.Actions, m.User = randomID(12), now.Unix(), now.Add(12*time.Hour).Unix(), "message", actions, u
	s.mu.Lock()
	s.messages = append(s.messages, m)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	writeJSON(w, m)
}

func header(r *http.Request, name string) string {
	if v := r.Header.Get("X-" + name); v != "" {
		return v
	}
	return r.Header.Get(name)
}

func checkActions(actions []*Action) string {
	if len(actions) > 3 {
		return "only 3 actions allowed"
	}
	for _, a := range actions {
		a.ID = randomID(10)
		a.Action = strings.ToLower(a.Action)
		a.Method = strings.ToUpper(a.Method)
		switch {
		case a.Action != "view" && a.Action != "broadcast" && a.Action != "http":
			return fmt.Sprintf("parameter 'action' cannot be '%s', valid values are 'view', 'broadcast' and 'http'", a.Action)
		case a.Label == "":
			return "parameter 'label' is required"
		case (a.Action == "view" || a.Action == "http") && a.URL == "":
			return fmt.Sprintf("parameter 'url' is required for action '%s'", a.Action)
		case a.Action == "http" && (a.Method == "GET" || a.Method == "HEAD") && a.Body != "":
			return fmt.Sprintf("parameter 'body' cannot be set if method is %s", a.Method)
		}
		if a.Action == "http" && a.Method == "" {
			a.Method = "POST" // ntfy's default for http actions
		}
	}
	return ""
}

func validTopic(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func randomID(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
