package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var start = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))

func newPhone(t *testing.T) (*Phone, string, *fakeClock) {
	t.Helper()
	outbox := filepath.Join(t.TempDir(), "outbox.log")
	clock := &fakeClock{now: start}
	return New(outbox, map[string]string{"Alice": "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"}, WithClock(clock)), outbox, clock
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestDeliverAppendsOneLineEach(t *testing.T) {
	p, outbox, _ := newPhone(t)
	ctx := context.Background()
	deliveries := []struct {
		d    flow.Delivery
		want string
	}{
		{flow.Delivery{SessionID: "s1", Method: flow.TextMobile, To: "+1 212 555 0101", Text: "Your code is 12345678."},
			"2026-03-01T08:30:00Z\tsms\t+1 212 555 0101\tYour code is 12345678."},
		{flow.Delivery{SessionID: "s1", Method: flow.EmailAltern, To: "alice@example.com", Text: "Your code is 87654321."},
			"2026-03-01T08:30:00Z\temail\talice@example.com\tYour code is 87654321."},
		{flow.Delivery{SessionID: "s1", Method: flow.CallOffice, To: "+1 212 555 0111", Text: "Key in the number.", Token: strings.Repeat("a", 32)},
			"2026-03-01T08:30:00Z\tcall_office\t+1 212 555 0111\tKey in the number."},
		{flow.Delivery{SessionID: "s2", Method: flow.PushApp, To: "alice", Text: "Tap the number.", Token: strings.Repeat("b", 32), Choices: []string{"12", "34", "56"}},
			"2026-03-01T08:30:00Z\tpush\talice\tTap the number.\tchoices=12,34,56"},
	}
	for _, tc := range deliveries {
		if err := p.Deliver(ctx, tc.d); err != nil {
			t.Fatal(err)
		}
	}
	lines := readLines(t, outbox)
	if len(lines) != len(deliveries) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(deliveries), strings.Join(lines, "\n"))
	}
	for i, tc := range deliveries {
		if lines[i] != tc.want {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], tc.want)
		}
		if strings.Contains(lines[i], "aaaa") || strings.Contains(lines[i], "bbbb") {
			t.Errorf("line %d carries the token", i)
		}
	}
	fi, err := os.Stat(outbox)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("outbox mode %o, want 600", m)
	}
}

