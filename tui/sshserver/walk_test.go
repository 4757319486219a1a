package sshserver

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/demo"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
	"github.com/sspr-project/sspr/tui"
)

// recordingSender passes deliveries on and keeps them, so the test can
// read the code a text carried.
type recordingSender struct {
	next flow.Sender
	mu   sync.Mutex
	all  []flow.Delivery
}

func (r *recordingSender) Deliver(ctx context.Context, d flow.Delivery) error {
	r.mu.Lock()
	r.all = append(r.all, d)
	r.mu.Unlock()
	return r.next.Deliver(ctx, d)
}

var codeRE = regexp.MustCompile(`code is (\d+)`)

func (r *recordingSender) code() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if m := codeRE.FindStringSubmatch(r.all[i].Text); m != nil {
			return m[1]
		}
	}
	return ""
}

// viewTap wraps the wizard and keeps its latest view as text. The screen
// over the wire is drawn incrementally; the view is what it converges to.
type viewTap struct {
	m    tea.Model
	mu   *sync.Mutex
	view *string
	w    *tui.Wizard
}

func (v viewTap) Init() tea.Cmd { return v.m.Init() }

func (v viewTap) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := v.m.Update(msg)
	v.m = m
	return v, cmd
}

func (v viewTap) View() tea.View {
	view := v.m.View()
	v.mu.Lock()
	*v.view = ansi.Strip(view.Content)
	v.mu.Unlock()
	return view
}

func (v viewTap) Close() { v.w.Close() }

// demoDirectory is a fresh demo directory, hashed cheaply.
func demoDirectory(t testing.TB) *embedded.Dir {
	t.Helper()
	dirPath := filepath.Join(t.TempDir(), "users.yaml")
	fast := embedded.WithParams(embedded.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	if _, err := embedded.WriteDemo(dirPath, fast); err != nil {
		t.Fatal(err)
	}
	dir, err := embedded.Open(dirPath, fast)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// demoEngine is the engine of the demo mode on a fresh demo directory,
// with text messages recorded on their way to the demo phone.
func demoEngine(t testing.TB, captcha bool, limits ...flow.Limits) (*flow.Engine, *embedded.Dir, *demo.Phone, *recordingSender) {
	t.Helper()
	dir := demoDirectory(t)
	phone := demo.New("", nil)
	sms := &recordingSender{next: phone}
	cfg := flow.Config{CaptchaDisabled: !captcha, EmailEnabled: true, SecretKey: []byte("0123456789abcdef0123456789abcdef")}
	if len(limits) > 0 {
		cfg.Limits = limits[0]
	}
	eng, err := flow.NewEngine(
		cfg,
		flow.Deps{Directory: dir, Store: memstore.New(), SMS: sms, Voice: phone, Email: phone, Push: phone, TOTP: totp.New()},
	)
	if err != nil {
		t.Fatal(err)
	}
	phone.SetApprover(eng)
	return eng, dir, phone, sms
}

// TestWizardResetOverSSH walks a whole reset through the real wizard over
// SSH: the embedded demo directory, the demo phone, the memory store.
func TestWizardResetOverSSH(t *testing.T) {
	const newPassword = "Correct-Horse-42x"
	eng, dir, phone, sms := demoEngine(t, false)

	var mu sync.Mutex
	var view string
	var remote string
	ts := startServer(t, func(c *Config) {
		c.NewModel = func(info SessionInfo) tea.Model {
			remote = info.Remote
			w := tui.New(eng, tui.Options{
				Origin: flow.Origin{Channel: flow.SSH, Remote: info.Remote},
				Demo:   phone, SignInURL: "https://myapps.example.com", Remote: true,
			})
			return viewTap{m: w, w: w, mu: &mu, view: &view}
		}
	})
	screen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return view
	}
	waitFor := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			v := screen()
			flat := strings.Join(strings.Fields(v), " ")
			ok := true
			for _, s := range want {
				ok = ok && (strings.Contains(v, s) || strings.Contains(flat, s))
			}
			if ok {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %q; the wizard shows:\n%s", want, v)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	start := time.Now()
	tm := openTerm(t, dial(t, ts), "xterm-256color", 120, 40)
	tm.waitScreen(t, "Who are you?")
	t.Logf("dial to the wizard's first screen on the wire: %s", time.Since(start).Round(100*time.Microsecond))
	waitFor("Who are you?")
	if !strings.HasPrefix(remote, "127.0.0.1:") {
		t.Errorf("wizard origin %q", remote)
	}
	if strings.Contains(screen(), "alice") {
		t.Fatal("the SSH user name reached the identify screen")
	}

	tm.typeKeys(t, "alice")
	waitFor("┃ alice")
	tm.typeKeys(t, "\r")
	waitFor("Please choose the contact method we should use for verification:", "Text my mobile phone")
	v := screen()
	if !regexp.MustCompile(`\(\*\) Text my mobile phone`).MatchString(v) {
		t.Fatalf("text is not the selected method:\n%s", v)
	}
	const crumbs = " of 4 · " // the breadcrumb: "Step 2 of 4 · Choose how to verify"
	if !strings.Contains(v, crumbs) {
		t.Fatalf("the breadcrumb is not %q:\n%s", crumbs, v)
	}
	tm.typeKeys(t, "\r")
	waitFor("In order to protect your account", "Enter your phone number")
	tm.typeKeys(t, "+1 212 555 0101\r")
	waitFor("Enter your verification code")
	code := sms.code()
	if code == "" {
		t.Fatal("no code was texted")
	}
	tm.typeKeys(t, code+"\r")

	// Alice has an authenticator app: the second step is the app, the
	// mobile having been proved by its text.
	v = waitFor("Verification step 1 is done. Choose a second method.", "Verification step 2", crumbs,
		"(*) "+flow.PushApp.Label(), "( ) "+flow.TOTPApp.Label())
	for _, m := range []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.EmailAltern} {
		if strings.Contains(v, m.Label()) {
			t.Fatalf("%q is offered for the second step:\n%s", m.Label(), v)
		}
	}
	tm.typeKeys(t, termDown)
	waitFor("(*) " + flow.TOTPApp.Label())
	tm.typeKeys(t, "\r")
	waitFor("Enter the code displayed in your authenticator app", crumbs)
	totpCode, err := totp.Code(demoAccount(t, "alice").TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tm.typeKeys(t, totpCode+"\r")
	waitFor("Enter new password", "Confirm new password", crumbs)
	tm.typeKeys(t, newPassword+"\r")
	tm.typeKeys(t, newPassword+"\r")
	waitFor("Your password has been reset", "https://myapps.example.com")
	t.Logf("dial to reset done: %s", time.Since(start).Round(time.Millisecond))
	if strings.Contains(tm.stdout.String(), newPassword) {
		t.Fatal("the password went over the wire in clear on the screen")
	}
	if ok, err := dir.VerifyPassword("alice", newPassword); err != nil || !ok {
		t.Fatalf("the directory does not hold the new password: ok=%v err=%v", ok, err)
	}
	if ok, err := dir.VerifyPassword("alice", demoAccount(t, "alice").Password); err != nil || ok {
		t.Fatalf("the directory still takes the old password: ok=%v err=%v", ok, err)
	}

	// Ctrl+C hangs up over SSH.
	tm.typeKeys(t, "\x03")
	if code := tm.wait(t); code != 0 {
		t.Errorf("exit status %d after Ctrl+C, want 0", code)
	}
	if !strings.Contains(tm.stdout.String(), "\x1b[?1049l") {
		t.Error("terminal not restored before the session closed")
	}
}
