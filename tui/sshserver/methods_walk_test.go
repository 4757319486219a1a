package sshserver

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// Keys as a terminal sends them.
const (
	termDown  = "\x1b[B"
	termEnter = "\r"
	termF2    = "\x1bOQ"
	termCtrlU = "\x15"
	termCtrlC = "\x03"
)

// What a walk gets wrong on purpose before it gets it right, if anything.
const (
	wrongNumber = "wrong phone number"
	wrongCode   = "wrong code"
	wrongAnswer = "wrong number answered"
)

const walkPassword = "Correct-Horse-42x"

// methodWalk is one reset over SSH: its first verification method, and
// for a user with an authenticator app, the second one.
type methodWalk struct {
	name  string
	login string
	// list is the user's radio list, in the order of flow/types.go.
	list   []flow.MethodID
	method flow.MethodID
	// number is typed on the number screen of the phone methods, in
	// another notation than the one stored.
	number string
	// then is the method of the second verification step, which a user
	// with an authenticator app is asked for; thenNumber is typed for it
	// as number is for the first. A walk that leaves then empty takes the
	// authenticator code after another method, and after the app the
	// mobile text, or the email for a user without a mobile.
	then       flow.MethodID
	thenNumber string
	// mistake is made once before the right answer; after a wrong answer
	// to a call or a push the walk ends on the method list.
	mistake string
	// wide walks in a terminal of 120x40, larger than the 100x30 the
	// server draws in: the wizard stands in the middle of it, the phone
	// under the form as in 80x24, where the others walk.
	wide bool
}

var (
	aliceMethods = []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.PushApp, flow.TOTPApp, flow.EmailAltern}
	bobMethods   = []flow.MethodID{flow.TextMobile, flow.CallMobile}
	carolMethods = []flow.MethodID{flow.PushApp, flow.TOTPApp, flow.EmailAltern}
	daveMethods  = []flow.MethodID{flow.CallOffice, flow.EmailAltern}
)

// isAppMethod reports whether m proves the authenticator app.
func isAppMethod(m flow.MethodID) bool { return m == flow.PushApp || m == flow.TOTPApp }

// sameFactor reports whether a and b prove the same thing held: the
// mobile (text and call), or the authenticator app (push and code). The
// demo users' mobile and office numbers differ.
func sameFactor(a, b flow.MethodID) bool {
	mobile := func(m flow.MethodID) bool { return m == flow.TextMobile || m == flow.CallMobile }
	return a == b || mobile(a) && mobile(b) || isAppMethod(a) && isAppMethod(b)
}

// twoSteps reports whether list is that of a user with an authenticator
// app, who verifies twice, once with the app.
func twoSteps(list []flow.MethodID) bool { return slices.ContainsFunc(list, isAppMethod) }

// secondList is what the second verification step offers after first:
// the methods of the other factors, and only the app's while the app is
// still to be proved.
func secondList(list []flow.MethodID, first flow.MethodID) []flow.MethodID {
	var out []flow.MethodID
	for _, m := range list {
		if !sameFactor(m, first) && (isAppMethod(first) || isAppMethod(m)) {
			out = append(out, m)
		}
	}
	return out
}

// Breadcrumbs of a reset in one verification step and in two.
const (
	crumbsOneStep  = " of 3 · "
	crumbsTwoSteps = " of 4 · "
)

