package tui

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// flatText is s with every run of white space (no-break spaces included)
// one space, so a sentence is found however the screen wrapped it.
func flatText(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}

// splitPhone cuts a line at the demo phone's box beside the card: its
// left edge is the first border at column 82 or more.
func splitPhone(l string) (card, phone string, ok bool) {
	r := []rune(l)
	for i := 82; i < len(r); i++ {
		if strings.ContainsRune("│╭╰|+", r[i]) && r[i-1] == ' ' {
			return string(r[:i]), strings.Trim(string(r[i:]), "│╭╮╰╯─|+ "), true
		}
	}
	return l, "", false
}

// columns splits a view with the phone beside the card into the card's
// text and the phone's, each flattened, so a wrapped sentence is found in
// either.
func columns(v string) []string {
	var left, right []string
	for _, l := range strings.Split(v, "\n") {
		card, phone, _ := splitPhone(l)
		left, right = append(left, card), append(right, phone)
	}
	boxless := strings.NewReplacer("│", " ", "|", " ").Replace // the done card's box
	return []string{flatText(v), flatText(boxless(strings.Join(left, "\n"))), flatText(strings.Join(right, "\n")), flatText(boxless(v))}
}

// waitText waits until the view holds every string, wrapped or not.
func (h *harness) waitText(want ...string) string {
	h.t.Helper()
	return h.waitView(strings.Join(want, " + "), func(v string) bool {
		cols := columns(v)
	next:
		for _, s := range want {
			for _, c := range cols {
				if strings.Contains(c, flatText(s)) {
					continue next
				}
			}
			return false
		}
		return true
	})
}

func (h *harness) cut() string {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.cut
}

// frame checks the frame on screen at 80x24: nothing cut to fit, no line
// wider than 80 columns, 24 lines (at most, in plain mode), and in plain
// mode no escape sequence and no box drawing.
func (h *harness) frame(name string, plain bool) {
	h.t.Helper()
	width, height := 80, 24
	if h.size != [2]int{} {
		width, height = h.size[0], h.size[1]
	}
	if h.gold != nil {
		h.settle() // what still runs (hints, a late frame) has landed
	}
	if c := h.cut(); c != "" {
		h.t.Errorf("%s: the frame was cut to fit: %s\n%s", name, c, h.view())
	}
	raw := h.rawView()
	lines := strings.Split(raw, "\n")
	if (!plain && len(lines) != height) || len(lines) > height {
		h.t.Errorf("%s: %d lines", name, len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			h.t.Errorf("%s: line %d is %d columns", name, i, w)
		}
	}
	if plain {
		if strings.ContainsRune(raw, 0x1b) {
			h.t.Errorf("%s: an escape sequence in plain mode: %q", name, raw)
		}
		if strings.IndexFunc(raw, func(r rune) bool { return r >= 0x2500 && r <= 0x257f }) >= 0 {
			h.t.Errorf("%s: box drawing in plain mode:\n%s", name, raw)
		}
	}
	h.t.Logf("%s:\n%s", name, h.view())
	if h.gold != nil {
		h.gold.add(name, raw)
	}
}

// audioLinks is a fake CaptchaAudioURL that records the tokens it is given.
type audioLinks struct {
	mu     sync.Mutex
	tokens []string
}

func (a *audioLinks) url(token string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens = append(a.tokens, token)
	return "https://reset.example.com/captcha/" + token + ".wav"
}

func (a *audioLinks) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokens) == 0 {
		return ""
	}
	return a.tokens[len(a.tokens)-1]
}

// TestEveryScreenInEveryLanguage walks every screen of every task in every
// language of the catalogues (English, German, French), styled and plain,
// at 80x24 with the demo phone below and at 160x48 beside: the texts
// come from the catalogue of the session's language, and every one wraps
// to fit, nothing cut.
func TestEveryScreenInEveryLanguage(t *testing.T) {
	// Every catalogue, a locale for each language but English.
	for _, lang := range i18n.Languages() {
		if lang != i18n.Default {
			lang += "_" + strings.ToUpper(lang) + ".UTF-8" // de_DE.UTF-8
		}
		for _, plain := range []bool{false, true} {
			name := lang
			if plain {
				name += " plain"
			}
			for _, size := range [][2]int{{80, 24}, {160, 48}} {
				t.Run(fmt.Sprintf("%s %dx%d", name, size[0], size[1]), func(t *testing.T) { walkLanguage(t, lang, plain, size[0], size[1]) })
			}
		}
	}
}

