package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
)

// NtfyConfig is one ntfy server and the callback address its buttons
// call: the delivery.ntfy block of sspr.yaml, decoded over DefaultNtfy.
// PublicURL, Key, HTTPClient, Log and Observe are set in code; the caller
// reads Key from KeyFile or KeyEnv (or its own secret key).
type NtfyConfig struct {
	// Server is the base URL of the ntfy server, e.g. https://ntfy.example.com.
	Server string `yaml:"server" doc:"the ntfy server's base URL, e.g. https://ntfy.example.com"`
	// Token is an ntfy access token (tk_...) allowed to publish to the
	// users' topics; none publishes anonymously.
	Token config.Secret `yaml:"token" default:"none: publish anonymously" doc:"the access token (tk_...) that may publish to the sspr_ topics, inline, in a file or in an environment variable"`
	// KeyFile (the whole file) or KeyEnv holds the key (32 bytes or more)
	// the topic names and the callback MACs are derived from; neither
	// means the caller's secret key. Changing it changes every person's
	// topic. NewNtfy does not read them: it takes Key.
	KeyFile string `yaml:"key_file" default:"secret_key_file" doc:"the key (32 bytes or more, the whole file, mode 0600) the topic names and the callback MACs are derived from; changing it changes every person's topic"`
	KeyEnv  string `yaml:"key_env" doc:"the same key in an environment variable"`
	// TopicPrefix starts every topic name (default "sspr_"), so the ntfy
	// ACL can grant sspr write access to exactly these topics.
	TopicPrefix string `yaml:"topic_prefix" default:"sspr_" doc:"starts every topic, for the ntfy ACL (1 to 32 letters, digits, - and _)"`
	// Title heads the notification (default "Password reset").
	Title string `yaml:"title" default:"Password reset" doc:"heads the notification (up to 100 printable characters)"`
	// Priority is ntfy's 1 (min) to 5 (max); 0 means 4 (high).
	Priority int `yaml:"priority" default:"4" range:"0..5" doc:"ntfy's priority, 1 (min) to 5 (max); 0: 4"`
	// Timeout bounds one publish or check (default 5s): flow shows the
	// waiting screen only once Deliver returns.
	Timeout time.Duration `yaml:"timeout" default:"5s" range:"0|1s..30s" doc:"one publish; 0s: 5s"`
	// PublicURL is the base URL under which the phones reach sspr's HTTP
	// listener; the buttons call {PublicURL}/hooks/ntfy/{token}.
	PublicURL string `yaml:"-"`
	// Key (32 bytes or more) derives both the topic names and the key of
	// the callback MACs. Every instance needs the same one; changing it
	// changes every topic.
	Key []byte `yaml:"-"`
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client `yaml:"-"`
	// Log receives refused callbacks and failures; nil discards them.
	Log *slog.Logger `yaml:"-"`
	// Observe, when set, is told what each callback brought: "answered",
	// or why it was refused ("malformed_token", "malformed_body",
	// "bad_mac", "answered_or_expired", "failed").
	Observe func(event string) `yaml:"-"`
}

// DefaultNtfy is the delivery.ntfy block before the file's keys.
func DefaultNtfy() NtfyConfig {
	return NtfyConfig{TopicPrefix: defaultTopicPrefix, Title: defaultTitle, Priority: defaultPriority, Timeout: defaultTimeout}
}

// SetDefaults gives a delivery.ntfy block its defaults.
func (c *NtfyConfig) SetDefaults() { *c = DefaultNtfy() }

// The defaults of a zero field.
const (
	defaultTopicPrefix = "sspr_"
	defaultTitle       = "Password reset"
	defaultPriority    = 4
	defaultTimeout     = 5 * time.Second
)

// Validate checks the keys of the block, every rule at once, with paths
// relative to it (server, token, key_file...). The ranges of priority and
// timeout are their tags'; config.Load checks them.
func (c NtfyConfig) Validate() error {
	es := c.problems()
	if c.KeyFile != "" && c.KeyEnv != "" {
		es.Add("key_file", "is given with key_env (one of key_file, key_env, or neither: secret_key_file)")
	}
	if c.KeyFile != "" {
		if err := config.CheckPrivate(c.KeyFile); err != nil {
			es.Add("key_file", "%v", err)
		}
	}
	return es.Err()
}

// problems are the rules NewNtfy applies too.
func (c NtfyConfig) problems() config.Errors {
	var es config.Errors
	if _, err := baseURL(c.Server); err != nil {
		es.Add("server", "%q is not allowed (the ntfy server's http:// or https:// base URL, e.g. https://ntfy.example.com)", flow.Sanitize(c.Server, 200))
	}
	if v := c.Token.Value(); v != "" && !strings.HasPrefix(v, "tk_") {
		es.Add("token", "is not an access token (an ntfy access token, tk_ followed by 29 characters: ntfy token add)")
	}
	if c.TopicPrefix != "" && (!validTopic(c.TopicPrefix) || len(c.TopicPrefix) > 32) {
		es.Add("topic_prefix", "%q is not allowed (1 to 32 letters, digits, - and _)", flow.Sanitize(c.TopicPrefix, 64))
	}
	if len(c.Title) > 100 || c.Title != flow.Sanitize(c.Title, 100) {
		es.Add("title", "%q is not allowed (up to 100 printable characters)", flow.Sanitize(c.Title, 100))
	}
	return es
}