// TestWizardResetEachMethodOverSSH resets a password over SSH once with each
// verification method, through the real wizard, the embedded directory and
// the demo phone, reading the screen a terminal would show. The calls and
// pushes are answered on the demo phone with its keys; the codes are read
// from its inbox or computed like an authenticator app. A user with an
// authenticator app (alice, carol) verifies twice: with the app after
// another method, with another factor after the app; bob and dave, without
// one, verify once.
func TestWizardResetEachMethodOverSSH(t *testing.T) {
	cases := []methodWalk{
		{name: "text", login: "alice", list: aliceMethods, method: flow.TextMobile, number: "(212) 555-0101"},
		{name: "call mobile", login: "alice", list: aliceMethods, method: flow.CallMobile, number: "212.555.0101"},
		{name: "call office", login: "alice", list: aliceMethods, method: flow.CallOffice, number: "+1 (212) 555-0111"},
		{name: "push", login: "alice", list: aliceMethods, method: flow.PushApp},
		{name: "authenticator code", login: "alice", list: aliceMethods, method: flow.TOTPApp, then: flow.EmailAltern},
		{name: "email", login: "alice", list: aliceMethods, method: flow.EmailAltern},
		{name: "email of a user without phone", login: "carol", list: carolMethods, method: flow.EmailAltern},
		{name: "call mobile, in a large window", login: "alice", list: aliceMethods, method: flow.CallMobile, number: "+12125550101", wide: true},
		{name: "push, in a large window", login: "alice", list: aliceMethods, method: flow.PushApp, wide: true,
			then: flow.CallOffice, thenNumber: "212-555-0111"},
		{name: "authenticator code, in a large window", login: "alice", list: aliceMethods, method: flow.TOTPApp, wide: true},
		{name: "push of a user without phone", login: "carol", list: carolMethods, method: flow.PushApp},
		{name: "text of a user without app", login: "bob", list: bobMethods, method: flow.TextMobile, number: "212 555 0102"},
		{name: "call mobile of a user without app", login: "bob", list: bobMethods, method: flow.CallMobile, number: "+1 212-555-0102", wide: true},
		{name: "call office of a user without app", login: "dave", list: daveMethods, method: flow.CallOffice, number: "(212) 555-0114"},
		{name: "email of a user without app", login: "dave", list: daveMethods, method: flow.EmailAltern},

		{name: "text after a wrong phone number", login: "alice", list: aliceMethods, method: flow.TextMobile, number: "212 555 0101", mistake: wrongNumber},
		{name: "text after a wrong code", login: "alice", list: aliceMethods, method: flow.TextMobile, number: "2125550101", mistake: wrongCode},
		{name: "authenticator after a wrong code", login: "alice", list: aliceMethods, method: flow.TOTPApp, mistake: wrongCode},
		{name: "call answered with a wrong number", login: "alice", list: aliceMethods, method: flow.CallMobile, number: "(212) 555-0101", mistake: wrongAnswer},
		{name: "push tapped on a wrong number", login: "alice", list: aliceMethods, method: flow.PushApp, mistake: wrongAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			newWalkRig(t, tc.login, tc.wide).walk(tc)
			t.Logf("walked in %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// walkRig is one engine, directory, demo phone and SSH server, and one
// client terminal connected to it.
type walkRig struct {
	t     *testing.T
	user  embedded.DemoUser
	dir   *embedded.Dir
	phone *demo.Phone
	sent  *recordingSender
	tm    *term
	vt    *vterm
	read  int    // bytes of the output the screen reader has had
	shown string // the screen as last read
	// wide is a terminal of 120x40, whose middle 100x30 the server draws.
	wide bool
}

func demoAccount(t *testing.T, login string) embedded.DemoUser {
	t.Helper()
	for _, u := range embedded.DemoUsers {
		if u.Login == login {
			return u
		}
	}
	t.Fatalf("no demo user %q", login)
	return embedded.DemoUser{}
}

// walkLimits are the default limits with short floors for identify and
// sends: the floors hide from the person how long a step took (flow tests
// them), and at their full length the walks, run as many at a time as
// there are CPUs, would spend most of their time waiting them out.
// TestWizardResetOverSSH keeps them.
var walkLimits = func() flow.Limits {
	l := flow.DefaultLimits()
	l.IdentifyFloor, l.IdentifyJitter = 20*time.Millisecond, 5*time.Millisecond
	l.SendFloor, l.SendJitter = 20*time.Millisecond, 5*time.Millisecond
	return l
}()

func newWalkRig(t *testing.T, login string, wide bool) *walkRig {
	t.Helper()
	dir := demoDirectory(t)
	// The authenticator app of the demo phone, as the demo sets it up.
	secrets := map[string]string{}
	for _, u := range embedded.DemoUsers {
		if u.TOTPSecret != "" {
			secrets[u.Login] = u.TOTPSecret
		}
	}
	phone := demo.New("", secrets)
	sent := &recordingSender{next: phone}
	eng, err := flow.NewEngine(
		flow.Config{CaptchaDisabled: true, EmailEnabled: true, SecretKey: []byte("0123456789abcdef0123456789abcdef"), Limits: walkLimits},
		flow.Deps{Directory: dir, Store: memstore.New(), SMS: sent, Voice: sent, Email: sent, Push: sent, TOTP: totp.New()},
	)
	if err != nil {
		t.Fatal(err)
	}
	phone.SetApprover(eng)
	ts := startServer(t, func(c *Config) {
		c.NewModel = func(info SessionInfo) tea.Model {
			return tui.New(eng, tui.Options{
				Origin: flow.Origin{Channel: flow.SSH, Remote: info.Remote},
				Demo:   phone, SignInURL: "https://myapps.example.com", Remote: true,
			})
		}
	})
	w, h := 80, 24
	if wide {
		w, h = 120, 40
	}
	return &walkRig{
		t: t, user: demoAccount(t, login), dir: dir, phone: phone, sent: sent,
		tm: openTerm(t, dial(t, ts), "xterm-256color", w, h), vt: newVterm(w, h), wide: wide,
	}
}

// last returns the latest delivery of method m.
func (r *recordingSender) last(m flow.MethodID) (flow.Delivery, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if r.all[i].Method == m {
			return r.all[i], true
		}
	}
	return flow.Delivery{}, false
}

func (r *walkRig) keys(s string) { r.tm.typeKeys(r.t, s) }

// wire is everything the client received so far.
func (r *walkRig) wire() string { return r.tm.stdout.String() }

// screen is what the client's terminal shows now. In a large terminal,
// nothing may be drawn outside the 100x30 in its middle, and the card (80
// columns) stands in the middle of that.
func (r *walkRig) screen() string {
	data := r.tm.stdout.since(r.read)
	if data == "" && r.shown != "" {
		return r.shown
	}
	r.read += len(data)
	r.vt.write(data)
	r.shown = r.vt.String()
	if r.wide {
		const x, y, w, h = 10, 5, 100, 30
		for row, l := range r.vt.lines() {
			outside := strings.TrimSpace(l) != ""
			if row >= y && row < y+h {
				outside = strings.TrimSpace(strings.Join(r.vt.cells[row][:x], "")+strings.Join(r.vt.cells[row][x+w:], "")) != ""
			}
			if outside {
				r.t.Fatalf("row %d holds %q outside the middle 100x30 of 120x40:\n%s", row, l, r.shown)
			}
		}
		if strings.Contains(r.shown, "Get back into your account") &&
			!strings.Contains(r.shown, "\n"+strings.Repeat(" ", 20)+strings.Repeat("─", 80)+"\n") {
			r.t.Fatalf("no rule of 80 columns from column 20 (the card in the middle):\n%s", r.shown)
		}
	}
	return r.shown
}

// since returns what was written from offset off on.
func (b *syncBuffer) since(off int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b.Bytes()[off:])
}

// flatWords joins the words of s with single spaces, so that text wrapped over
// lines is found as one sentence.
func flatWords(s string) string { return strings.Join(strings.Fields(s), " ") }

func screenShows(screen, text string) bool {
	return strings.Contains(screen, text) || strings.Contains(flatWords(screen), flatWords(text))
}

// waitUntil polls the screen until ok holds; the deadline is generous, a
// walk takes well under a second.
func (r *walkRig) waitUntil(what string, ok func(screen string) bool) string {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := r.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s; the screen shows:\n%s", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *walkRig) waitFor(want ...string) string {
	r.t.Helper()
	return r.waitUntil(fmt.Sprintf("%q", want), func(s string) bool {
		for _, w := range want {
			if !screenShows(s, w) {
				return false
			}
		}
		return true
	})
}

// waitMatch waits for re on the screen, words joined as by flatWords.
func (r *walkRig) waitMatch(re *regexp.Regexp) []string {
	r.t.Helper()
	var m []string
	r.waitUntil(re.String(), func(s string) bool {
		m = re.FindStringSubmatch(flatWords(s))
		return m != nil
	})
	return m
}

// checkPassword says which of the old and the new password the directory
// takes.
func (r *walkRig) checkPassword(wantNew bool) {
	r.t.Helper()
	okOld, err := r.dir.VerifyPassword(r.user.Login, r.user.Password)
	if err != nil {
		r.t.Fatal(err)
	}
	okNew, err := r.dir.VerifyPassword(r.user.Login, walkPassword)
	if err != nil {
		r.t.Fatal(err)
	}
	if okOld == wantNew || okNew != wantNew {
		r.t.Fatalf("directory takes the old password: %v, the new one: %v; want the new one: %v", okOld, okNew, wantNew)
	}
}

var (
	sentCode = regexp.MustCompile(`code is (\d+)\.`)
	// The number of a call or a push, in its box on the waiting screen.
	screenNumber  = regexp.MustCompile(`│ *(\d{2}) *│`)
	screenChoice  = regexp.MustCompile(`\[([1-3])\] (\d{2})`)
	screenAppCode = regexp.MustCompile(`code for \S+: (\d{3}) (\d{3})`)
)

// typedCode is a code typed, which must not be sent after its screen, and
// where the stream stood when it had been typed.
type typedCode struct {
	code string
	mark int
}

// walk resets the password of tc.login with tc.method, and tc.then when
// the user has an authenticator app, as a person at the terminal would,
// and checks what the directory and the wire hold after.
func (r *walkRig) walk(tc methodWalk) {
	t := r.t
	crumbs := crumbsOneStep
	if twoSteps(tc.list) {
		crumbs = crumbsTwoSteps
	}
	r.waitFor("Who are you?", "Email or Username")
	r.keys(tc.login + termEnter)
	s := r.waitFor("Please choose the contact method we should use for verification:", tc.list[len(tc.list)-1].Label())
	r.checkList(s, tc.list)
	r.checkCrumbs(s, crumbs)

	var codes []typedCode
	c, ok := r.verify(tc, tc.list)
	if !ok {
		r.hangUp()
		return
	}
	codes = append(codes, c...)

	if twoSteps(tc.list) {
		second := tc.then
		if second == "" {
			second = flow.TOTPApp
			if isAppMethod(tc.method) {
				second = flow.TextMobile
				if !slices.Contains(tc.list, second) {
					second = flow.EmailAltern
				}
			}
		}
		number := tc.thenNumber
		if number == "" {
			number = r.storedNumber(second) // as stored, complete
		}
		list := secondList(tc.list, tc.method)
		s := r.waitFor("Verification step 1 is done. Choose a second method.", "Verification step 2",
			"Please choose the contact method we should use for verification:", list[len(list)-1].Label())
		r.checkList(s, list)
		r.checkCrumbs(s, crumbs)
		c, ok := r.verify(methodWalk{login: tc.login, method: second, number: number}, list)
		if !ok {
			t.Fatalf("the second verification, %s, failed", second)
		}
		codes = append(codes, c...)
	}

	s = r.waitFor("Enter new password", "Confirm new password")
	r.checkCrumbs(s, crumbs)
	r.keys(walkPassword + termEnter)
	r.keys(walkPassword + termEnter)
	// The footer is the last line of a frame: the whole screen is drawn.
	// (Enter closes, or, for a person with one method, chooses between
	// adding another and not.)
	done := r.waitFor("Your password has been reset", "To sign in with your new password, go to https://myapps.example.com", "? all keys")
	r.checkPassword(true)

	wire := r.wire()
	if strings.Contains(wire, walkPassword) || strings.Contains(ansi.Strip(wire), walkPassword) {
		t.Error("the new password was sent to the terminal")
	}
	for _, c := range codes {
		forms := []string{c.code}
		if len(c.code) == 6 {
			forms = append(forms, c.code[:3]+" "+c.code[3:]) // as the app shows it
		}
		after := ansi.Strip(wire[c.mark:])
		for _, f := range forms {
			if strings.Contains(after, f) {
				t.Errorf("the code %s was sent to the terminal after it was typed:\n%q", f, after)
			}
			if screenShows(done, f) {
				t.Errorf("the code %s is still on the screen:\n%s", f, done)
			}
		}
	}

	// Enter closes the last screen and ends the session; where another
	// method is offered, on "No, thanks".
	if strings.Contains(done, "[No, thanks]") {
		r.keys("\t")
	}
	r.keys(termEnter)
	if status := r.tm.wait(t); status != 0 {
		t.Errorf("exit status %d after closing, want 0", status)
	}
	r.checkScreenReader()
}

// verify chooses tc.method in list, the radio list on the screen, and
// verifies with it, making tc.mistake first. It returns the code typed, if
// any, and reports whether the method verified: a wrong answer to a call or
// a push leaves the walk on the method list.
func (r *walkRig) verify(tc methodWalk, list []flow.MethodID) ([]typedCode, bool) {
	down := slices.Index(list, tc.method)
	if down < 0 {
		r.t.Fatalf("%s is not in the list of %s: %v", tc.method, tc.login, list)
	}
	r.keys(strings.Repeat(termDown, down))
	r.waitFor("(*) " + tc.method.Label())
	r.keys(termEnter)

	switch tc.method {
	case flow.TextMobile, flow.CallMobile, flow.CallOffice:
		r.confirmNumber(tc)
	}
	var c typedCode
	switch tc.method {
	case flow.TextMobile, flow.EmailAltern:
		c.code, c.mark = r.enterSentCode(tc)
	case flow.TOTPApp:
		c.code, c.mark = r.enterAppCode(tc)
	case flow.CallMobile, flow.CallOffice:
		return nil, r.answerCall(tc)
	case flow.PushApp:
		return nil, r.tapPush(tc)
	}
	return []typedCode{c}, true
}

// checkCrumbs checks the breadcrumb above the form is want; a reset in one
// step never mentions a second.
func (r *walkRig) checkCrumbs(screen, want string) {
	r.t.Helper()
	if !strings.Contains(screen, want) {
		r.t.Fatalf("the breadcrumb is not %q:\n%s", want, screen)
	}
	if want == crumbsOneStep && strings.Contains(strings.ToLower(screen), "verification step 2") {
		r.t.Fatalf("a reset in one step shows a second one:\n%s", screen)
	}
}

// checkList checks the radio list shows the user's methods in order, the
// first one selected.
func (r *walkRig) checkList(screen string, list []flow.MethodID) {
	r.t.Helper()
	lines := strings.Split(screen, "\n")
	row := -1
	for i, m := range list {
		at := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, ") "+m.Label()) })
		if at <= row {
			r.t.Fatalf("%q is not the method %d of the list:\n%s", m.Label(), i+1, screen)
		}
		row = at
		if i == 0 && !strings.Contains(lines[at], "(*) "+m.Label()) {
			r.t.Fatalf("the first method is not selected:\n%s", screen)
		}
	}
	for _, id := range []flow.MethodID{flow.TextMobile, flow.CallMobile, flow.CallOffice, flow.PushApp, flow.TOTPApp, flow.EmailAltern} {
		if !slices.Contains(list, id) && strings.Contains(screen, id.Label()) {
			r.t.Fatalf("%q is offered to a user without it:\n%s", id.Label(), screen)
		}
	}
}

