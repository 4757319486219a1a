package sshserver

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Why a program was asked to stop from outside.
const (
	stopMaxTime  = "max_time"
	stopShutdown = "shutdown"
)

// programRun is one running program, as Shutdown and the time limit see it.
type programRun struct {
	p *tea.Program

	mu     sync.Mutex
	reason string
}

// stop asks the program to quit; the first reason given is kept.
func (r *programRun) stop(reason string) {
	r.mu.Lock()
	if r.reason == "" {
		r.reason = reason
	}
	r.mu.Unlock()
	r.p.Quit()
}

func (r *programRun) stopReason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// runProgram is the innermost middleware: the Bubble Tea program itself.
func (s *Server) runProgram(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.serveProgram(sess)
		next(sess)
	}
}

func (s *Server) serveProgram(sess ssh.Session) {
	cs := stateOf(sess.Context())
	pty, winch, _ := sess.Pty()
	cols, rows := uint32(max(pty.Window.Width, 0)), uint32(max(pty.Window.Height, 0))
	cs.mu.Lock()
	if cs.hasWindow {
		cols, rows = cs.window[0], cs.window[1]
	}
	cs.mu.Unlock()
	reg := s.region(cols, rows)
	w, h := reg.w, reg.h
	out := newOrigin(sess, reg)
	term := pty.Term
	if !validTerm(term) {
		term = fallbackTerm
	}
	env := programEnv(term, sess.Environ())

	// The program's context ends with the connection but carries none of
	// the connection's values: the SSH user name stays out of reach.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	info := SessionInfo{
		ID: cs.id, Remote: cs.remote, Term: term, Width: w, Height: h,
		Env: append([]string(nil), env...), Context: ctx, PublicKey: provenKey(sess), Task: TaskFor(sess.User()),
	}
	info.Lang, info.LCAll, info.LCMessages = clientLocale(sess.Environ())
	info.Language = s.language(info)
	tr := i18n.For(info.Language)
	model := s.cfg.NewModel(info)
	if model == nil {
		cs.log.Error("session_failed", "why", "no model")
		cs.setExit(1, "no_model")
		fmt.Fprint(sess, "\n"+tr.T("sshserver.cannot_start")+"\n")
		return
	}

	g := &guard{model: model, cs: cs, width: w, tr: tr, frame: time.Second / time.Duration(s.cfg.FPS)}
	var run *programRun
	in := s.inputFilter(sess, cs, func(reason string) { run.stop(reason) })
	d := &drain{in: in}
	p := tea.NewProgram(g,
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithEnvironment(env),
		// The output is not a terminal here (the PTY is emulated), so the
		// profile comes from the environment alone; detecting it would
		// also read terminfo files named by TERM.
		tea.WithColorProfile(colorprofile.Env(env)),
		tea.WithWindowSize(w, h),
		tea.WithFPS(s.cfg.FPS),
		tea.WithContext(ctx),
		// Signals to the server process are the server's business:
		// Shutdown quits every program itself.
		tea.WithoutSignalHandler(),
		tea.WithFilter(d.filter),
	)
	d.quit = p.Quit
	g.frames = takeFrames(p)
	d.frames = g.frames
	// A hang-up ends the program the same way, and for certain soon after.
	defer context.AfterFunc(sess.Context(), func() {
		d.start()
		time.AfterFunc(drainMax+time.Second, cancel)
	})()
	run = &programRun{p: p}
	g.quit, g.send = p.Quit, p.Send
	if !s.register(run) {
		g.close()
		cs.setExit(1, stopShutdown)
		fmt.Fprint(sess, "\n"+tr.T("sshserver.restarting")+"\n")
		return
	}
	defer s.unregister(run)

	go s.forwardWindows(ctx, cs, p, out, winch)
	limit := time.AfterFunc(s.cfg.MaxSessionTime, func() { run.stop(stopMaxTime) })
	_, err := p.Run()
	limit.Stop()
	drainLeftovers(p)
	cs.mu.Lock()
	cs.ended = true
	cs.mu.Unlock()
	cancel()
	g.close()

	reason := run.stopReason()
	switch {
	case g.failed || errors.Is(err, tea.ErrProgramPanic):
		cs.setExit(1, "panic")
	case reason == stopInputFlood || reason == stopPasteLimit:
		cs.setExit(1, reason)
	case reason != "":
		cs.setExit(0, reason)
	case err != nil && sess.Context().Err() != nil:
		cs.setExit(0, "disconnect")
	case err != nil:
		cs.log.Error("session_failed", "error", err.Error())
		cs.setExit(1, "error")
	default:
		cs.setExit(0, "quit")
	}
	switch {
	case g.failed:
		fmt.Fprint(sess, "\n"+tr.T("sshserver.internal_error", "Ref", cs.id[:8])+"\n")
	case reason == stopMaxTime:
		fmt.Fprint(sess, "\n"+tr.T("sshserver.time_limit")+"\n")
	case reason == stopShutdown:
		fmt.Fprint(sess, "\n"+tr.T("sshserver.restarting")+"\n")
	case reason == stopInputFlood || reason == stopPasteLimit:
		fmt.Fprint(sess, "\n"+tr.T("sshserver.too_much_input")+"\n")
	}
	// Let the bytes that restore the client's terminal leave before the
	// session closes.
	time.Sleep(s.cfg.ExitPause)
}