// Ntfy publishes pushes to an ntfy server and takes the taps.
type Ntfy struct {
	cfg      NtfyConfig
	token    string
	client   *http.Client
	server   string // without the trailing slash
	hookBase string // {PublicURL}/hooks/ntfy/
	topicKey []byte
	macKey   []byte
	log      *slog.Logger
}

// NtfyHookPath is where the HTTP listener mounts CallbackHandler.
const NtfyHookPath = "/hooks/ntfy/"

// maxChoices is how many action buttons ntfy allows on one message.
const maxChoices = 3

// NewNtfy checks cfg and returns the sender. It contacts nothing. A wrong
// key is reported as Validate reports it (config.Errors, with paths
// relative to the block; a timeout under 1s is accepted, for tests); zero
// fields take their defaults. The token is read if it was not already.
func NewNtfy(cfg NtfyConfig) (*Ntfy, error) {
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = defaultTopicPrefix
	}
	if cfg.Title == "" {
		cfg.Title = defaultTitle
	}
	if cfg.Priority == 0 {
		cfg.Priority = defaultPriority
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	es := cfg.problems()
	if cfg.Priority < 1 || cfg.Priority > 5 {
		es.Add("priority", "%d is not allowed (1 to 5, or 0 for 4)", cfg.Priority)
	}
	token, err := secretValue(&cfg.Token, "token")
	if err != nil {
		es.Add("token", "%v", err)
	}
	if len(es) > 0 {
		return nil, es
	}
	srv, _ := baseURL(cfg.Server)
	pub, err := baseURL(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("ntfy: public url: %w", err)
	}
	if len(cfg.Key) < 32 {
		return nil, fmt.Errorf("ntfy: key has %d bytes, want at least 32", len(cfg.Key))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Ntfy{
		cfg: cfg, token: token, client: client, server: srv, hookBase: pub + NtfyHookPath,
		topicKey: derive(cfg.Key, "sspr ntfy topic"),
		macKey:   derive(cfg.Key, "sspr ntfy callback"),
		log:      log,
	}, nil
}

// baseURL accepts an absolute http(s) URL without query or fragment and
// returns it without a trailing slash.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q is not an http:// or https:// base URL", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// secretValue is s's value, read now when it was not (a Secret built in
// code rather than by config.Load); key names it in messages.
func secretValue(s *config.Secret, key string) (string, error) {
	if v := s.Value(); v != "" || !s.IsSet() {
		return v, nil
	}
	if err := s.Resolve(key); err != nil {
		return "", err
	}
	return s.Value(), nil
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

var topicEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Topic is the ntfy topic of the directory entry id: the prefix and 26
// characters (130 bits) of an HMAC of id, so nobody without the key can
// name it. The person subscribes their ntfy app to it once.
func (n *Ntfy) Topic(id string) string {
	return NtfyTopic(n.cfg.Key, n.cfg.TopicPrefix, id)
}

// NtfyTopic is Ntfy.Topic without a sender, for tools that show a person
// the topic to subscribe to. An empty prefix means "sspr_".
func NtfyTopic(key []byte, prefix, id string) string {
	if prefix == "" {
		prefix = defaultTopicPrefix
	}
	m := hmac.New(sha256.New, derive(key, "sspr ntfy topic"))
	m.Write([]byte(id))
	return prefix + topicEncoding.EncodeToString(m.Sum(nil))[:26]
}

func validTopic(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// mac binds an answer to the pending approval it answers.
func (n *Ntfy) mac(token, answer string) string {
	m := hmac.New(sha256.New, n.macKey)
	m.Write([]byte("sspr ntfy callback\x00" + token + "\x00" + answer))
	return hex.EncodeToString(m.Sum(nil))
}

// ntfyAction is an "http" action button as ntfy's JSON publishing takes it.
type ntfyAction struct {
	Action  string            `json:"action"`
	Label   string            `json:"label"`
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
	Clear   bool              `json:"clear"`
}

// ntfyMessage is the JSON body of a publish to the server's root URL.
type ntfyMessage struct {
	Topic    string       `json:"topic"`
	Title    string       `json:"title"`
	Message  string       `json:"message"`
	Priority int          `json:"priority"`
	Tags     []string     `json:"tags"`
	Actions  []ntfyAction `json:"actions"`
}

// ntfyCallback is the body each button posts back.
type ntfyCallback struct {
	Answer string `json:"answer"`
	MAC    string `json:"mac"`
}

// ntfyError is the error body of ntfy's API.
type ntfyError struct {
	Code int    `json:"code"`
	HTTP int    `json:"http"`
	Err  string `json:"error"`
}

// Deliver publishes the push: d.Text, and one button per choice that
// posts the number and its MAC to the callback URL of d.Token.
func (n *Ntfy) Deliver(ctx context.Context, d flow.Delivery) error {
	if d.Method != flow.PushApp {
		return fmt.Errorf("ntfy: cannot deliver %q, only pushes", d.Method)
	}
	if d.To == "" {
		return errors.New("ntfy: no destination")
	}
	if !validToken(d.Token) {
		return errors.New("ntfy: the approval token is malformed")
	}
	if len(d.Choices) == 0 || len(d.Choices) > maxChoices {
		return fmt.Errorf("ntfy: %d choices, want 1 to %d", len(d.Choices), maxChoices)
	}
	topic := n.Topic(d.To)
	msg := ntfyMessage{Topic: topic, Title: n.cfg.Title, Message: d.Text, Priority: n.cfg.Priority, Tags: []string{"lock"}}
	for _, c := range d.Choices {
		if !digits(c) {
			return errors.New("ntfy: a choice is not a number")
		}
		body, _ := json.Marshal(ntfyCallback{Answer: c, MAC: n.mac(d.Token, c)})
		msg.Actions = append(msg.Actions, ntfyAction{
			Action: "http", Label: c, URL: n.hookBase + d.Token, Method: http.MethodPost,
			Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body), Clear: true,
		})
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("ntfy: encoding the message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.server+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ntfy: publish: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	n.authorize(req)
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("ntfy: publish: %w", n.scrub(err, topic))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ntfy: publish refused: %w", n.scrub(apiError(resp), topic))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Check makes an authenticated request that publishes nothing: GET
// /v1/account, which ntfy answers 401 for a token it does not know.
func (n *Ntfy) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.server+"/v1/account", nil)
	if err != nil {
		return fmt.Errorf("ntfy: check: %w", err)
	}
	n.authorize(req)
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("ntfy: check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ntfy: check: %w", n.scrub(apiError(resp), ""))
	}
	// The account answer lists the user's tokens: read only the name.
	var acct struct {
		Username string `json:"username"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&acct); err != nil {
		return fmt.Errorf("ntfy: check: %s/v1/account is not an ntfy account answer: %w", n.server, err)
	}
	if n.token != "" && (acct.Username == "" || acct.Username == "*") {
		return errors.New("ntfy: check: the server took the request as anonymous; is access control on?")
	}
	return nil
}

func (n *Ntfy) authorize(req *http.Request) {
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
}

// apiError reads ntfy's JSON error, or says what came instead.
func apiError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var e ntfyError
	if json.Unmarshal(raw, &e) == nil && e.Code != 0 {
		return fmt.Errorf("HTTP %d, ntfy code %d: %s", resp.StatusCode, e.Code, e.Err)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// scrub removes the token and the topic from an error's text: a server
// or proxy may echo either back.
func (n *Ntfy) scrub(err error, topic string) error {
	msg := err.Error()
	clean := msg
	if n.token != "" {
		clean = strings.ReplaceAll(clean, n.token, "[token]")
	}
	if topic != "" {
		clean = strings.ReplaceAll(clean, topic, "[topic]")
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func validToken(t string) bool {
	if len(t) != 32 {
		return false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (n *Ntfy) observe(event string) {
	if n.cfg.Observe != nil {
		n.cfg.Observe(event)
	}
}

// tokenRef names a token in logs without giving it away.
func tokenRef(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:6])
}

// CallbackHandler takes the taps on the buttons of Deliver's pushes and
// hands the number to approve ((*flow.Engine).Approve). It serves
// POST {prefix}/{token} whether or not the mux strips NtfyHookPath.
//
// ntfy does not sign the requests its app makes, so each button carries a
// MAC over the token and its number. A request is refused, and logged,
// when the token is malformed (404), the MAC is wrong (403: forged or sent
// to another token's URL), or the approval is answered or gone (409: a
// replay, or too late).
func (n *Ntfy) CallbackHandler(approve func(ctx context.Context, token, answer string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		token := strings.TrimPrefix(r.URL.Path, NtfyHookPath)
		token = strings.TrimPrefix(token, "/")
		refuse := func(status int, reason string) {
			n.observe(reason)
			n.log.Warn("ntfy callback refused", "reason", reason, "status", status, "remote", r.RemoteAddr, "token_ref", tokenRef(token))
			http.Error(w, http.StatusText(status), status)
		}
		if !validToken(token) {
			refuse(http.StatusNotFound, "malformed_token")
			return
		}
		var cb ntfyCallback
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		if err := dec.Decode(&cb); err != nil || !digits(cb.Answer) {
			refuse(http.StatusBadRequest, "malformed_body")
			return
		}
		want := n.mac(token, cb.Answer)
		if !hmac.Equal([]byte(want), []byte(strings.ToLower(cb.MAC))) {
			refuse(http.StatusForbidden, "bad_mac")
			return
		}
		err := approve(r.Context(), token, cb.Answer)
		switch {
		case errors.Is(err, flow.ErrNoApproval):
			refuse(http.StatusConflict, "answered_or_expired")
			return
		case err != nil:
			n.observe("failed")
			n.log.Error("ntfy callback failed", "token_ref", tokenRef(token), "error", err.Error())
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		n.observe("answered")
		n.log.Info("ntfy callback accepted", "token_ref", tokenRef(token), "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "Thank you. Go back to your screen.\n")
	})
}
