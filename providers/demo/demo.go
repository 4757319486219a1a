// Package demo delivers texts, calls, emails and pushes without any outside
// service, for the demo mode: each delivery is appended as one line to an
// outbox file and kept in memory for the phone drawn beside the wizard,
// where texts arrive, calls ring with a keypad, pushes offer their numbers
// and an authenticator app shows its codes.
package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// Bounds of what the phone remembers, so that a long-running demo server
// holds a bounded amount of memory whatever its visitors do.
const (
	// MaxPerSession is how many deliveries a session's inbox keeps; older
	// ones are dropped first.
	MaxPerSession = 20
	// MaxSessions is how many inboxes are kept; beyond it, the one that
	// received nothing for longest is dropped.
	MaxSessions = 4096
	// SessionTTL is how long an inbox is kept after its last delivery.
	SessionTTL = time.Hour
)

// maxField bounds each field of an outbox line, in runes.
const maxField = 1024

// Approver takes the answer to a call or a push; *flow.Engine is one.
type Approver interface {
	Approve(ctx context.Context, token, answer string) error
}

// Phone is the demo phone: a flow.Sender for every method, and the inbox,
// keypad and authenticator app of the demo panel. It is safe for
// concurrent use.
type Phone struct {
	outbox  string
	secrets map[string]string
	clock   flow.Clock

	mu        sync.Mutex
	inboxes   map[string]*inbox
	tokens    map[string]string // pending call or push token -> session id
	lastSweep time.Time
	approver  Approver
}

type inbox struct {
	items []flow.Delivery
	last  time.Time
}

var _ flow.Sender = (*Phone)(nil)

// Option changes a Phone.
type Option func(*Phone)