// inputFilter wraps the session's input in the limits of the settings
// (see inputFilter); stop ends the session.
func (s *Server) inputFilter(sess ssh.Session, cs *connState, stop func(reason string)) *inputFilter {
	lim := inputLimits{
		rate: s.cfg.InputRate, burst: s.cfg.InputBurst, dropLimit: int64(s.cfg.InputDropLimit),
		maxPaste: s.cfg.MaxPaste, maxEscape: s.cfg.MaxEscape,
	}
	f := newInputFilter(sess, lim, func(reason string) {
		switch reason {
		case stopInputFlood:
			cs.log.Warn(reason, "dropped_over", lim.dropLimit, "rate", lim.rate, "burst", lim.burst)
		case stopPasteLimit:
			cs.log.Warn(reason, "max_paste", lim.maxPaste)
		}
		stop(reason)
	})
	f.onDrop = func() { cs.log.Info("input_dropped", "rate", lim.rate, "burst", lim.burst) }
	f.onCut = func() { cs.log.Info("input_escape_cut", "max_escape", lim.maxEscape) }
	return f
}

// region is where a session draws in a client's window of cols x rows.
func (s *Server) region(cols, rows uint32) region {
	return regionFor(cols, rows, s.cfg.MaxWidth, s.cfg.MaxHeight, s.cfg.TopLeft)
}

// forwardWindows passes window changes to the program as its region's
// size, and the region to out: at most WindowChanges a second, the last
// one of those in between winning. Every change is passed on, even one
// that leaves the region as it was: the renderer redraws the whole
// screen on a size, which a terminal may have scrolled. It drains the
// channel until the ssh package closes it, so a late change never blocks
// the connection's requests.
func (s *Server) forwardWindows(ctx context.Context, cs *connState, p *tea.Program, out *origin, winch <-chan ssh.Window) {
	defer func() {
		if r := recover(); r != nil {
			cs.log.Error("session_panic", "where", "window changes", "panic", fmt.Sprint(r))
		}
	}()
	every := time.Second / time.Duration(s.cfg.WindowChanges)
	var (
		first   = true
		pending *region
		sent    time.Time
		timer   *time.Timer
		due     <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case win, ok := <-winch:
			if !ok {
				return
			}
			if first {
				// The pty request's own size, which the program started with.
				first = false
				continue
			}
			r := s.region(uint32(max(win.Width, 0)), uint32(max(win.Height, 0)))
			pending = &r
			if due != nil {
				continue // the timer sends the latest
			}
			if wait := every - time.Since(sent); wait > 0 {
				timer = time.NewTimer(wait)
				due = timer.C
				continue
			}
		case <-due:
			due, timer = nil, nil
		}
		if pending != nil && ctx.Err() == nil {
			// The region first: the redraw the new size starts (the
			// renderer erases the screen on every size) moves it.
			out.set(*pending)
			p.Send(tea.WindowSizeMsg{Width: pending.w, Height: pending.h})
			sent = time.Now()
		}
		pending = nil
	}
}

