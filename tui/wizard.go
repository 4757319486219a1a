package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Wizard is the reset as a Bubble Tea model: it holds one flow session and
// shows the screen for the step the session stands at. It decides no rule;
// every check is a flow call run in a command.
type Wizard struct {
	eng  *flow.Engine
	opts Options
	e    *env

	screen screen
	step   flow.Step
	// task is the task of the session; a link on the first screen
	// changes it, and Esc in a kiosk brings back opts.Task.
	task   flow.Task
	phone  *phone // nil outside demo mode
	notice *notice

	width, height int

	// ctx ends with the program; a waiting call or push ends with waitStop.
	ctx      context.Context
	stop     context.CancelFunc
	waitGen  int
	waitStop context.CancelFunc
	initCmd  tea.Cmd

	lastInput time.Time
	idleArmed bool

	kiosk kioskState // see kiosk.go

	// headCursor is the cursor on a link in the header, if one has the
	// focus (headerLinks).
	headCursor *tea.Position

	// lastLines are the card's lines in the last frame, before they were
	// cut to fit, and lastWidths their widths (View measures only the
	// lines that changed).
	lastLines  []string
	lastWidths []int

	// cut says what the last frame had to cut to fit (a line too wide,
	// lines past the bottom), "" when nothing: every text should wrap, in
	// every language. The tests read it.
	cut string

	// confirm is the question Esc asked (its message id), "" when
	// none: y answers it, any other key takes it back.
	confirm string
	// fullHelp shows every key in the footer (the help key toggles it).
	fullHelp bool
	// ticking: a one-second timer runs for a countdown on the screen.
	ticking bool

	term     string
	locale   string
	noColor  bool
	profile  colorprofile.Profile
	dark     bool
	finished bool
}

// screen is one step of the wizard, with its own Update and View.
type screen interface {
	Update(tea.Msg) (screen, tea.Cmd)
	// View lays the screen out in width cells and, where it can, height lines.
	View(width, height int) *body
	// Keys are the screen's keys, for the footer; Esc and the keys of
	// every screen are the Wizard's.
	Keys() []key.Binding
}

// clearer is a screen holding typed text that must go when the screen does.
type clearer interface{ clear() }

// idleMsg fires when the idle timeout may have passed.
type idleMsg struct{}

// armIdleMsg asks for the first idle timer. The timer is not part of Init's
// batch: a batch keeps a goroutine waiting until its slowest command ends,
// and the timer would make that minutes for every session.
type armIdleMsg struct{}

// notice is the message under the screen: a refusal, a confirmation, or
// a wait that counts down to until (worded by the plural countID).
type notice struct {
	text    string
	err     bool
	until   time.Time
	countID string
}

// secondMsg redraws a countdown once a second.
type secondMsg struct{}

// New returns a Wizard with a session of opts.Task begun for opts.Origin.
func New(eng *flow.Engine, opts Options) *Wizard {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 5 * time.Minute
	}
	opts.SignInURL = flow.Sanitize(opts.SignInURL, 512)
	if opts.Task == "" {
		opts.Task = flow.TaskReset
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &Wizard{eng: eng, opts: opts, task: opts.Task, width: 80, height: 24, dark: true, ctx: ctx, stop: stop, lastInput: time.Now()}
	w.e = &env{ctx: ctx, now: eng.Now, demo: opts.Demo, theme: newTheme(true, false, false, opts.Plain), captchaLen: eng.Config().CaptchaLength,
		tr: i18n.For(opts.Origin.Lang), audioURL: opts.CaptchaAudioURL, maxPassword: eng.Config().Password.MaxLength}
	w.e.keys = newKeyMap(w.e)
	if opts.Demo != nil {
		w.phone = &phone{e: w.e, demo: opts.Demo} // begin resets it
	}
	w.initCmd = w.begin()
	return w
}

// Init draws the first CAPTCHA, asks the terminal for its background and
// starts the idle timer.
func (w *Wizard) Init() tea.Cmd {
	return tea.Batch(w.initCmd, tea.RequestBackgroundColor, func() tea.Msg { return armIdleMsg{} })
}

// Close ends the session and whatever waits on it; call it once the program
// has ended however it ended. It is safe to call more than once.
func (w *Wizard) Close() {
	if w.finished {
		return
	}
	w.finished = true
	w.leave()
	w.stop()
	if s := w.e.sess; s != nil {
		go s.Cancel()
	}
}

