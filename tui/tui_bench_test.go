package tui

import (
	"image"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/dchest/captcha"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

func benchCaptchaImage() *image.Paletted {
	digits := []byte{3, 1, 4, 1, 5}
	return captcha.NewImage("bench-seed", digits, captchaImageW, captchaImageH).Paletted
}

// The CAPTCHA of the identify screen mapped onto the terminal: half blocks
// (76x11) from one dchest picture at 270x90. Drawing the picture is
// BenchmarkSessionCaptcha (flow).
func BenchmarkDrawCaptcha(b *testing.B) {
	img := benchCaptchaImage()
	b.ReportAllocs()
	for b.Loop() {
		if drawCaptcha(img, 5) == "" {
			b.Fatal("nothing drawn")
		}
	}
}

// driver runs a Wizard without a program: messages are handled on the
// benchmark's goroutine, commands run on their own and send back what they
// return. Commands that do not return soon (the idle timer, a wait for an
// answer) are left running; they end with the Wizard.
type driver struct {
	tb   testing.TB
	w    *Wizard
	out  *outbox
	msgs chan tea.Msg
	done chan struct{}
}

func newDriver(tb testing.TB, cfg flow.Config) *driver {
	tb.Helper()
	return newDriverWith(tb, cfg, Options{SignInURL: "https://myapps.example.com"}, false)
}

// newDriverWith is newDriver with opts, and the demo phone when demo is set.
func newDriverWith(tb testing.TB, cfg flow.Config, opts Options, demo bool) *driver {
	tb.Helper()
	dir := newFakeDir()
	out := &outbox{dir: dir}
	eng, err := flow.NewEngine(cfg, flow.Deps{
		Directory: dir, Store: memstore.New(), TOTP: totp.New(),
		SMS: out, Voice: out, Email: out, Push: out,
	})
	if err != nil {
		tb.Fatal(err)
	}
	out.eng = eng
	if demo {
		opts.Demo = out
	}
	d := &driver{tb: tb, w: New(eng, opts), out: out,
		msgs: make(chan tea.Msg, 256), done: make(chan struct{})}
	tb.Cleanup(func() { d.w.Close(); close(d.done) })
	d.exec(d.w.Init())
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return d
}

func (d *driver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if msg == nil {
			return
		}
		select {
		case d.msgs <- msg:
		case <-d.done:
		}
	}()
}

func (d *driver) send(msg tea.Msg) {
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			d.exec(c)
		}
		return
	}
	_, cmd := d.w.Update(msg)
	d.exec(cmd)
}

func (d *driver) view() string { return ansi.Strip(d.w.View().Content) }

// waitFor handles messages until the screen shows every string.
func (d *driver) waitFor(want ...string) string {
	d.tb.Helper()
	deadline := time.After(5 * time.Second)
	for {
		v := d.view()
		flat := strings.Join(strings.Fields(v), " ")
		ok := true
		for _, s := range want {
			if !strings.Contains(v, s) && !strings.Contains(flat, s) {
				ok = false
			}
		}
		if ok {
			return v
		}
		select {
		case msg := <-d.msgs:
			d.send(msg)
		case <-time.After(2 * time.Millisecond):
		case <-deadline:
			d.tb.Fatalf("waiting for %q; the screen shows:\n%s", want, v)
		}
	}
}

func (d *driver) typeText(s string) {
	for _, c := range s {
		d.send(tea.KeyPressMsg{Code: c, Text: string(c)})
	}
}

func (d *driver) enter() { d.send(tea.KeyPressMsg{Code: tea.KeyEnter}) }

