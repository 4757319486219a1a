// Package duo is a fake Duo Auth API v2 server for tests, written as
// executable documentation of the parts of https://duo.com/docs/authapi
// that sspr uses.
//
// Request signing, as Duo documents it and as this fake checks it (by
// itself, without Duo's client code):
//
//   - The request carries a Date header in RFC 2822 form and
//     "Authorization: Basic base64(ikey:signature)".
//   - The signature is the hex HMAC-SHA512, keyed with the secret key, of
//     five lines joined by "\n": the Date header; the method in upper
//     case; the API hostname in lower case; the path; and the parameters
//     (the query string of a GET, the form body of a POST), sorted by name,
//     each name=value URL-encoded with every byte but A-Z a-z 0-9 - _ . ~
//     as %XX in upper-case hex (a space is %20), joined by "&"; a request
//     without parameters still has this (empty) line.
//   - No credentials: 401 {"stat":"FAIL","code":40101,"message":"Missing request credentials"}.
//     An unknown integration key: 40102 "Invalid integration key in request credentials".
//     A wrong signature (a wrong secret key, or a parameter changed after
//     signing): 40103 "Invalid signature in request credentials".
//
// Endpoints:
//
//   - GET /auth/v2/ping (unsigned) and GET /auth/v2/check (signed): {"time": unix}.
//   - POST /auth/v2/preauth (username): result "auth" with the user's
//     devices and their capabilities, "allow" (bypass), "deny", or
//     "enroll" for a user Duo does not know.
//   - POST /auth/v2/auth (username, factor=push, device=auto or an id,
//     async=1, type, display_username, pushinfo): with async, {"txid": ...}
//     at once; pushinfo must be URL-encoded key=value pairs under 20,000
//     bytes. Missing parameters are 400 40001, invalid ones 400 40002.
//   - GET /auth/v2/auth_status (txid): result "waiting" (status "pushed")
//     until the person answers, then "allow" or "deny" (status "allow",
//     "deny" or "timeout"). It long-polls: after the first answer it waits
//     for the next change.
//
// Answer plays the person tapping Approve or Deny in Duo Mobile.
package duo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Device is one of a user's devices as preauth lists it.
type Device struct {
	Device       string   `json:"device"`
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Number       string   `json:"number"`
	Capabilities []string `json:"capabilities"`
}

// Phone is a smartphone with Duo Mobile, which takes pushes.
func Phone(id string) Device {
	return Device{Device: id, Type: "phone", Name: "", Number: "XXX-XXX-0100",
		Capabilities: []string{"auto", "push", "sms", "phone", "mobile_otp"}}
}

// Push is one push the fake sent to Duo Mobile.
type Push struct {
	Txid            string
	Username        string
	Device          string
	Type            string
	DisplayUsername string
	// Pushinfo is the decoded key/value pairs shown in the push details.
	Pushinfo url.Values
}

// Request is one signed request the fake accepted.
type Request struct {
	Method, Path string
	Params       url.Values
}

type user struct {
	result  string // preauth result: auth, allow, deny
	devices []Device
}

type tx struct {
	push     Push
	result   string // waiting, allow, deny
	status   string // pushed, allow, deny, timeout
	polled   bool   // the current state has been returned once
	changed  chan struct{}
	answered bool
}

// Server is a running fake Duo API.
type Server struct {
	// Host is the API hostname to configure (127.0.0.1:port); the fake
	// signs with it, lower-cased.
	Host string
	// Client trusts the fake's TLS certificate.
	Client *http.Client

	ikey, skey string
	srv        *httptest.Server

	mu       sync.Mutex
	users    map[string]*user
	txs      map[string]*tx
	pushes   []Push
	requests []Request
	notify   chan struct{}
	fail     int
	failing  chan struct{} // closed when Fail is called
	stall    time.Duration
}

// New starts a fake over TLS on a free loopback port that accepts
// requests signed with ikey and skey. Close stops it.
func New(ikey, skey string) *Server {
	s := &Server{ikey: ikey, skey: skey, users: map[string]*user{}, txs: map[string]*tx{}, notify: make(chan struct{}), failing: make(chan struct{})}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.Host = s.srv.Listener.Addr().String()
	s.Client = s.srv.Client()
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddUser enrols username with devices: preauth answers "auth".
func (s *Server) AddUser(username string, devices ...Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[username] = &user{result: "auth", devices: devices}
}

// RemoveUser forgets username: preauth answers "enroll".
func (s *Server) RemoveUser(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, username)
}

// SetPreauth makes preauth answer result ("allow": bypass, "deny": locked
// out) for username.
func (s *Server) SetPreauth(username, result string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[username]; ok {
		u.result = result
		return
	}
	s.users[username] = &user{result: result}
}