// Update routes a message to the Wizard, the screen or the demo phone.
func (w *Wizard) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if w.finished {
		return w, nil // what arrives after the end must not start anything
	}
	m, cmd := w.update(msg)
	if tick := w.tick(); tick != nil {
		cmd = tea.Batch(cmd, tick)
	}
	return m, cmd
}

// tick starts the one-second timer while something on the screen counts
// down, and lets it end when nothing does: an idle screen costs nothing.
func (w *Wizard) tick() tea.Cmd {
	if w.ticking || w.finished || !w.countingDown() {
		return nil
	}
	w.ticking = true
	return after(w.ctx, time.Second, secondMsg{})
}

// countingDown reports a countdown on the screen: a cooldown notice or a
// link that cannot be used yet.
func (w *Wizard) countingDown() bool {
	if w.notice != nil && !w.notice.until.IsZero() {
		return true
	}
	c, ok := w.screen.(interface{ countingDown() bool })
	return ok && c.countingDown()
}

func (w *Wizard) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case secondMsg:
		w.ticking = false
		if n := w.notice; n != nil && !n.until.IsZero() && !time.Now().Before(n.until) {
			w.notice = nil // the wait is over
		}
		return w, nil
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
		if w.width == 0 {
			w.width = 80 // a client that sends 0x0 would see nothing
		}
		if w.height == 0 {
			w.height = 24
		}
		return w, nil
	case tea.BackgroundColorMsg:
		w.dark = msg.IsDark()
		w.applyTheme()
		return w, nil
	case tea.EnvMsg:
		w.term, w.noColor = msg.Getenv("TERM"), msg.Getenv("NO_COLOR") != ""
		w.locale = ctypeLocale(msg.Getenv)
		w.applyTheme()
		return w, nil
	case tea.ColorProfileMsg:
		w.profile = msg.Profile
		w.applyTheme()
		return w, nil
	case armIdleMsg:
		return w, w.armIdle()
	case idleMsg:
		w.idleArmed = false
		if time.Since(w.lastInput) >= w.opts.IdleTimeout {
			return w, w.quit()
		}
		return w, w.armIdle()
	case quitMsg:
		return w, w.quit()
	case retryMsg:
		return w, w.restart(nil)
	case taskMsg:
		w.task = msg.task
		return w, w.restart(nil)
	case newPasswordMsg:
		if w.step != flow.StepSetPassword {
			return w, nil
		}
		w.leave()
		w.notice = nil
		var cmd tea.Cmd
		w.screen, cmd = newPassword(w.e)
		return w, cmd
	case result:
		return w, w.handle(msg)
	case tea.KeyPressMsg:
		return w, tea.Batch(w.touch(), w.key(msg))
	case tea.PasteMsg:
		if w.tooSmall() {
			return w, w.touch()
		}
		return w, tea.Batch(w.touch(), w.route(msg))
	case totpTickMsg, answeredMsg:
		if w.phone != nil {
			cmd, _ := w.phone.Update(msg)
			return w, cmd
		}
		return w, nil
	}
	var cmd tea.Cmd
	w.screen, cmd = w.screen.Update(msg)
	return w, cmd
}

// key handles the keys that work on every screen, then routes the rest.
func (w *Wizard) key(k tea.KeyPressMsg) tea.Cmd {
	if w.adminExitKey(k) {
		w.Close()
		return tea.Quit
	}
	keys := w.e.keys
	if k.String() == "ctrl+c" {
		if w.opts.Origin.Channel == flow.Kiosk {
			return nil // a kiosk stays on its wizard
		}
		return w.quit()
	}
	if w.tooSmall() {
		return nil
	}
	if w.confirm != "" {
		// The question Esc asked: y answers it, anything else takes it back.
		what := w.confirm
		w.confirm = ""
		if !key.Matches(k, keys.Yes) {
			return nil
		}
		if what == "tui.confirm.back" {
			return back(w.e)
		}
		return w.startOver()
	}
	switch {
	case k.String() == "esc":
		return w.esc()
	case key.Matches(k, keys.Help) && (k.String() != "?" || !w.typing()):
		w.fullHelp = !w.fullHelp
		return nil
	case key.Matches(k, keys.Phone):
		if w.phone != nil {
			w.phone.focused, w.phone.auto = !w.phone.focused, false
			return nil
		}
	}
	return w.route(k)
}

