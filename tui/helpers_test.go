package tui

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// fakeDir is a directory of a few users that records password changes.
type fakeDir struct {
	mu       sync.Mutex
	users    map[string]flow.User
	set      map[string]string
	unlocked map[string]bool
}

func newFakeDir() *fakeDir {
	return &fakeDir{set: map[string]string{}, unlocked: map[string]bool{}, users: map[string]flow.User{
		// dave's account is locked: once verified he may unlock it.
		"dave": {ID: "dave", Login: "dave", DisplayName: "Dave", Email: "dave@example.com", Locked: true},
		"alice": {ID: "alice", Login: "alice", DisplayName: "Alice", Email: "alice@example.com",
			Mobile: "+14155550180", Office: "+14155550123"},
		// carol has an authenticator app, so she proves it and one more.
		"carol": {ID: "carol", Login: "carol", DisplayName: "Carol", Email: "carol@example.com", TOTPSecret: totpSecret},
	}}
}

func (d *fakeDir) LookupUser(_ context.Context, login string) (flow.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u, ok := d.users[login]; ok {
		return u, nil
	}
	return flow.User{}, flow.ErrUnknownUser
}

func (d *fakeDir) SetPassword(_ context.Context, u flow.User, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set[u.ID] = pw
	return nil
}

// Unlock lifts dave's lockout (flow.Unlocker).
func (d *fakeDir) Unlock(_ context.Context, u flow.User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unlocked[u.ID] = true
	return nil
}

// alicePass is alice's password before a change; carolPass is carol's,
// which has expired.
const (
	alicePass = "Old-Pass-word-7"
	carolPass = "Expired-Pass-word-9"
)

// CheckPassword knows alice's password (flow.PasswordChanger).
func (d *fakeDir) CheckPassword(_ context.Context, u flow.User, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.set[u.ID]
	if !ok && u.ID == "alice" {
		cur = alicePass
	}
	if !ok && u.ID == "carol" && pw == carolPass {
		return flow.ErrPasswordExpired
	}
	if cur == "" || pw != cur {
		return flow.ErrWrongPassword
	}
	return nil
}

// ChangePassword changes alice's password if old is right.
func (d *fakeDir) ChangePassword(ctx context.Context, u flow.User, old, pw string) error {
	if err := d.CheckPassword(ctx, u, old); err != nil && !errors.Is(err, flow.ErrPasswordExpired) {
		return err
	}
	return d.SetPassword(ctx, u, pw)
}

func (d *fakeDir) password(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set[id]
}

// outbox records every delivery and is the demo phone as well.
type outbox struct {
	mu  sync.Mutex
	all []flow.Delivery
	eng *flow.Engine
	dir *fakeDir
}

func (o *outbox) Deliver(_ context.Context, d flow.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all = append(o.all, d)
	return nil
}

func (o *outbox) Inbox(sid string) []flow.Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []flow.Delivery
	for _, d := range o.all {
		if d.SessionID == sid {
			out = append(out, d)
		}
	}
	return out
}

func (o *outbox) Answer(ctx context.Context, token, answer string) error {
	return o.eng.Approve(ctx, token, answer)
}

func (o *outbox) AuthenticatorCode(login string, t time.Time) (string, bool) {
	u, err := o.dir.LookupUser(context.Background(), login)
	if err != nil || u.TOTPSecret == "" {
		return "", false
	}
	c, err := totp.Code(u.TOTPSecret, t)
	return c, err == nil
}

// totpNow is the code login's authenticator app shows now.
func (o *outbox) totpNow(t *testing.T, login string) string {
	t.Helper()
	c, ok := o.AuthenticatorCode(login, time.Now())
	if !ok {
		t.Fatalf("no authenticator for %s", login)
	}
	return c
}

func (o *outbox) last() (flow.Delivery, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.all) == 0 {
		return flow.Delivery{}, false
	}
	return o.all[len(o.all)-1], true
}

// codeRE finds the code in a code text of any language.
var codeRE = regexp.MustCompile(`\b(\d{6,10})\b`)

// code returns the code of the latest text or email.
func (o *outbox) code(t *testing.T) string {
	t.Helper()
	d, ok := o.last()
	if !ok {
		t.Fatal("nothing was delivered")
	}
	m := codeRE.FindStringSubmatch(d.Text)
	if m == nil {
		t.Fatalf("no code in %q", d.Text)
	}
	return m[1]
}

// recorder keeps the latest view, ANSI-stripped, as the program drew it.
type recorder struct {
	mu     sync.Mutex
	view   string
	raw    string // the view as drawn, escape sequences and all
	cut    string // what the frame had to cut (Wizard.cut)
	cursor *tea.Cursor
	sizes  int // window sizes received
	msgs   int // messages received
}