// Fail makes every signed request answer status (0: normal again),
// including the auth_status requests waiting in a long poll.
func (s *Server) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
	close(s.failing)
	s.failing = make(chan struct{})
}

// Stall holds preauth and auth this long before answering (0: no more).
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = d
}

// Pushes returns the pushes sent so far.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Requests returns the signed requests accepted so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// NextPush waits until more than n pushes were sent and returns push n.
func (s *Server) NextPush(ctx context.Context, n int) (Push, error) {
	for {
		s.mu.Lock()
		if len(s.pushes) > n {
			p := s.pushes[n]
			s.mu.Unlock()
			return p, nil
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Push{}, fmt.Errorf("fake duo: push %d never came: %w", n, ctx.Err())
		}
	}
}

// Answer plays the person's answer to push txid: "allow" (Approve),
// "deny" (Deny) or "timeout" (no answer within Duo's own time).
func (s *Server) Answer(txid, answer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txs[txid]
	if !ok || t.answered {
		return fmt.Errorf("fake duo: no open push %q", txid)
	}
	switch answer {
	case "allow":
		t.result, t.status = "allow", "allow"
	case "deny", "timeout":
		t.result, t.status = "deny", answer
	default:
		return fmt.Errorf("fake duo: answer %q: want allow, deny or timeout", answer)
	}
	t.answered, t.polled = true, false
	close(t.changed)
	return nil
}

type fail struct {
	Stat          string `json:"stat"`
	Code          int    `json:"code"`
	Message       string `json:"message"`
	MessageDetail string `json:"message_detail,omitempty"`
}

func writeFail(w http.ResponseWriter, status, code int, msg, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(fail{"FAIL", code, msg, detail})
	_, _ = w.Write(b)
}

func writeOK(w http.ResponseWriter, response any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"stat": "OK", "response": response})
	_, _ = w.Write(b)
}

// encode is Duo's URL-encoding for signing: every byte but the unreserved
// ones as %XX, upper-case hex.
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonParams sorts the parameters by name (and a name's values) and
// joins them encoded.
func canonParams(p url.Values) string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		vs := append([]string(nil), p[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, encode(k)+"="+encode(v))
		}
	}
	return strings.Join(parts, "&")
}

// Signature is the signature Duo expects of a request, for tests that
// need to forge one on purpose.
func Signature(skey, date, method, host, path string, params url.Values) string {
	canon := strings.Join([]string{date, strings.ToUpper(method), strings.ToLower(host), path, canonParams(params)}, "\n")
	m := hmac.New(sha512.New, []byte(skey))
	m.Write([]byte(canon))
	return hex.EncodeToString(m.Sum(nil))
}