// typing reports whether keys go into a text field: "?" is then typed.
func (w *Wizard) typing() bool {
	if w.phone != nil && w.phone.active() {
		return true
	}
	t, ok := w.screen.(interface{ typing() bool })
	return ok && t.typing()
}

// escAction is what Esc does on the screen shown.
type escAction int

const (
	escNone       escAction = iota
	escRestart              // nothing to lose: begin again at once
	escBack                 // one step back, nothing lost
	escAskBack              // one step back, asked first: the code sent stops working
	escAskRestart           // no step back: "Start over? y/N"
)

func (w *Wizard) escAction() escAction {
	switch s := w.screen.(type) {
	case *identify, *refused, *done:
		return escRestart
	case *number, *waiting:
		return escBack
	case *code:
		if !s.m.ID.SendsCode() {
			return escBack // nothing was sent that going back would lose
		}
		return escAskBack
	}
	return escAskRestart
}

// escBinding is Esc as the footer shows it on this screen.
func (w *Wizard) escBinding() *key.Binding {
	k := w.e.keys
	switch w.escAction() {
	case escBack, escAskBack:
		return &k.Back
	case escRestart:
		if _, ok := w.screen.(*identify); ok {
			return nil // already the start
		}
	}
	return &k.StartOver
}

// esc goes back one step where it can, and asks before it throws away
// what cannot be got back.
func (w *Wizard) esc() tea.Cmd {
	switch w.escAction() {
	case escRestart:
		return w.startOver() // on the first screen: a fresh one, fields emptied
	case escBack:
		return back(w.e)
	case escAskBack:
		w.confirm = "tui.confirm.back"
	default:
		w.confirm = "tui.confirm.start_over"
	}
	return nil
}

// startOver begins again; a kiosk also wipes the screen.
func (w *Wizard) startOver() tea.Cmd {
	if w.opts.Origin.Channel == flow.Kiosk {
		return w.scrub()
	}
	return w.restart(nil)
}

// route hands typing to the demo phone when it has the focus and wants it,
// else to the screen.
func (w *Wizard) route(msg tea.Msg) tea.Cmd {
	if w.phone != nil && w.phone.focused {
		if cmd, used := w.phone.Update(msg); used {
			return cmd
		}
	}
	var cmd tea.Cmd
	w.screen, cmd = w.screen.Update(msg)
	return cmd
}

// begin opens a new session on the identify screen, or says why none
// could be begun.
func (w *Wizard) begin() tea.Cmd {
	sess, err := w.eng.BeginTask(w.ctx, w.opts.Origin, w.task)
	w.e.sess, w.e.busy, w.e.task = sess, false, w.task
	w.confirm, w.fullHelp = "", false
	w.step = flow.StepIdentify
	if w.phone != nil {
		w.phone.reset()
	}
	if err != nil {
		fe := flowError(err, "", w.e.tr)
		w.e.st = flow.State{Ref: fe.Ref}
		w.screen = newRefused(w.e, fe.Message, !w.eng.Offers(w.task))
		return nil
	}
	w.e.st = sess.State()
	s, cmd := newIdentify(w.e)
	w.screen = s
	return cmd
}

// restart cancels the session and begins a new one with every field empty.
func (w *Wizard) restart(n *notice) tea.Cmd {
	old := w.e.sess
	w.leave()
	w.notice = n
	cmd := w.begin()
	return tea.Batch(func() tea.Msg {
		if old != nil {
			old.Cancel()
		}
		return nil
	}, cmd)
}

// leave clears what the screen holds and stops waiting on a call or push.
func (w *Wizard) leave() {
	if c, ok := w.screen.(clearer); ok {
		c.clear()
	}
	if w.waitStop != nil {
		w.waitStop()
		w.waitStop = nil
	}
	w.waitGen++
}