// probe wraps the Wizard to record each view it draws.
type probe struct {
	w   *Wizard
	rec *recorder
}

func (p probe) Init() tea.Cmd { return p.w.Init() }

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	p.rec.mu.Lock()
	p.rec.msgs++
	if _, ok := msg.(tea.WindowSizeMsg); ok {
		p.rec.sizes++
	}
	p.rec.mu.Unlock()
	_, cmd := p.w.Update(msg)
	return p, cmd
}

func (p probe) View() tea.View {
	v := p.w.View()
	p.rec.mu.Lock()
	p.rec.view, p.rec.raw, p.rec.cursor, p.rec.cut = ansi.Strip(v.Content), v.Content, v.Cursor, p.w.cut
	p.rec.mu.Unlock()
	return v
}

type harness struct {
	t   *testing.T
	eng *flow.Engine
	dir *fakeDir
	out *outbox
	w   *Wizard
	tm  *teatest.TestModel
	rec *recorder
	// size is the window's, when not 80x24; gold collects the frames
	// checked, for a golden file.
	size [2]int
	gold *golden
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// start runs a Wizard at 80x24 over a fake directory and recording senders.
func start(t *testing.T, cfg flow.Config, opts Options, demo bool, size ...int) *harness {
	t.Helper()
	return startEnv(t, cfg, opts, demo, nil, size...)
}

// startEnv is start with the program's environment (TERM, NO_COLOR) set.
func startEnv(t *testing.T, cfg flow.Config, opts Options, demo bool, environ []string, size ...int) *harness {
	t.Helper()
	return startWith(t, cfg, opts, demo, environ, false, false, size...)
}

// startWith is startEnv over an infoDir (a directory that checks
// passwords and stores methods) when methods is true, and for "Update my
// security info" (Options.Task, over an infoDir) when info is true.
func startWith(t *testing.T, cfg flow.Config, opts Options, demo bool, environ []string, methods, info bool, size ...int) *harness {
	t.Helper()
	return startFull(t, cfg, opts, demo, environ, colorprofile.Unknown, nil, methods, info, size...)
}

// startFull is startWith with the colour profile forced (Unknown: as
// detected). The environment always names a UTF-8 locale unless environ
// sets one, so the screens do not change with the machine's LANG.
//
// clock is the engine's (nil: the system's).
func startFull(t *testing.T, cfg flow.Config, opts Options, demo bool, environ []string, profile colorprofile.Profile, clock flow.Clock, methods, info bool, size ...int) *harness {
	t.Helper()
	if cfg.SecretKey == nil {
		cfg.SecretKey = testKey
	}
	dir := newFakeDir()
	out := &outbox{dir: dir}
	var d flow.Directory = dir
	if methods || info {
		d = infoDir{dir}
	}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: d, Store: memstore.New(), TOTP: totp.New(), Clock: clock,
		SMS: out, Voice: out, Email: out, Push: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	out.eng = eng
	if demo {
		opts.Demo = out
	}
	if info {
		opts.Task = flow.TaskInfo
	}
	w := New(eng, opts)
	rec := &recorder{}
	width, height := 80, 24
	if len(size) == 2 {
		width, height = size[0], size[1]
	}
	topts := []teatest.TestOption{teatest.WithInitialTermSize(width, height)}
	locale := func(kv string) bool {
		return strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LC_CTYPE=")
	}
	if environ == nil {
		environ = slices.DeleteFunc(os.Environ(), locale)
	}
	if !slices.ContainsFunc(environ, locale) {
		environ = append(environ[:len(environ):len(environ)], "LANG=C.UTF-8")
	}
	popts := []tea.ProgramOption{tea.WithEnvironment(environ)}
	if profile != colorprofile.Unknown {
		popts = append(popts, tea.WithColorProfile(profile))
	}
	topts = append(topts, teatest.WithProgramOptions(popts...))
	tm := teatest.NewTestModel(t, probe{w: w, rec: rec}, topts...)
	h := &harness{t: t, eng: eng, dir: dir, out: out, w: w, tm: tm, rec: rec, size: [2]int{width, height}}
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	})
	// The program sends its first size from a goroutine of its own; a size
	// a test sends must not be overtaken by it.
	h.waitView("the initial window sizes", func(string) bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.sizes >= 2
	})
	return h
}

func (h *harness) view() string {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.view
}

func (h *harness) messages() int {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.msgs
}

func (h *harness) cursor() *tea.Cursor {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.cursor
}

// waitView waits until the drawn view satisfies ok.
func (h *harness) waitView(what string, ok func(string) bool) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := h.view()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s; the screen shows:\n%s", what, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor waits until the view contains every string, either on one line
// or across wrapped lines.
func (h *harness) waitFor(want ...string) string {
	h.t.Helper()
	return h.waitView(strings.Join(want, " + "), func(v string) bool {
		flat := strings.Join(strings.Fields(v), " ")
		for _, s := range want {
			if !strings.Contains(v, s) && !strings.Contains(flat, s) {
				return false
			}
		}
		return true
	})
}