// WithClock sets the clock that dates the outbox lines and ages the
// inboxes; tests move a fake one.
func WithClock(c flow.Clock) Option { return func(p *Phone) { p.clock = c } }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns a Phone that appends to the file outbox (none when empty) and
// whose authenticator app holds secrets, base32 TOTP secrets by login. Keys
// are matched ignoring case and surrounding space; give one for every name
// a person may sign in with (login and email) to show codes for both.
func New(outbox string, secrets map[string]string, opts ...Option) *Phone {
	p := &Phone{
		outbox:  outbox,
		secrets: make(map[string]string, len(secrets)),
		clock:   systemClock{},
		inboxes: map[string]*inbox{},
		tokens:  map[string]string{},
	}
	for login, s := range secrets {
		p.secrets[normalise(login)] = s
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// SetApprover names who takes the answers keyed on the phone: the engine,
// which is built after its senders.
func (p *Phone) SetApprover(a Approver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.approver = a
}

// Deliver implements flow.Sender: the delivery is written to the outbox,
// then put in its session's inbox.
func (p *Phone) Deliver(ctx context.Context, d flow.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := p.clock.Now()
	if p.outbox != "" {
		if err := p.appendLine(outboxLine(now, d)); err != nil {
			return fmt.Errorf("demo %s delivery: %w", flow.Sanitize(string(d.Method), 32), err)
		}
	}
	d.Choices = append([]string(nil), d.Choices...)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(now)
	in := p.inboxes[d.SessionID]
	if in == nil {
		if len(p.inboxes) >= MaxSessions {
			p.dropOldest()
		}
		in = &inbox{}
		p.inboxes[d.SessionID] = in
	}
	in.last = now
	in.items = append(in.items, d)
	if n := len(in.items) - MaxPerSession; n > 0 {
		p.forgetTokens(in.items[:n])
		in.items = append([]flow.Delivery(nil), in.items[n:]...)
	}
	// Calls and pushes are answered on the phone; a text's token is only
	// the watch on its delivery.
	if d.Token != "" && d.Method.Answered() {
		p.tokens[d.Token] = d.SessionID
	}
	return nil
}

// outboxLine renders one delivery as one line of tab-separated fields:
// time (RFC 3339, UTC), method, destination, text and, for a push, the
// numbers offered. Fields lose every control character, tabs and line
// breaks included, so a line stays a line whatever they held. The token of
// a call or a push is left out: the line is for reading.
func outboxLine(now time.Time, d flow.Delivery) []byte {
	f := []string{
		now.UTC().Format(time.RFC3339),
		flow.Sanitize(string(d.Method), 32),
		flow.Sanitize(d.To, maxField),
		flow.Sanitize(d.Text, maxField),
	}
	if len(d.Choices) > 0 {
		cs := make([]string, len(d.Choices))
		for i, c := range d.Choices {
			cs[i] = strings.ReplaceAll(flow.Sanitize(c, 16), ",", "")
		}
		f = append(f, "choices="+strings.Join(cs, ","))
	}
	return []byte(strings.Join(f, "\t") + "\n")
}

// appendLine adds line to the outbox in one write. With O_APPEND the
// kernel puts each write at the end as a whole, so sessions and processes
// writing at once never interleave within a line.
func (p *Phone) appendLine(line []byte) error {
	f, err := os.OpenFile(p.outbox, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open outbox: %w", err)
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

// sweep drops inboxes idle for SessionTTL, at most once a minute; the
// caller holds mu.
func (p *Phone) sweep(now time.Time) {
	if now.Sub(p.lastSweep) < time.Minute {
		return
	}
	p.lastSweep = now
	for id, in := range p.inboxes {
		if now.Sub(in.last) > SessionTTL {
			p.drop(id)
		}
	}
}

// dropOldest drops the inbox that received nothing for longest; the caller
// holds mu.
func (p *Phone) dropOldest() {
	var oldest string
	var at time.Time
	for id, in := range p.inboxes {
		if oldest == "" || in.last.Before(at) {
			oldest, at = id, in.last
		}
	}
	p.drop(oldest)
}

func (p *Phone) drop(id string) {
	if in := p.inboxes[id]; in != nil {
		p.forgetTokens(in.items)
		delete(p.inboxes, id)
	}
}

func (p *Phone) forgetTokens(items []flow.Delivery) {
	for _, d := range items {
		delete(p.tokens, d.Token)
	}
}

// Inbox returns what was delivered to the session, oldest first; nothing
// once the session has been forgotten. The caller may keep the result.
func (p *Phone) Inbox(sessionID string) []flow.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := p.inboxes[sessionID]
	if in == nil || p.clock.Now().Sub(in.last) > SessionTTL {
		return nil
	}
	out := make([]flow.Delivery, len(in.items))
	for i, d := range in.items {
		d.Choices = append([]string(nil), d.Choices...)
		out[i] = d
	}
	return out
}

// ErrNoApprover means Answer was called before SetApprover.
var ErrNoApprover = errors.New("demo phone: no approver set")

// Answer keys digits on a ringing call or taps a number on a push: the
// answer goes to the approver with the delivery's token. Only tokens this
// phone delivered are answered; any other is flow.ErrNoApproval.
func (p *Phone) Answer(ctx context.Context, token, answer string) error {
	p.mu.Lock()
	_, known := p.tokens[token]
	a := p.approver
	p.mu.Unlock()
	if !known || token == "" {
		return flow.ErrNoApproval
	}
	if a == nil {
		return ErrNoApprover
	}
	if err := a.Approve(ctx, token, answer); err != nil {
		return fmt.Errorf("demo phone: answer: %w", err)
	}
	return nil
}

// AuthenticatorCode is the code the demo authenticator app shows for login
// at t; false when the app holds no account for login.
func (p *Phone) AuthenticatorCode(login string, t time.Time) (string, bool) {
	secret, ok := p.secrets[normalise(login)]
	if !ok {
		return "", false
	}
	code, err := totp.Code(secret, t)
	if err != nil {
		return "", false
	}
	return code, true
}

// normalise keys the demo app's secrets the way flow keys logins.
func normalise(login string) string { return flow.CanonicalLogin(login) }
