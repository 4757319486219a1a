package tui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// env is what the screens share with the Wizard: the session, the context
// its calls run under, the theme and the latest snapshot of the session.
type env struct {
	sess  *flow.Session
	ctx   context.Context
	demo  DemoPhone
	theme *theme
	st    flow.State
	// busy is true while a flow call runs: a second submit would only be
	// refused as out of order.
	busy bool
	// captchaLen is the number of digits the CAPTCHA draws.
	captchaLen int
	// tr words every text in the session's language.
	tr *i18n.Printer
	// audioURL makes the link to the spoken CAPTCHA; nil without one.
	audioURL func(token string) string
	// task is the task of the session (or of the one that could not
	// begin).
	task flow.Task
	// keys are the key bindings, worded in the session's language.
	keys *keyMap
	// maxPassword is the longest password the policy takes.
	maxPassword int
	// now is the engine's clock, the one the times of st are on.
	now func() time.Time
}

// taskMsg asks the Wizard to begin a session of another task (a link on
// a first screen).
type taskMsg struct{ task flow.Task }

// otherTasks are the tasks the first screen of e.task links to, in order.
func (e *env) otherTasks() []flow.Task {
	var out []flow.Task
	for _, t := range flow.Tasks {
		if t != e.task {
			out = append(out, t)
		}
	}
	return out
}

// taskLinks words the links to tasks.
func (e *env) taskLinks(tasks []flow.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = e.t(taskIDs[t])
	}
	return out
}

// taskIDs word the links to the tasks.
var taskIDs = map[flow.Task]string{
	flow.TaskReset:  "tui.task.reset",
	flow.TaskChange: "tui.task.change",
	flow.TaskInfo:   "tui.task.info",
}

// title is the title of the task, above every screen.
func (e *env) title() string {
	switch e.task {
	case flow.TaskChange:
		return e.t("tui.title_change")
	case flow.TaskInfo:
		return e.t("tui.title_info")
	}
	return e.t("tui.title")
}

// t words message id in the session's language.
func (e *env) t(id string, kv ...any) string { return e.tr.T(id, kv...) }

// errorText is a refusal as shown under a field or the screen: the cross
// and the message in the error colour, or the message worded as an error
// in plain mode.
func (e *env) errorText(msg string) string {
	text := e.t("tui.plain.error", "Text", msg)
	if e.theme.plain {
		return text
	}
	return e.theme.errText.Render(e.theme.errGlyph() + " " + text)
}

// mark is the sign in front of a password rule, in the theme's glyphs or
// words: neutral until something is typed.
func (e *env) mark(typed, met bool) string {
	return e.theme.mark(typed, met, e.t("tui.mark.met"), e.t("tui.mark.unmet"), e.t("tui.mark.todo"))
}

// result is the outcome of a flow call, with a snapshot of the session taken
// in the same command so the screens never call flow from Update.
type result struct {
	sess    *flow.Session
	op      string
	err     error
	state   flow.State
	methods []flow.Method
	inbox   []flow.Delivery
	// unlockable is Session.Unlockable on the password step.
	unlockable bool
	// wait is the generation of the Wait call this result ends, or 0.
	wait int
	// contacts are the person's methods on StepManage; secret is a new
	// authenticator secret to show (Session.AddApp); saved says a change
	// of them was saved by this call.
	contacts []flow.Registered
	secret   string
	saved    bool
	// more is Session.OffersMoreMethods on StepDone.
	more bool
}

// call runs fn against the session in a command and reports a result.
func (e *env) call(op string, fn func(context.Context, *flow.Session) error) tea.Cmd {
	return e.callSecret(op, func(ctx context.Context, s *flow.Session) (string, error) { return "", fn(ctx, s) })
}

// callSecret is call for a step that gives a secret to show
// (Session.AddApp): the result carries it to the screen that shows it.
func (e *env) callSecret(op string, fn func(context.Context, *flow.Session) (string, error)) tea.Cmd {
	if e.busy {
		return nil
	}
	e.busy = true
	s, ctx, demo := e.sess, e.ctx, e.demo
	return func() tea.Msg {
		secret, err := fn(ctx, s)
		r := snapshot(s, demo, op, err)
		r.secret = secret
		return r
	}
}

func snapshot(s *flow.Session, demo DemoPhone, op string, err error) result {
	r := result{sess: s, op: op, err: err, state: s.State()}
	switch r.state.Step {
	case flow.StepChooseMethod:
		r.methods = s.Methods()
	case flow.StepSetPassword:
		r.unlockable = s.Unlockable()
	case flow.StepManage:
		r.contacts = s.Contacts()
	case flow.StepDone:
		r.more = s.OffersMoreMethods()
	}
	if demo != nil {
		r.inbox = demo.Inbox(s.ID())
	}
	return r
}

// flowError returns err as a flow error; any other error becomes a calm
// generic one carrying the session's support code, worded by tr.
func flowError(err error, ref string, tr *i18n.Printer) *flow.Error {
	if err == nil {
		return nil
	}
	var fe *flow.Error
	if errors.As(err, &fe) {
		return fe
	}
	return &flow.Error{Reason: flow.ReasonUnavailable, Ref: ref,
		Message: tr.T("tui.error.generic")}
}