// choose moves the selection of the method list down to label and picks it.
func (d *driver) choose(label string) {
	d.tb.Helper()
	v := d.waitFor(label)
	sel, at, i := -1, -1, 0
	for _, l := range strings.Split(v, "\n") {
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
	if sel < 0 || at < 0 {
		d.tb.Fatalf("%q is not in the list:\n%s", label, v)
	}
	for ; sel < at; sel++ {
		d.send(tea.KeyPressMsg{Code: tea.KeyDown})
	}
	d.enter()
}

// BenchmarkView draws each screen of the wizard at 80x24, as the renderer
// asks for a frame after every message. Reaching the screens is not timed.
func BenchmarkView(b *testing.B) {
	screens := map[string]*Wizard{}
	order := []string{"identify", "methods", "number", "code", "waiting", "password", "done"}

	// identify with its CAPTCHA, as served by default.
	d := newDriver(b, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits})
	d.waitFor("Who are you?", "Type the 5 digits", "█")
	screens["identify"] = d.w

	// methods, number, code, password and done on one walk (CAPTCHA off).
	walk := func() *driver {
		d := newDriver(b, testConfig())
		d.waitFor("Who are you?")
		d.typeText("alice")
		d.enter()
		d.waitFor("Please choose the contact method we should use for verification:")
		return d
	}
	d = walk()
	screens["methods"] = d.w
	d = walk()
	d.choose("Text my mobile phone")
	d.waitFor("Enter your phone number")
	d.typeText("4155550180")
	d.waitFor("4155550180")
	screens["number"] = d.w
	d = walk()
	d.choose("Text my mobile phone")
	d.waitFor("Enter your phone number")
	d.typeText("4155550180")
	d.enter()
	d.waitFor("Enter your verification code", "Send a new code")
	screens["code"] = d.w
	d = walk()
	d.choose("Call my mobile phone")
	d.waitFor("Enter your phone number")
	d.typeText("4155550180")
	d.enter()
	d.waitFor("We're calling your phone")
	screens["waiting"] = d.w
	d = walk()
	d.choose("Email my alternate email")
	d.waitFor("Enter your verification code")
	last, _ := d.out.last()
	m := codeRE.FindStringSubmatch(last.Text)
	if m == nil {
		b.Fatalf("no code in %q", last.Text)
	}
	d.typeText(m[1])
	d.enter()
	d.waitFor("Enter new password")
	d.typeText("Abc")
	d.waitFor("✓ An upper case letter")
	screens["password"] = d.w
	d = walk()
	d.choose("Email my alternate email")
	d.waitFor("Enter your verification code")
	last, _ = d.out.last()
	d.typeText(codeRE.FindStringSubmatch(last.Text)[1])
	d.enter()
	d.waitFor("Enter new password")
	d.typeText("Abc-Vrilk-Tosquen-9")
	d.enter()
	d.typeText("Abc-Vrilk-Tosquen-9")
	d.enter()
	d.waitFor("Your password has been reset")
	screens["done"] = d.w

	for _, name := range order {
		w := screens[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v := w.View(); v.Content == "" {
					b.Fatal("empty frame")
				}
			}
		})
	}
}

// BenchmarkKey is what one key press costs the program's goroutine: its
// Update and the View of the frame it changes, on the first screen as the
// demo serves it (the demo phone below, 80x24, a 256-colour terminal),
// with the CAPTCHA (the demo without a config file) and without (the
// benchmark's server, bench/run.sh). A letter is typed and erased, so the
// field never fills; each counts as one key.
func BenchmarkKey(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  flow.Config
		want []string
	}{
		{"captcha", flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, []string{"Who are you?", "█"}},
		{"login", testConfig(), []string{"Who are you?"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := newDriverWith(b, c.cfg, Options{Remote: true}, true)
			d.send(tea.ColorProfileMsg{Profile: colorprofile.ANSI256})
			d.waitFor(c.want...)
			keys := []tea.KeyPressMsg{{Code: 'z', Text: "z"}, {Code: tea.KeyBackspace}}
			b.ReportAllocs()
			n := 0
			cpu := processCPU(b)
			for b.Loop() {
				d.send(keys[n%2])
				n++
				if v := d.w.View(); v.Content == "" {
					b.Fatal("empty frame")
				}
			}
			// The CPU time of the process, which a busy machine does not
			// inflate as it does the wall time of ns/op.
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(n), "cpu-µs/key")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