// verify checks the request's credentials and returns its parameters;
// on failure it has answered the request.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	var raw string
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeFail(w, 400, 40002, "Invalid request parameters", "")
			return nil, false
		}
		raw = string(b)
	} else {
		raw = r.URL.RawQuery
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		writeFail(w, 400, 40002, "Invalid request parameters", "")
		return nil, false
	}
	auth := r.Header.Get("Authorization")
	date := r.Header.Get("Date")
	if auth == "" || !strings.HasPrefix(auth, "Basic ") {
		writeFail(w, 401, 40101, "Missing request credentials", "")
		return nil, false
	}
	if _, err := mail.ParseDate(date); err != nil {
		writeFail(w, 401, 40101, "Missing request credentials", "Date")
		return nil, false
	}
	cred, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
	ikey, sig, found := strings.Cut(string(cred), ":")
	if err != nil || !found {
		writeFail(w, 401, 40101, "Missing request credentials", "")
		return nil, false
	}
	if !hmac.Equal([]byte(ikey), []byte(s.ikey)) {
		writeFail(w, 401, 40102, "Invalid integration key in request credentials", "")
		return nil, false
	}
	want := Signature(s.skey, date, r.Method, s.Host, r.URL.Path, params)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		writeFail(w, 401, 40103, "Invalid signature in request credentials", "")
		return nil, false
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Params: params})
	s.mu.Unlock()
	return params, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/auth/v2/ping" {
		writeOK(w, map[string]int64{"time": time.Now().Unix()})
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /auth/v2/check", "POST /auth/v2/preauth", "POST /auth/v2/auth", "GET /auth/v2/auth_status":
	default:
		writeFail(w, 404, 40401, "Resource not found", "")
		return
	}
	params, ok := s.verify(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	failWith, stall := s.fail, s.stall
	s.mu.Unlock()
	if failWith != 0 {
		writeFail(w, failWith, failWith*100, http.StatusText(failWith), "")
		return
	}
	if stall > 0 && (route == "POST /auth/v2/preauth" || route == "POST /auth/v2/auth") {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	switch route {
	case "GET /auth/v2/check":
		writeOK(w, map[string]int64{"time": time.Now().Unix()})
	case "POST /auth/v2/preauth":
		s.preauth(w, params)
	case "POST /auth/v2/auth":
		s.auth(w, r, params)
	case "GET /auth/v2/auth_status":
		s.authStatus(w, r, params)
	}
}

func (s *Server) preauth(w http.ResponseWriter, p url.Values) {
	name := p.Get("username")
	if name == "" {
		writeFail(w, 400, 40001, "Missing required request parameters", "username")
		return
	}
	s.mu.Lock()
	u, ok := s.users[name]
	s.mu.Unlock()
	switch {
	case !ok:
		writeOK(w, map[string]string{"result": "enroll", "status_msg": "Enroll an authentication device to proceed",
			"enroll_portal_url": "https://" + s.Host + "/portal?code=" + randomHex(8)})
	case u.result == "allow":
		writeOK(w, map[string]string{"result": "allow", "status_msg": "Allowing unknown user"})
	case u.result == "deny":
		writeOK(w, map[string]string{"result": "deny", "status_msg": "Your account is disabled"})
	default:
		writeOK(w, map[string]any{"result": "auth", "status_msg": "Account is active", "devices": u.devices})
	}
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request, p url.Values) {
	name := p.Get("username")
	switch {
	case name == "":
		writeFail(w, 400, 40001, "Missing required request parameters", "username")
		return
	case p.Get("factor") == "":
		writeFail(w, 400, 40001, "Missing required request parameters", "factor")
		return
	case p.Get("factor") != "push":
		writeFail(w, 400, 40002, "Invalid request parameters", "factor") // only push is modelled
		return
	case p.Get("device") == "":
		writeFail(w, 400, 40001, "Missing required request parameters", "device")
		return
	case len(p.Get("pushinfo")) >= 20000:
		writeFail(w, 400, 40002, "Invalid request parameters", "pushinfo")
		return
	}
	info, err := url.ParseQuery(p.Get("pushinfo"))
	if err != nil {
		writeFail(w, 400, 40002, "Invalid request parameters", "pushinfo")
		return
	}
	s.mu.Lock()
	u, ok := s.users[name]
	var device string
	if ok && u.result == "auth" {
		for _, d := range u.devices {
			for _, c := range d.Capabilities {
				if c == "push" && (p.Get("device") == "auto" || p.Get("device") == d.Device) && device == "" {
					device = d.Device
				}
			}
		}
	}
	if device == "" {
		s.mu.Unlock()
		writeFail(w, 400, 40002, "Invalid request parameters", "device")
		return
	}
	t := &tx{push: Push{Txid: randomHex(18), Username: name, Device: device, Type: p.Get("type"),
		DisplayUsername: p.Get("display_username"), Pushinfo: info},
		result: "waiting", status: "pushed", changed: make(chan struct{})}
	s.txs[t.push.Txid] = t
	s.pushes = append(s.pushes, t.push)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	if p.Get("async") == "1" {
		writeOK(w, map[string]string{"txid": t.push.Txid})
		return
	}
	// Without async, the answer waits for the outcome.
	select {
	case <-t.changed:
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	res := map[string]string{"result": t.result, "status": t.status, "status_msg": statusMsg(t.status)}
	s.mu.Unlock()
	writeOK(w, res)
}

func (s *Server) authStatus(w http.ResponseWriter, r *http.Request, p url.Values) {
	id := p.Get("txid")
	if id == "" {
		writeFail(w, 400, 40001, "Missing required request parameters", "txid")
		return
	}
	s.mu.Lock()
	t, ok := s.txs[id]
	if !ok {
		s.mu.Unlock()
		writeFail(w, 400, 40002, "Invalid request parameters", "txid")
		return
	}
	wait := t.polled && !t.answered
	ch, failing := t.changed, s.failing
	s.mu.Unlock()
	if wait {
		// Long poll: hold until the state changes (or a while passes).
		select {
		case <-ch:
		case <-failing:
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	if s.fail != 0 {
		status := s.fail
		s.mu.Unlock()
		writeFail(w, status, status*100, http.StatusText(status), "")
		return
	}
	t.polled = true
	res := map[string]string{"result": t.result, "status": t.status, "status_msg": statusMsg(t.status)}
	s.mu.Unlock()
	writeOK(w, res)
}

func statusMsg(status string) string {
	switch status {
	case "pushed":
		return "Pushed a login request to your device..."
	case "allow":
		return "Success. Logging you in..."
	case "deny":
		return "Login request denied."
	case "timeout":
		return "Login timed out."
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