func (r *walkRig) storedNumber(m flow.MethodID) string {
	if m == flow.CallOffice {
		return r.user.Office
	}
	return r.user.Mobile
}

// demoE164 writes a demo number ("+1 212 555 0101") as the providers get it.
func demoE164(n string) string { return strings.ReplaceAll(n, " ", "") }

// confirmNumber types the complete phone number, in another notation than
// the stored one.
func (r *walkRig) confirmNumber(tc methodWalk) {
	stored := r.storedNumber(tc.method)
	r.waitFor("Enter your phone number", "("+flow.MaskPhone(stored)+")")
	if tc.mistake == wrongNumber {
		r.keys("(212) 555-0199" + termEnter)
		r.waitFor("That number doesn't match the one we have", "Enter your phone number")
		if _, ok := r.sent.last(tc.method); ok {
			r.t.Fatal("a wrong phone number was texted or called")
		}
		r.checkPassword(false)
		r.keys(termCtrlU)              // the number stays to be corrected: clear it
		r.waitFor("┃ +1 212 555 0100") // the empty field's example
	}
	r.keys(tc.number)
	r.waitFor("┃ " + tc.number)
	r.keys(termEnter)
}

// enterSentCode reads the texted or emailed code on the demo phone and
// types it.
func (r *walkRig) enterSentCode(tc methodWalk) (string, int) {
	t := r.t
	title := "Text message to " + demoE164(r.user.Mobile) + ":"
	if tc.method == flow.EmailAltern {
		title = "Email to " + r.user.Email + ":"
	}
	r.waitFor("Enter your verification code", title)
	d, ok := r.sent.last(tc.method)
	if !ok {
		t.Fatal("no code was sent")
	}
	var code string
	for _, got := range r.phone.Inbox(d.SessionID) {
		if m := sentCode.FindStringSubmatch(got.Text); got.Method == tc.method && m != nil {
			code = m[1]
		}
	}
	if len(code) != 8 {
		t.Fatalf("no code of 8 digits in the phone's inbox, sent: %+v", d)
	}
	want := demoE164(r.user.Mobile)
	if tc.method == flow.EmailAltern {
		want = r.user.Email
	}
	if d.To != want {
		t.Errorf("the code went to %q, want the stored %q", d.To, want)
	}
	if tc.mistake == wrongCode {
		wrong := "00000000"
		if code == wrong {
			wrong = "11111111"
		}
		r.enterWrongCode(wrong)
	}
	return code, r.typeCode(code)
}