// clientLocale picks LANG, LC_ALL and LC_MESSAGES from what the request
// filter let through; the last one sent wins.
func clientLocale(client []string) (lang, lcAll, lcMessages string) {
	for _, kv := range client {
		name, value, _ := strings.Cut(kv, "=")
		if !validLocale(value) {
			continue
		}
		switch name {
		case "LANG":
			lang = value
		case "LC_ALL":
			lcAll = value
		case "LC_MESSAGES":
			lcMessages = value
		}
	}
	return lang, lcAll, lcMessages
}

// programEnv is the whole environment a program sees: the checked TERM,
// and COLORTERM and NO_COLOR as the request filter let them through.
func programEnv(term string, client []string) []string {
	env := []string{"TERM=" + term}
	var colorterm, nocolor, lang, lcAll, lcCtype string
	for _, kv := range client {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == "COLORTERM" && validTerm(value):
			colorterm = kv
		case name == "NO_COLOR" && value != "":
			nocolor = "NO_COLOR=1"
		// The locale says whether the client's terminal is UTF-8; one
		// that is not gets ASCII drawing.
		case name == "LANG" && validTerm(value):
			lang = kv
		case name == "LC_ALL" && validTerm(value):
			lcAll = kv
		case name == "LC_CTYPE" && validTerm(value):
			lcCtype = kv
		}
	}
	for _, kv := range []string{colorterm, nocolor, lang, lcAll, lcCtype} {
		if kv != "" {
			env = append(env, kv)
		}
	}
	return env
}

var execMsgType = reflect.TypeOf(tea.Exec(nil, nil)())

// serverSafe drops the messages that would act on the server process
// instead of the session: a suspend stops the whole process group with
// SIGTSTP, and an exec runs a local command on the server's terminal.
func serverSafe(_ tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(tea.SuspendMsg); ok {
		return nil
	}
	if msg != nil && reflect.TypeOf(msg) == execMsgType {
		return nil
	}
	return msg
}

// The bounds of draining a session's input before its program ends: the
// input must have been quiet for drainQuiet (longer than the decoder's
// wait for the rest of an escape sequence, 50ms), and the wait lasts at
// most drainMax.
const (
	drainQuiet = 150 * time.Millisecond
	drainMax   = 400 * time.Millisecond
)

// drain makes a program's end wait until its input decoder has handed
// over what it holds. Bubble Tea's decoder (ultraviolet's TerminalReader)
// sends its last events without watching the program's context, on a
// channel nobody reads once the program has quit: a session that ended
// while input was arriving left a goroutine blocked for ever, holding the
// program and its model. So the first quit closes the input, waits until
// the decoder has been quiet for drainQuiet while the program still reads
// its messages, and only then quits.
type drain struct {
	in      *inputFilter
	quit    func()
	frames  *frames // nil when Bubble Tea ticks itself
	started atomic.Bool
	done    atomic.Bool
}

// start begins the drain once; the program quits when it is over.
func (d *drain) start() {
	if d.started.Swap(true) {
		return
	}
	d.in.close()
	go func() {
		deadline := time.Now().Add(drainMax)
		for !d.in.quietFor(drainQuiet) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		d.done.Store(true)
		d.quit()
	}()
}

// filter holds back every quit until the drain is over, and keeps the
// messages that would act on the server process out (serverSafe).
func (d *drain) filter(m tea.Model, msg tea.Msg) tea.Msg {
	if d.frames.filter(msg) {
		return nil
	}
	msg = serverSafe(m, msg)
	if _, ok := msg.(tea.QuitMsg); ok && !d.done.Load() {
		d.start()
		return nil
	}
	return msg
}

