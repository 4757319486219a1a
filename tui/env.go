package tui

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/sspr-project/sspr/flow"
)

// env is what the screens share with the Wizard: the session, the context
// its calls run under, the theme and the latest snapshot of the session.
type env struct {
	sess   *flow.Session
	ctx    context.Context
	demo   DemoPhone
	theme  *theme
	st     flow.State
	crumbs []string
	// busy is true while a flow call runs: a second submit would only be
	// refused as out of order.
	busy bool
	// captchaLen is the number of digits the CAPTCHA draws.
	captchaLen int
}

// result is the outcome of a flow call, with a snapshot of the session taken
// in the same command so the screens never call flow from Update.
type result struct {
	sess    *flow.Session
	op      string
	err     error
	state   flow.State
	methods []flow.Method
	crumbs  []string
	inbox   []flow.Delivery
	// wait is the generation of the Wait call this result ends, or 0.
	wait int
}

// call runs fn against the session in a command and reports a result.
func (e *env) call(op string, fn func(context.Context, *flow.Session) error) tea.Cmd {
	if e.busy {
		return nil
	}
	e.busy = true
	s, ctx, demo := e.sess, e.ctx, e.demo
	return func() tea.Msg {
		return snapshot(s, demo, op, fn(ctx, s))
	}
}

func snapshot(s *flow.Session, demo DemoPhone, op string, err error) result {
	r := result{sess: s, op: op, err: err, state: s.State(), crumbs: s.Breadcrumb()}
	if r.state.Step == flow.StepChooseMethod {
		r.methods = s.Methods()
	}
	if demo != nil {
		r.inbox = demo.Inbox(s.ID())
	}
	return r
}

// flowError returns err as a flow error; any other error becomes a calm
// generic one carrying the session's support code.
func flowError(err error, ref string) *flow.Error {
	if err == nil {
		return nil
	}
	var fe *flow.Error
	if errors.As(err, &fe) {
		return fe
	}
	return &flow.Error{Reason: flow.ReasonUnavailable, Ref: ref,
		Message: "Something went wrong. Please try again in a few minutes."}
}