// enterAppCode computes the authenticator code and types it.
func (r *walkRig) enterAppCode(tc methodWalk) (string, int) {
	secret := r.user.TOTPSecret
	r.waitFor("Enter the code displayed in your authenticator app", "Authenticator app, code for "+tc.login)
	shown := r.waitMatch(screenAppCode)
	now := time.Now()
	around := map[string]bool{}
	for d := -2; d <= 2; d++ {
		c, err := totp.Code(secret, now.Add(time.Duration(d)*totp.Period*time.Second))
		if err != nil {
			r.t.Fatal(err)
		}
		around[c] = d >= -1 && d <= 1
	}
	if !around[shown[1]+shown[2]] {
		r.t.Errorf("the demo phone shows %s %s, not a current code for %s", shown[1], shown[2], tc.login)
	}
	code, err := totp.Code(secret, now)
	if err != nil {
		r.t.Fatal(err)
	}
	if tc.mistake == wrongCode {
		// Not valid at any time near now, however the clock moves.
		wrong := "000000"
		for n := 1; ; n++ {
			if _, near := around[wrong]; !near {
				break
			}
			wrong = strings.Repeat(string(rune('0'+n)), 6)
		}
		r.enterWrongCode(wrong)
	}
	return code, r.typeCode(code)
}