// handle applies the result of a flow call: the same step keeps its screen
// (which shows why it was refused), another step gets its screen.
func (w *Wizard) handle(r result) tea.Cmd {
	if r.sess != w.e.sess || (r.op == "wait" && r.wait != w.waitGen) {
		return nil // from a session or a wait already left
	}
	if r.op != "wait" {
		w.e.busy = false
	}
	// A method that verifies at once (the SSH key) moves to the next
	// verification step without leaving the list: it is drawn anew.
	nextStep := w.step == flow.StepChooseMethod && r.state.Verification != w.e.st.Verification
	r.saved = r.state.Saved > w.e.st.Saved
	w.e.st = r.state
	var cmds []tea.Cmd
	if w.phone != nil {
		cmds = append(cmds, w.phone.sync(r.inbox))
	}
	fe := flowError(r.err, r.state.Ref, w.e.tr)
	if fe != nil && fe.Final || r.state.Step == flow.StepClosed {
		n := &notice{text: w.e.t("tui.ended"), err: true}
		if fe != nil {
			n.text = w.e.t("tui.with_ref", "Message", fe.Message, "Ref", fe.Ref)
		}
		return tea.Batch(append(cmds, w.restart(n))...)
	}
	w.notice = w.noticeFor(r, fe)
	if r.state.Step != w.step || nextStep {
		return tea.Batch(append(cmds, w.enter(r))...)
	}

	if r.op == "wait" {
		// Wait ended without moving on (the store failed): back to the list.
		return tea.Batch(append(cmds, back(w.e))...)
	}
	var cmd tea.Cmd
	w.screen, cmd = w.screen.Update(r)
	if fe != nil && w.notice != nil && w.notice.err {
		// A refusal goes under the field it is about, where there is one.
		if in, ok := w.screen.(interface {
			inline(op string, fe *flow.Error, text string) bool
		}); ok && in.inline(r.op, fe, w.notice.text) {
			w.notice = nil
		}
	}
	return tea.Batch(append(cmds, cmd)...)
}

// noticeFor words the outcome of a call for the line under the screen.
func (w *Wizard) noticeFor(r result, fe *flow.Error) *notice {
	switch {
	case fe != nil && len(fe.Rules) > 0 && fe.Reason == flow.ReasonPolicy:
		var names []string
		for _, rule := range fe.Rules {
			names = append(names, rule.Text)
		}
		// Two of the rules, then how many more: they are all marked on
		// the screen, under the field.
		if len(names) > 2 {
			return &notice{text: w.e.tr.N("tui.not_met_more", len(names)-2, "Message", fe.Message, "Rules", strings.Join(names[:2], "; ")), err: true}
		}
		return &notice{text: w.e.t("tui.not_met", "Message", fe.Message, "Rules", strings.Join(names, "; ")), err: true}
	case fe != nil && fe.Reason == flow.ReasonCooldown && fe.RetryAfter > 0:
		// Not an error: a wait, counted down live.
		id := "flow.cooldown.method"
		if r.op == "resend" {
			id = "flow.cooldown.code"
		}
		return &notice{text: fe.Message, until: time.Now().Add(fe.RetryAfter), countID: id}
	case fe != nil:
		return &notice{text: fe.Message, err: true}
	case r.state.Step == flow.StepSetPassword && r.state.Expired && w.step != flow.StepSetPassword:
		return &notice{text: w.e.t("tui.password.expired")}
	case r.op == "resend":
		return &notice{text: w.e.t("tui.resent")}
	case r.saved:
		return &notice{text: w.e.t("tui.info.saved")}
	case r.state.Step == flow.StepChooseMethod && r.state.Verification > 1 && (w.step != flow.StepChooseMethod || r.op == "choose"):
		return &notice{text: w.e.t("tui.step_one_done")}
	}
	return nil
}

// enter shows the screen of the step the session has reached.
func (w *Wizard) enter(r result) tea.Cmd {
	w.leave()
	w.step = r.state.Step
	var cmd tea.Cmd
	switch w.step {
	case flow.StepChooseMethod:
		w.screen = newMethods(w.e, r.methods)
	case flow.StepConfirmNumber:
		w.screen = newNumber(w.e, r.state.Method)
	case flow.StepEnterCode:
		if r.secret != "" {
			w.screen = newEnroll(w.e, r.secret)
		} else {
			w.screen = newCode(w.e, r.state.Method)
		}
		cmd = w.watchDelivery() // flow knows whether there is a delivery to watch
	case flow.StepWaiting:
		w.screen, cmd = newWaiting(w.e, r.state)
		cmd = tea.Batch(cmd, w.wait())
	case flow.StepSetPassword:
		if r.unlockable {
			w.screen = newUnlock(w.e)
		} else {
			w.screen, cmd = newPassword(w.e)
		}
	case flow.StepManage:
		w.screen = newManage(w.e, r.contacts)
	case flow.StepDone:
		w.screen = newDone(w.e, w.opts.SignInURL, r.state.Unlocked, r.state.Task == flow.TaskChange, r.more)
	default:
		w.screen, cmd = newIdentify(w.e)
	}
	return cmd
}