// guard wraps a session's model so that a panic in Init, Update, View or
// a command it returned is logged with its stack and ends this session
// gracefully (terminal restored), and nothing else.
type guard struct {
	model tea.Model
	cs    *connState
	quit  func()
	tr    *i18n.Printer // the session's language
	// Set and read on the program's goroutine only:
	failed bool
	width  int    // of the window, for the notice
	notice string // shown over the screen once the server shuts down

	// Bubble Tea calls View after every message: views are built at most
	// once a frame on average (a typing flood rebuilt the whole screen per
	// key), the one held back is built when a redrawMsg comes. Two may
	// come at once (viewBurst): a key's view is never held back behind
	// the one view built just before it for something else, a countdown's
	// second or a call's answer. Each view built asks frames to draw it at
	// once, from the first window size on: the views before it are laid
	// out for no size, and the program sends the size at once
	// (tea.WithWindowSize).
	frames *frames
	sized  bool
	frame  time.Duration
	send   func(tea.Msg)
	view   tea.View
	// next is when the next view is due at one a frame; zero before the
	// first and after a new size. A view may be built up to
	// (viewBurst-1) frames before it.
	next   time.Time
	redraw bool             // a redrawMsg is on its way
	now    func() time.Time // time.Now; the tests' clock
}

// viewBurst is how many views may be built at once before the frame rate
// holds the next back.
const viewBurst = 2

// redrawMsg asks for the view guard.View held back.
type redrawMsg struct{}

// commandPanicMsg reports a recovered panic in a command.
type commandPanicMsg struct{}

func (g *guard) Init() (cmd tea.Cmd) {
	defer g.catch("init", &cmd)
	return g.wrap(g.model.Init())
}

func (g *guard) Update(msg tea.Msg) (m tea.Model, cmd tea.Cmd) {
	m = g
	if g.failed {
		return m, nil
	}
	switch msg := msg.(type) {
	case redrawMsg:
		g.redraw = false
		return m, nil
	case commandPanicMsg:
		g.failed = true
		return m, tea.Quit
	case noticeMsg:
		if g.notice == "" {
			g.notice = localNotice(msg.text, g.tr)
		}
		return m, nil
	case tea.WindowSizeMsg:
		g.width, g.sized = msg.Width, true
		// A new size is drawn at once (window changes are rate-limited
		// already): the first frame must not show the size before it.
		g.next = time.Time{}
	}
	if g.notice != "" && quietAfterNotice(msg) {
		return m, nil
	}
	defer g.catch("update", &cmd)
	next, c := g.model.Update(msg)
	g.model = next
	return m, g.wrap(c)
}

func (g *guard) View() (v tea.View) {
	if g.failed {
		g.frames.request()
		return tea.NewView("")
	}
	now := time.Now
	if g.now != nil {
		now = g.now
	}
	t := now()
	if wait := g.next.Add(-(viewBurst - 1) * g.frame).Sub(t); !g.next.IsZero() && wait > 0 {
		if !g.redraw {
			g.redraw = true
			send := g.send
			time.AfterFunc(wait, func() { send(redrawMsg{}) })
		}
		return g.view
	}
	defer func() {
		if r := recover(); r != nil {
			g.report("view", r)
			g.failed = true
			v = tea.NewView("")
			go g.quit()
		}
	}()
	v = g.model.View()
	if g.notice != "" {
		v.Content = withNotice(v.Content, g.notice, g.width)
	}
	g.view = v
	if g.next.Before(t) {
		g.next = t
	}
	g.next = g.next.Add(g.frame)
	if g.sized {
		g.frames.request()
	}
	return v
}

func (g *guard) catch(where string, cmd *tea.Cmd) {
	if r := recover(); r != nil {
		g.report(where, r)
		g.failed = true
		*cmd = tea.Quit
	}
}

func (g *guard) wrap(c tea.Cmd) tea.Cmd {
	if c == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				g.report("command", r)
				msg = commandPanicMsg{}
			}
		}()
		return c()
	}
}

// close lets a model that holds resources beyond its program (a flow
// session, a wait on a call) release them, however the program ended.
func (g *guard) close() {
	c, ok := g.model.(interface{ Close() })
	if !ok {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			g.report("close", r)
		}
	}()
	c.Close()
}

func (g *guard) report(where string, r any) {
	g.cs.log.Error("session_panic", "where", where,
		"panic", flow.Sanitize(fmt.Sprint(r), 200), "stack", string(debug.Stack()))
}