func TestControlCharactersCannotBreakALine(t *testing.T) {
	tests := []struct {
		name string
		d    flow.Delivery
	}{
		{"newline in text", flow.Delivery{Method: flow.TextMobile, To: "+1", Text: "code 1\n2026-01-01T00:00:00Z\tsms\tforged"}},
		{"carriage return", flow.Delivery{Method: flow.TextMobile, To: "+1\r\n", Text: "a\rb"}},
		{"escape sequence", flow.Delivery{Method: flow.EmailAltern, To: "x\x1b[2J@example.com", Text: "\x1b]0;title\x07hi"}},
		{"unicode separators", flow.Delivery{Method: flow.EmailAltern, To: "a\u2028b", Text: "c\u2029d\u0085e"}},
		{"tab in method", flow.Delivery{Method: "sms\tforged", To: "x", Text: "y"}},
		{"choices", flow.Delivery{Method: flow.PushApp, To: "x", Text: "y", Choices: []string{"1\n2", "3,4", "5\t6"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, outbox, _ := newPhone(t)
			if err := p.Deliver(context.Background(), tc.d); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(outbox)
			if err != nil {
				t.Fatal(err)
			}
			line := strings.TrimSuffix(string(data), "\n")
			if strings.ContainsFunc(line, func(r rune) bool { return r != '\t' && unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
				t.Errorf("control character left in %q", line)
			}
			want := 4
			if len(tc.d.Choices) > 0 {
				want = 5
				if got := line[strings.LastIndex(line, "\t")+1:]; got != "choices=12,34,56" {
					t.Errorf("choices field %q", got)
				}
			}
			if n := len(strings.Split(line, "\t")); n != want {
				t.Errorf("%d fields in %q, want %d", n, line, want)
			}
		})
	}
}

func TestConcurrentDeliveriesGiveWholeLines(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox.log")
	// Two phones on one file stand for two sspr processes.
	phones := []*Phone{New(outbox, nil), New(outbox, nil)}
	const writers, each = 40, 25
	var wg sync.WaitGroup
	for w := range writers {
		p := phones[w%2]
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("writer %02d message %02d %s", w, i, strings.Repeat("x", 300))
				d := flow.Delivery{SessionID: fmt.Sprint(w), Method: flow.TextMobile, To: "+1 212 555 0101", Text: text}
				if err := p.Deliver(context.Background(), d); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := readLines(t, outbox)
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		var w, i int
		if len(f) != 4 || f[1] != "sms" || len(f[3]) != 321 {
			t.Fatalf("broken line %q", l)
		}
		if _, err := fmt.Sscanf(f[3], "writer %d message %d", &w, &i); err != nil {
			t.Fatalf("broken line %q", l)
		}
		seen[f[3][:20]] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct messages, want %d", len(seen), writers*each)
	}
}

func TestInboxPerSession(t *testing.T) {
	p, _, _ := newPhone(t)
	ctx := context.Background()
	for _, d := range []flow.Delivery{
		{SessionID: "s1", Method: flow.TextMobile, Text: "one"},
		{SessionID: "s2", Method: flow.EmailAltern, Text: "two"},
		{SessionID: "s1", Method: flow.PushApp, Text: "three", Choices: []string{"10", "20", "30"}},
	} {
		if err := p.Deliver(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	texts := func(id string) []string {
		var out []string
		for _, d := range p.Inbox(id) {
			out = append(out, d.Text)
		}
		return out
	}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"s1", []string{"one", "three"}},
		{"s2", []string{"two"}},
		{"s3", nil},
		{"", nil},
	} {
		if got := texts(tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("Inbox(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
	// What Inbox returns is the caller's to change.
	in := p.Inbox("s1")
	in[1].Choices[0] = "99"
	in[0].Text = "changed"
	if again := p.Inbox("s1"); again[1].Choices[0] != "10" || again[0].Text != "one" {
		t.Error("Inbox shares memory with the phone")
	}
}

func TestMemoryOnlyWithoutOutbox(t *testing.T) {
	dir := t.TempDir()
	p := New("", nil)
	if err := p.Deliver(context.Background(), flow.Delivery{SessionID: "s", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(p.Inbox("s")) != 1 {
		t.Error("not kept in memory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

func TestOutboxFailureIsADeliveryFailure(t *testing.T) {
	p := New(filepath.Join(t.TempDir(), "missing", "outbox.log"), nil)
	err := p.Deliver(context.Background(), flow.Delivery{SessionID: "s", Method: flow.TextMobile, Text: "code 12345678"})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "12345678") {
		t.Errorf("error %q carries the code", err)
	}
	if len(p.Inbox("s")) != 0 {
		t.Error("a failed delivery reached the inbox")
	}
}

type recorder struct {
	mu    sync.Mutex
	calls [][2]string
	err   error
}

func (r *recorder) Approve(_ context.Context, token, answer string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, [2]string{token, answer})
	return r.err
}

func TestAnswerReachesApprover(t *testing.T) {
	p, _, _ := newPhone(t)
	ctx := context.Background()
	call := strings.Repeat("c", 32)
	if err := p.Deliver(ctx, flow.Delivery{SessionID: "s", Method: flow.CallMobile, Token: call}); err != nil {
		t.Fatal(err)
	}
	if err := p.Answer(ctx, call, "42"); !errors.Is(err, ErrNoApprover) {
		t.Errorf("before SetApprover: got %v", err)
	}
	r := &recorder{}
	p.SetApprover(r)
	if err := p.Answer(ctx, call, "42"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", strings.Repeat("d", 32)} {
		if err := p.Answer(ctx, tok, "42"); !errors.Is(err, flow.ErrNoApproval) {
			t.Errorf("token %q: got %v, want ErrNoApproval", tok, err)
		}
	}
	if want := [][2]string{{call, "42"}}; !slices.Equal(r.calls, want) {
		t.Errorf("approver got %q, want %q", r.calls, want)
	}
	r.err = flow.ErrNoApproval
	if err := p.Answer(ctx, call, "42"); !errors.Is(err, flow.ErrNoApproval) {
		t.Errorf("approver's error lost: %v", err)
	}
}

func TestAuthenticatorCode(t *testing.T) {
	p, _, _ := newPhone(t)
	const secret = "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"
	for _, at := range []time.Time{start, start.Add(30 * time.Second), start.Add(17 * time.Hour)} {
		want, err := totp.Code(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, login := range []string{"alice", "ALICE", " Alice "} {
			if got, ok := p.AuthenticatorCode(login, at); !ok || got != want {
				t.Errorf("AuthenticatorCode(%q, %v) = %q, %v; want %q", login, at, got, ok, want)
			}
		}
	}
	for _, login := range []string{"bob", ""} {
		if _, ok := p.AuthenticatorCode(login, start); ok {
			t.Errorf("%q: a code for an account the app does not hold", login)
		}
	}
	bad := New("", map[string]string{"x": "not base32!"})
	if _, ok := bad.AuthenticatorCode("x", start); ok {
		t.Error("a code from a broken secret")
	}
}

func TestBoundsPerSession(t *testing.T) {
	p, _, _ := newPhone(t)
	ctx := context.Background()
	r := &recorder{}
	p.SetApprover(r)
	tok := func(i int) string { return fmt.Sprintf("%032d", i) }
	for i := range MaxPerSession + 5 {
		if err := p.Deliver(ctx, flow.Delivery{SessionID: "s", Method: flow.CallMobile, Text: fmt.Sprint(i), Token: tok(i)}); err != nil {
			t.Fatal(err)
		}
	}
	in := p.Inbox("s")
	if len(in) != MaxPerSession || in[0].Text != "5" || in[len(in)-1].Text != fmt.Sprint(MaxPerSession+4) {
		t.Fatalf("inbox holds %d, from %q to %q; want the last %d", len(in), in[0].Text, in[len(in)-1].Text, MaxPerSession)
	}
	if err := p.Answer(ctx, tok(0), "1"); !errors.Is(err, flow.ErrNoApproval) {
		t.Errorf("dropped delivery still answerable: %v", err)
	}
	if err := p.Answer(ctx, tok(5), "1"); err != nil {
		t.Errorf("kept delivery not answerable: %v", err)
	}
	if len(p.tokens) != MaxPerSession {
		t.Errorf("%d tokens held, want %d", len(p.tokens), MaxPerSession)
	}
}

func TestBoundsSessions(t *testing.T) {
	p, _, clock := newPhone(t)
	ctx := context.Background()
	deliver := func(id string) {
		t.Helper()
		if err := p.Deliver(ctx, flow.Delivery{SessionID: id, Method: flow.PushApp, Token: "t" + id}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range MaxSessions + 10 {
		deliver(fmt.Sprint(i))
		clock.Add(time.Millisecond)
	}
	if n := len(p.inboxes); n != MaxSessions {
		t.Errorf("%d inboxes, want %d", n, MaxSessions)
	}
	if len(p.Inbox("0")) != 0 || len(p.Inbox("9")) != 0 || len(p.Inbox("10")) != 1 {
		t.Error("not the least recent sessions were dropped")
	}
	if len(p.tokens) != MaxSessions {
		t.Errorf("%d tokens held, want %d", len(p.tokens), MaxSessions)
	}

	// An hour without deliveries: the inboxes are forgotten at once, and
	// swept at the next delivery.
	clock.Add(SessionTTL + time.Second)
	if len(p.Inbox("10")) != 0 {
		t.Error("an idle session's inbox is still shown")
	}
	deliver("new")
	if n := len(p.inboxes); n != 1 {
		t.Errorf("%d inboxes after the sweep, want 1", n)
	}
	if n := len(p.tokens); n != 1 {
		t.Errorf("%d tokens after the sweep, want 1", n)
	}
}