// wait runs Session.Wait until the call or push is answered, it times out,
// or the person leaves the screen (waitStop) or the program ends.
func (w *Wizard) wait() tea.Cmd {
	ctx, stop := context.WithCancel(w.ctx)
	w.waitStop = stop
	gen, s, demo := w.waitGen, w.e.sess, w.opts.Demo
	return func() tea.Msg {
		err := s.Wait(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		r := snapshot(s, demo, "wait", err)
		r.wait = gen
		return r
	}
}

// watchDelivery runs Session.WatchDelivery while the code screen of a text
// is up: a provider's report that the text was not delivered brings the
// person back to the method list with the reason. It ends like wait.
func (w *Wizard) watchDelivery() tea.Cmd {
	ctx, stop := context.WithCancel(w.ctx)
	w.waitStop = stop
	gen, s, demo := w.waitGen, w.e.sess, w.opts.Demo
	return func() tea.Msg {
		err := s.WatchDelivery(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		r := snapshot(s, demo, "wait", err)
		r.wait = gen
		return r
	}
}

// quit ends the session and the program; over SSH that hangs up.
func (w *Wizard) quit() tea.Cmd {
	if w.opts.Origin.Channel == flow.Kiosk {
		return w.scrub() // a kiosk never ends: back to the first screen
	}
	w.Close()
	return tea.Quit
}

// touch records a key press; the idle timer re-arms itself from it.
func (w *Wizard) touch() tea.Cmd {
	w.lastInput = time.Now()
	return w.armIdle()
}

// armIdle schedules one timer for when the idle timeout would pass. It is
// not re-armed per key press (that would leave a goroutine per key sleeping
// for minutes): when it fires early it schedules the rest. It ends with
// the Wizard (Close), so an ended session leaves no timer holding it.
func (w *Wizard) armIdle() tea.Cmd {
	if w.idleArmed || w.finished {
		return nil
	}
	w.idleArmed = true
	d := w.opts.IdleTimeout - time.Since(w.lastInput)
	return after(w.ctx, d, idleMsg{})
}

// applyTheme rebuilds the styles after the terminal told us about itself.
func (w *Wizard) applyTheme() {
	ascii := asciiTerm(w.term)
	mono := w.noColor || (w.profile != colorprofile.Unknown && w.profile <= colorprofile.ASCII)
	basic := w.profile == colorprofile.ANSI
	w.e.theme = newThemeFor(w.dark, ascii, mono, w.opts.Plain, !utf8Locale(w.locale), basic)
	w.e.keys = newKeyMap(w.e)
}

// ctypeLocale is the locale of the character set: LC_ALL, LC_CTYPE, LANG.
func ctypeLocale(getenv func(string) string) string {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// utf8Locale reports whether a locale (LC_ALL, LC_CTYPE or LANG) is UTF-8;
// an unset one is taken to be, as on every current system.
func utf8Locale(locale string) bool {
	if locale == "" || locale == "C.UTF-8" {
		return true
	}
	l := strings.ToLower(locale)
	if l == "c" || l == "posix" {
		return false
	}
	if i := strings.IndexByte(l, '.'); i >= 0 {
		cs := strings.ReplaceAll(strings.ReplaceAll(l[i+1:], "-", ""), "_", "")
		if j := strings.IndexByte(cs, '@'); j >= 0 {
			cs = cs[:j]
		}
		return cs == "utf8"
	}
	// A bare language (de_DE) is Latin-1 by the old convention.
	return false
}

// asciiTerm reports terminals whose fonts lack check marks and other
// symbols beyond the Linux console's.
func asciiTerm(term string) bool {
	switch {
	case strings.HasPrefix(term, "linux"), strings.HasPrefix(term, "vt"), term == "dumb", term == "ansi", term == "cons25":
		return true
	}
	return false
}

func (w *Wizard) tooSmall() bool { return w.width < 80 || w.height < 24 }