func (r *walkRig) enterWrongCode(wrong string) {
	r.keys(wrong + termEnter)
	r.waitFor("That code isn't right. Check it and try again.", "Enter your verification code")
	r.checkPassword(false)
}

// typeCode types code, waits for it in its field and submits it; it
// returns where the stream stood before the submit.
func (r *walkRig) typeCode(code string) int {
	r.keys(code)
	r.waitFor("┃ " + code)
	mark := len(r.wire())
	r.keys(termEnter)
	return mark
}

// shownNumber is the number the waiting screen asks to key in or tap.
func (r *walkRig) shownNumber() string {
	r.waitFor("Waiting for your answer...")
	return r.waitMatch(screenNumber)[1]
}

// answerCall keys in the number on the screen, or a wrong one, on the
// ringing demo phone. It reports whether the call verified.
func (r *walkRig) answerCall(tc methodWalk) bool {
	t := r.t
	to := demoE164(r.storedNumber(tc.method))
	r.waitFor("We're calling your phone.", "Incoming call to "+to, "Demo phone", "F2 back to the form", "Keypad [")
	n := r.shownNumber()
	d, ok := r.sent.last(tc.method)
	switch {
	case !ok:
		t.Fatal("no call was placed")
	case d.To != to || d.Token == "" || len(d.Choices) != 0:
		t.Fatalf("call placed as %+v", d)
	case strings.Contains(d.Text, n):
		t.Fatalf("the call tells the number to key in: %q", d.Text)
	}
	if tc.method == flow.CallOffice {
		// F2 gives the keyboard back to the form and takes it again.
		r.keys(termF2)
		r.waitUntil("the phone to let the keyboard go", func(s string) bool {
			return strings.Contains(s, "F2 phone") && !strings.Contains(s, "F2 back to the form")
		})
		r.keys(termF2)
		r.waitFor("F2 back to the form")
	}
	answer := n
	if tc.mistake == wrongAnswer {
		answer = "10"
		if n == answer {
			answer = "11"
		}
	}
	r.keys(answer)
	r.waitFor("Keypad [" + answer)
	r.keys(termEnter)
	if answer != n {
		r.wrongAnswerEnds()
		return false
	}
	return true
}