func (h *harness) typeText(s string) { h.tm.Type(s) }

func (h *harness) press(code rune, mod ...tea.KeyMod) {
	k := tea.KeyPressMsg{Code: code}
	for _, m := range mod {
		k.Mod |= m
	}
	h.tm.Send(k)
}

func (h *harness) enter() { h.press(tea.KeyEnter) }

// stop ends the program and returns the Wizard it ran.
func (h *harness) stop() *Wizard {
	h.t.Helper()
	_ = h.tm.Quit()
	return h.final()
}

// final waits for the program to end by itself and returns its Wizard.
func (h *harness) final() *Wizard {
	h.t.Helper()
	m := h.tm.FinalModel(h.t, teatest.WithFinalTimeout(5*time.Second))
	return m.(probe).w
}

// identify gets past the first screen as login (CAPTCHA off).
func (h *harness) identify(login string) {
	h.t.Helper()
	h.waitFor("Who are you?")
	h.typeText(login)
	h.waitValue(login)
	h.enter()
	h.waitFor("Please choose the contact method we should use for verification:")
}

// choose moves down the method list to label and picks it.
func (h *harness) choose(label string) {
	h.t.Helper()
	v := h.waitFor(label)
	lines := strings.Split(v, "\n")
	sel, at := -1, -1
	i := 0
	for _, l := range lines {
		if strings.Contains(l, "(*)") || strings.Contains(l, "( )") {
			if strings.Contains(l, "(*)") {
				sel = i
			}
			if strings.Contains(l, label) {
				at = i
			}
			i++
		}
	}
	if at < 0 || sel < 0 {
		h.t.Fatalf("%q is not in the list:\n%s", label, v)
	}
	for ; sel < at; sel++ {
		h.press(tea.KeyDown)
	}
	h.waitView("selection of "+label, func(v string) bool {
		for _, l := range strings.Split(v, "\n") {
			if strings.Contains(l, "(*)") {
				return strings.Contains(l, label)
			}
		}
		return false
	})
	h.enter()
}

// setPassword fills in the password screen and submits.
func (h *harness) setPassword(pw string) {
	h.t.Helper()
	h.waitFor("Enter new password", "Confirm new password")
	h.typeText(pw)
	h.enter()
	h.typeText(pw)
	h.enter()
}

// shownNumber reads the number in the box of the waiting screen.
func (h *harness) shownNumber() string {
	h.t.Helper()
	v := h.waitFor("Waiting for your answer")
	m := regexp.MustCompile(`[│|]\s+(\d\d)\s+[│|]`).FindStringSubmatch(v)
	if m == nil {
		h.t.Fatalf("no number on the waiting screen:\n%s", v)
	}
	return m[1]
}

func testConfig() flow.Config {
	return flow.Config{CaptchaDisabled: true, SecretKey: testKey, EmailEnabled: true, Limits: quickLimits, ResendCooldown: time.Minute}
}

// quickLimits keep the floors that make known and unknown logins take the
// same time, only shorter.
var quickLimits = flow.Limits{SendGap: time.Minute, IdentifyFloor: time.Millisecond, IdentifyJitter: time.Millisecond,
	SendFloor: time.Millisecond, SendJitter: time.Millisecond}

// hasValue reports whether a field on the screen v shows a value starting
// with s: the line under a field's title, "┃ alice" when focused (">" on
// the console), "  alice" when not, "> [alice" in plain mode.
func hasValue(v, s string) bool {
	for _, l := range strings.Split(v, "\n") {
		l = strings.TrimLeft(l, " ")
		for _, p := range []string{"┃ ", "> [", "> ", "["} {
			if strings.HasPrefix(l, p+s) {
				return true
			}
		}
		if strings.HasPrefix(l, s) && s != "" {
			return true
		}
	}
	return false
}

// waitValue waits until a field shows a value starting with s.
func (h *harness) waitValue(s string) string {
	h.t.Helper()
	return h.waitView("a field showing "+s, func(v string) bool { return hasValue(v, s) })
}

// settle waits until the frame has not changed for a while: the answers
// of commands still running (password hints) have landed.
func (h *harness) settle() {
	h.t.Helper()
	last, since := mask(h.rawView()), time.Now()
	deadline := time.Now().Add(5 * time.Second)
	for time.Since(since) < 200*time.Millisecond {
		if time.Now().After(deadline) {
			h.t.Fatal("the screen never settled")
		}
		time.Sleep(10 * time.Millisecond)
		if v := mask(h.rawView()); v != last {
			last, since = v, time.Now()
		}
	}
}