func walkLanguage(t *testing.T, lang string, plain bool, width, height int) {
	name := strings.SplitN(lang, "_", 2)[0] + map[bool]string{true: "-plain", false: "-styled"}[plain] + fmt.Sprintf("-%dx%d", width, height)
	g := newGolden(t, name)
	tr := i18n.For(lang)
	opts := func() Options {
		links := &audioLinks{}
		return Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200", Lang: lang}, Remote: true,
			SignInURL: "https://myapps.example.com", Plain: plain, CaptchaAudioURL: links.url}
	}
	label := func(m flow.MethodID) string { return m.LabelIn(tr) }

	// The first screen with the CAPTCHA and its audio link, then with the
	// longest notice under it.
	h := startGolden(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, opts(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.title"), tr.T("tui.identify.login"), tr.N("tui.identify.answer_n", 5), tr.T("tui.demo_banner"),
		"https://reset.example.com/captcha/")
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.frame("identify", plain)
	h.typeText("alice")
	h.enter()
	h.typeText("00000")
	h.enter()
	h.waitText(tr.T("flow.captcha.wrong"))
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.frame("identify, wrong picture", plain)

	h = startGolden(t, testConfig(), opts(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.identify.title"), tr.T("tui.identify.intro"), tr.T("tui.key.enter"))
	h.frame("identify without CAPTCHA", plain)
	h.typeText("alice")
	h.waitValue("alice")
	h.enter()
	h.waitText(tr.T("tui.methods.prompt"), label(flow.TextMobile), label(flow.EmailAltern), tr.T("tui.support_code", "Ref", ""))
	h.frame("methods", plain)
	h.choose(label(flow.TextMobile))
	h.waitText(tr.T("tui.number.intro_text", "Hint", "*****80"), tr.T("tui.number.field"), "["+tr.T("tui.number.other")+"]")
	h.typeText("4155550180")
	h.waitValue("4155550180")
	h.frame("number", plain)
	h.enter()
	h.waitText(tr.T("tui.code.sent_text"), tr.T("tui.code.field"), tr.T("tui.phone.text_to", "To", "+14155550180"))
	h.frame("code (text)", plain)
	if d, _ := h.out.last(); d.Lang != tr.Lang() || !strings.Contains(flatText(h.view()), flatText(d.Text[:20])) {
		t.Errorf("the text %+v is not in %s or not on the phone", d, tr.Lang())
	}
	// Tab to the first link, then to the second.
	for range 2 {
		c0 := *h.cursor()
		h.press(tea.KeyTab)
		h.waitView("the focus to move", func(string) bool { c := h.cursor(); return c != nil && (c.X != c0.X || c.Y != c0.Y) })
	}
	h.enter()
	h.waitText(tr.T("tui.methods.prompt"))
	h.choose(label(flow.CallMobile))
	h.waitText(tr.T("tui.number.intro_call_mobile", "Hint", "*****80"))
	h.typeText("4155550180")
	h.enter()
	h.waitText(tr.T("tui.waiting.call"), tr.T("tui.waiting.keypad"), tr.T("tui.phone.incoming", "To", "+14155550180"))
	h.frame("waiting (call)", plain)
	number := h.langShownNumber(tr, plain)
	h.typeText(number)
	h.enter()
	h.waitText(tr.T("tui.password.new"), tr.T("tui.password.confirm"), tr.T("tui.password.needs"))
	h.typeText("Abc")
	h.waitText(tr.T("flow.rule.upper"), tr.N("flow.rule.min_length", 14))
	h.waitView("three characters typed", func(v string) bool {
		for _, l := range strings.Split(v, "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "┃ *** ") || l == "┃ ***" || strings.HasPrefix(l, "> [*** ") {
				return true
			}
		}
		return false
	})
	h.settle() // the hints of the last key have landed
	h.frame("password", plain)
	h.typeText("-Vrilk-Tosquen-9")
	h.enter()
	h.typeText("Abc-Vrilk-Tosquen-9x")
	h.enter()
	h.waitText(tr.T("flow.password.mismatch"))
	h.frame("password, refused", plain)
	h.typeText("Abc-Vrilk-Tosquen-9")
	h.enter()
	h.waitText(tr.T("tui.done.title"), tr.T("tui.done.signin_url", "URL", "https://myapps.example.com"))
	h.frame("done", plain)

	h = startGolden(t, testConfig(), opts(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.identify.title"))
	h.typeText("carol")
	h.enter()
	h.choose(label(flow.PushApp))
	h.waitText(tr.T("tui.waiting.push"), tr.T("tui.phone.push_title"))
	h.frame("waiting (push)", plain)
	h.press('b')
	h.waitText(tr.T("tui.methods.prompt"), tr.T("tui.phone.push_closed"))
	h.choose(label(flow.TOTPApp))
	h.waitText(tr.T("tui.code.totp"), tr.T("tui.phone.totp_for", "Login", "carol"))
	h.frame("code (authenticator)", plain)

	// A locked account: unlock it and keep the password.
	h = startGolden(t, testConfig(), opts(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.identify.title"))
	h.typeText("dave")
	h.enter()
	h.choose(label(flow.EmailAltern))
	h.waitText(tr.T("tui.code.sent_email", "Hint", "d***@example.com"))
	h.typeText(h.out.code(t))
	h.enter()
	h.waitText(tr.T("tui.unlock.title"), tr.T("tui.unlock.keep"), tr.T("tui.unlock.new"))
	h.frame("unlock", plain)
	h.enter()
	h.waitText(tr.T("tui.done.unlocked_title"), tr.T("tui.done.unlocked_signin_url", "URL", "https://myapps.example.com"))
	h.frame("done (unlocked)", plain)

	// A code from the helpdesk, one of the methods while it is live.
	hcfg := testConfig()
	hcfg.Helpdesk.Enabled = true
	h = startGolden(t, hcfg, opts(), true, width, height)
	h.gold = g
	if _, _, err := h.eng.IssueHelpdeskCode(context.Background(), "alice", "agent", time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	h.waitText(tr.T("tui.identify.title"))
	h.typeText("alice")
	h.enter()
	h.choose(label(flow.Helpdesk))
	h.waitText(tr.T("tui.code.helpdesk"), tr.T("tui.code.field"))
	h.frame("code (helpdesk)", plain)

	// Change my password: the sign-in with the CAPTCHA and a wrong
	// picture, then without it a wrong password, the new password and
	// the success card.
	change := func() Options { o := opts(); o.Task = flow.TaskChange; return o }
	h = startGolden(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, change(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.title_change"), tr.T("tui.identify.current"), tr.T("tui.task.reset"), tr.T("tui.task.info"),
		"https://reset.example.com/captcha/")
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.frame("change: sign in", plain)
	h.typeText("alice")
	h.press(tea.KeyTab)
	h.typeText(alicePass)
	h.enter()
	h.typeText("00000")
	h.enter()
	h.waitText(tr.T("flow.captcha.wrong"))
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.frame("change: sign in, wrong picture", plain)

	h = startGolden(t, testConfig(), change(), true, width, height)
	h.gold = g
	h.waitText(tr.T("tui.identify.intro_change"), tr.T("tui.identify.current"))
	h.frame("change: sign in without CAPTCHA", plain)
	for range 2 { // to the first link, in the header
		h.press(tea.KeyTab)
	}
	onLink := func(v string) bool {
		c, lines := h.cursor(), strings.Split(v, "\n")
		return c != nil && c.Y < len(lines) && strings.Contains(lines[c.Y], "["+tr.T("tui.task.reset")+"]")
	}
	h.waitView("the cursor on the first link", onLink)
	h.waitText(tr.T("tui.hint.choose"))
	h.frame("change: sign in, a link focused", plain)
	for range 2 { // round to the login
		h.press(tea.KeyTab)
	}
	h.waitView("the cursor in the login", func(v string) bool { return !onLink(v) && h.cursor() != nil })
	h.typeText("alice")
	h.press(tea.KeyTab)
	h.typeText("Wrong-Pass-1")
	h.enter()
	h.waitText(tr.T("flow.sign_in.wrong"))
	h.frame("change: sign in, wrong password", plain)
	h.typeText(alicePass)
	h.enter()
	h.waitText(tr.T("tui.password.new"), tr.T("flow.rule.differs"))
	h.settle()
	h.frame("change: new password", plain)
	h.typeText("Brand-New-Horse-42")
	h.enter()
	h.typeText("Brand-New-Horse-42")
	h.enter()
	h.waitText(tr.T("tui.done.changed_title"), tr.T("tui.done.signin_url", "URL", "https://myapps.example.com"))
	h.frame("change: done", plain)

	// The security info is not offered here: it says so and links to the
	// other tasks.
	h = startGolden(t, testConfig(), func() Options { o := opts(); o.Task = flow.TaskInfo; return o }(), false, width, height)
	h.gold = g
	h.waitText(tr.T("tui.refused.not_offered"), tr.T("flow.task.unavailable"), tr.T("tui.task.reset"), tr.T("tui.task.change"))
	h.frame("security info: not available here", plain)

	// No session: the refusal, in the language of the origin.
	cfg := testConfig()
	cfg.Limits.SessionsPerSource = flow.Rate{Count: 1, Per: time.Hour}
	h = startGolden(t, cfg, opts(), false, width, height)
	h.gold = g
	h.waitText(tr.T("tui.identify.title"))
	h.press(tea.KeyEscape)
	h.waitText(tr.T("tui.refused.title"), tr.T("tui.refused.retry"), tr.T("flow.sessions.too_many", "When", tr.N("flow.when.minutes", 60)))
	h.frame("refused", plain)

	h = start(t, testConfig(), opts(), false, 60, 10)
	h.waitText(tr.T("tui.enlarge"))
	g.add("too small at 60x10", h.rawView())
}

// startGolden starts a walk whose frames go to golden files: the terminal
// is fixed (xterm with 256 colours, UTF-8, dark), whatever runs the test.
func startGolden(t *testing.T, cfg flow.Config, opts Options, demo bool, width, height int) *harness {
	t.Helper()
	return startFull(t, cfg, opts, demo, []string{"TERM=xterm-256color", "LANG=C.UTF-8"}, colorprofile.ANSI256, goldenClock{time.Now()}, false, false, width, height)
}

// goldenClock runs from a fixed day, so the dates the notices write (and
// the lines they wrap into) are the same whatever day the test runs. The
// day is ahead of any real one: the store keeps expiries as durations
// from its own clock, which must not see them past.
type goldenClock struct{ start time.Time }

func (c goldenClock) Now() time.Time {
	return time.Date(2999, time.March, 14, 9, 26, 0, 0, time.UTC).Add(time.Since(c.start))
}

// langShownNumber reads the number of the waiting screen in any language.
func (h *harness) langShownNumber(tr *i18n.Printer, plain bool) string {
	h.t.Helper()
	if !plain {
		return h.shownNumber2()
	}
	prefix := flatText(tr.T("tui.plain.number", "Number", ""))
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + ` (\d+)`).FindStringSubmatch(flatText(h.view()))
	if m == nil {
		h.t.Fatalf("no number on the waiting screen:\n%s", h.view())
	}
	return m[1]
}

// shownNumber2 reads the number in the box of the waiting screen, in any
// language.
func (h *harness) shownNumber2() string {
	h.t.Helper()
	for _, l := range strings.Split(h.view(), "\n") {
		l, _, _ = splitPhone(l) // not the phone beside the card
		f := strings.Fields(strings.Trim(strings.TrimSpace(l), "│|"))
		if len(f) == 1 && len(f[0]) == 2 && f[0][0] >= '1' && f[0][0] <= '9' {
			return f[0]
		}
	}
	h.t.Fatalf("no number on the waiting screen:\n%s", h.view())
	return ""
}

// TestCaptchaAudioLink: with CaptchaAudioURL set the first screen shows the
// link of a one-time token, a new one with every new picture; the token
// speaks the picture once; without the option there is no link.
func TestCaptchaAudioLink(t *testing.T) {
	links := &audioLinks{}
	cfg := flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}
	h := start(t, cfg, Options{CaptchaAudioURL: links.url}, false)
	h.waitView("the picture", func(v string) bool { return picture(v) != "" && links.last() != "" })
	first := links.last()
	h.waitText("Can't read it? Listen: https://reset.example.com/captcha/" + first + ".wav")
	h.frame("identify with the audio link", false)
	if len(first) != 32 {
		t.Fatalf("token %q", first)
	}
	h.press('r', tea.ModCtrl)
	h.waitView("a new token", func(string) bool { return links.last() != first })
	second := links.last()
	h.waitText("Listen: https://reset.example.com/captcha/" + second + ".wav")
	if strings.Contains(h.view(), first) {
		t.Fatal("the old link is still shown")
	}
	var wav strings.Builder
	if ok, _ := h.eng.CaptchaAudio(context.Background(), first, "en", &wav); ok {
		t.Fatal("the token of the old picture still speaks")
	}
	if ok, err := h.eng.CaptchaAudio(context.Background(), second, "en", &wav); !ok || err != nil || wav.Len() < 1000 {
		t.Fatalf("the shown token does not speak: ok=%v err=%v len=%d", ok, err, wav.Len())
	}
	if ok, _ := h.eng.CaptchaAudio(context.Background(), second, "en", &wav); ok {
		t.Fatal("a token spoke twice")
	}

	// Plain mode shows it too.
	links = &audioLinks{}
	h = start(t, cfg, plainOpts(Options{CaptchaAudioURL: links.url}), false)
	h.waitView("the picture", func(v string) bool { return picture(v) != "" && links.last() != "" })
	h.waitText("Can't read it? Listen: https://reset.example.com/captcha/" + links.last() + ".wav")
	h.frame("identify with the audio link, plain", true)

	// Without the option, or with the CAPTCHA off, no link.
	h = start(t, cfg, Options{}, false)
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	if strings.Contains(h.view(), "Listen") {
		t.Fatalf("a link without CaptchaAudioURL:\n%s", h.view())
	}
	links = &audioLinks{}
	h = start(t, testConfig(), Options{CaptchaAudioURL: links.url}, false)
	h.waitFor("Who are you?")
	if strings.Contains(h.view(), "Listen") || links.last() != "" {
		t.Fatalf("a link with the CAPTCHA off:\n%s", h.view())
	}
}

// TestUnlockOrNewPassword: a verified person with a locked account chooses
// between unlocking and a new password; choosing a new password goes to
// the password screen and resets it as usual.
func TestUnlockOrNewPassword(t *testing.T) {
	h := start(t, testConfig(), Options{}, true)
	h.identify("dave")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("Your account is locked.", "(*) Unlock my account and keep my password", "( ) Choose a new password")
	h.press(tea.KeyDown)
	h.waitFor("(*) Choose a new password")
	h.enter()
	h.setPassword("Abc-Vrilk-Tosquen-9")
	h.waitFor("Your password has been reset")
	if h.dir.password("dave") != "Abc-Vrilk-Tosquen-9" {
		t.Fatal("the password was not set")
	}
	h.dir.mu.Lock()
	unlocked := h.dir.unlocked["dave"]
	h.dir.mu.Unlock()
	if unlocked {
		t.Fatal("unlocked though a new password was chosen")
	}

	h = start(t, testConfig(), Options{}, true)
	h.identify("dave")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("(*) Unlock my account and keep my password")
	h.enter()
	h.waitFor("Your account has been unlocked", "You can now sign in with your password.")
	h.dir.mu.Lock()
	unlocked = h.dir.unlocked["dave"]
	h.dir.mu.Unlock()
	if !unlocked || h.dir.password("dave") != "" {
		t.Fatalf("unlocked %v, password %q", unlocked, h.dir.password("dave"))
	}

	// An account that is not locked goes straight to the password.
	h = start(t, testConfig(), Options{}, true)
	h.identify("alice")
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.waitFor("Enter new password")
	if strings.Contains(h.view(), "locked") {
		t.Fatal("an unlock choice for an account that is not locked")
	}
}

// TestLongestPasswordScreen: the password screen with every rule of the
// default policy, a breached-password list and a weak password's reason,
// under a refusal that names the rules not met, fits 80x24 in every
// language, styled and plain, the demo phone below.
func TestLongestPasswordScreen(t *testing.T) {
	for _, lang := range i18n.Languages() {
		for _, plain := range []bool{false, true} {
			tr := i18n.For(lang)
			h := start(t, breachConfig(t), Options{Plain: plain, Origin: flow.Origin{Channel: flow.Kiosk, Remote: "k1", Lang: lang}}, true)
			h.waitText(tr.T("tui.identify.title"))
			h.typeText("carol")
			h.enter()
			h.choose(flow.EmailAltern.LabelIn(tr))
			h.waitText(tr.T("tui.code.field"))
			h.typeText(h.out.code(t))
			h.enter()
			h.choose(flow.TOTPApp.LabelIn(tr))
			h.waitText(tr.T("tui.code.totp"))
			h.typeText(h.w.opts.Demo.(*outbox).totpNow(t, "carol"))
			h.enter()
			h.waitText(tr.T("tui.password.new"))
			h.typeText("password1")
			h.enter()
			h.typeText("password2")
			h.enter()
			h.waitText(tr.T("flow.password.policy"), tr.T("flow.rule.breached"))
			h.frame(lang+" password, refused", plain)
			h.typeText("x") // a new password: its breach check is pending
			h.waitText(tr.T("flow.rule.breached_pending"))
			h.frame(lang+" password, refused, pending check", plain)
		}
	}
}