// tapPush taps the number on the screen, or a wrong one, among the three
// the demo phone offers. It reports whether the push verified.
func (r *walkRig) tapPush(tc methodWalk) bool {
	t := r.t
	r.waitFor("We've sent a notification to your authenticator app. Tap the number shown below.",
		"Authenticator app: sign-in request", "(keys 1-3)")
	n := r.shownNumber()
	d, ok := r.sent.last(flow.PushApp)
	if !ok || d.Token == "" || d.To != tc.login {
		t.Fatalf("push sent as %+v", d)
	}
	offered := screenChoice.FindAllStringSubmatch(flatWords(r.screen()), -1)
	if len(offered) != 3 || len(d.Choices) != 3 {
		t.Fatalf("the phone offers %q, the push carries %q; want three", offered, d.Choices)
	}
	key, wrong := "", ""
	for i, c := range offered {
		if c[2] != d.Choices[i] {
			t.Fatalf("the phone offers %q, the push carries %q", offered, d.Choices)
		}
		if c[2] == n {
			key = c[1]
		} else {
			wrong = c[1]
		}
	}
	if key == "" {
		t.Fatalf("the number on the screen, %s, is not among %q", n, d.Choices)
	}
	if tc.mistake == wrongAnswer {
		r.keys(wrong)
		r.wrongAnswerEnds()
		return false
	}
	r.keys(key)
	return true
}

// wrongAnswerEnds checks a wrong answer leads back to the method list and
// changes nothing.
func (r *walkRig) wrongAnswerEnds() {
	r.waitFor("That wasn't the number on your screen. Choose a method to try again.",
		"Please choose the contact method we should use for verification:")
	s := r.screen()
	if strings.Contains(s, "Waiting for your answer") {
		r.t.Fatalf("still waiting after a wrong answer:\n%s", s)
	}
	r.checkPassword(false)
}

// hangUp ends the session with Ctrl+C; the directory stays as it was.
func (r *walkRig) hangUp() {
	r.keys(termCtrlC)
	if status := r.tm.wait(r.t); status != 0 {
		r.t.Errorf("exit status %d after Ctrl+C, want 0", status)
	}
	r.checkPassword(false)
	r.checkScreenReader()
}

func (r *walkRig) checkScreenReader() {
	r.screen()
	if len(r.vt.unknown) > 0 {
		r.t.Errorf("the renderer sent sequences the screen reader does not follow: %v", r.vt.unknown)
	}
}
