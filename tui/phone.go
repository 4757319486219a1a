package tui

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/sspr-project/sspr/flow"
)

// phone is the demo phone: it shows what the demo senders delivered to
// this session, rings with a keypad for calls, offers a push's numbers, and
// shows the authenticator code. It changes only when a flow call returns
// (deliveries happen inside them), or every 30 s while a TOTP code is shown.
type phone struct {
	e        *env
	demo     DemoPhone
	inbox    []flow.Delivery
	focused  bool
	auto     bool // focus was moved here by a ringing call or push
	rang     string
	keypad   *field // made when first needed: most sessions never ring
	answered map[string]bool
	status   string
	totp     string
	totpGen  int
}

// answeredMsg reports the demo phone's answer to a call or push.
type answeredMsg struct{ err error }

// totpTickMsg refreshes the authenticator code at the next 30 s step.
type totpTickMsg struct{ gen int }

func newPhone(e *env, demo DemoPhone) *phone {
	return &phone{e: e, demo: demo, answered: map[string]bool{}}
}

// pad returns the call keypad, making it on first use.
func (p *phone) pad() *field {
	if p.keypad == nil {
		p.keypad = newField(p.e.t("tui.phone.keypad"), 8, 8, false)
	}
	return p.keypad
}

// reset forgets everything of the previous session.
func (p *phone) reset() {
	*p = *newPhone(p.e, p.demo)
}

// sync takes the inbox after a flow call and moves the focus to a call or
// push that starts ringing.
func (p *phone) sync(inbox []flow.Delivery) tea.Cmd {
	p.inbox = inbox
	if d, ok := p.ringing(); ok && d.Token != p.rang {
		p.rang, p.focused, p.auto, p.status = d.Token, true, true, ""
		p.pad().clear()
		p.pad().focus()
	} else if !ok && p.auto {
		p.focused, p.auto = false, false
	}
	p.totpGen++
	if !p.showsTOTP() {
		p.totp = ""
		return nil
	}
	return p.refreshTOTP()
}

// active reports whether keys go to the phone: it has the focus and rings.
func (p *phone) active() bool {
	_, ringing := p.ringing()
	return p.focused && ringing
}

func (p *phone) showsTOTP() bool {
	return p.e.st.Step == flow.StepEnterCode && p.e.st.Method.ID == flow.TOTPApp
}

// refreshTOTP reads the code and schedules the next read for the next step.
func (p *phone) refreshTOTP() tea.Cmd {
	now := time.Now()
	code, ok := p.demo.AuthenticatorCode(p.e.st.Login, now)
	p.totp = ""
	if ok {
		p.totp = code
	}
	gen := p.totpGen
	next := now.Truncate(30 * time.Second).Add(30 * time.Second).Sub(now)
	return after(p.e.ctx, next, totpTickMsg{gen: gen})
}

func (p *phone) latest() (flow.Delivery, bool) {
	if len(p.inbox) == 0 {
		return flow.Delivery{}, false
	}
	return p.inbox[len(p.inbox)-1], true
}

// ringing returns the call or push the wizard is waiting on, if unanswered.
func (p *phone) ringing() (flow.Delivery, bool) {
	d, ok := p.latest()
	if !ok || d.Token == "" || !d.Method.Answered() || p.answered[d.Token] || p.e.st.Step != flow.StepWaiting {
		return flow.Delivery{}, false
	}
	return d, true
}

// Update handles the phone's own messages, and keys while it has the focus:
// digits for a call's keypad, 1-3 for a push. It reports whether it used
// the message; other keys go on to the wizard.
func (p *phone) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case totpTickMsg:
		if msg.gen == p.totpGen && p.showsTOTP() {
			return p.refreshTOTP(), true
		}
		return nil, true
	case answeredMsg:
		if msg.err != nil {
			p.status = p.e.t("tui.phone.answer_failed")
		}
		return nil, true
	}
	d, _ := p.ringing()
	if !p.active() {
		return nil, false
	}
	k, isKey := msg.(tea.KeyPressMsg)
	switch {
	case d.Method == flow.PushApp && isKey:
		if s := k.String(); len(s) == 1 && s[0] >= '1' && int(s[0]-'1') < len(d.Choices) {
			return p.answer(d.Token, d.Choices[s[0]-'1']), true
		}
		return nil, false
	case d.Method == flow.PushApp:
		return nil, false
	case isKey && k.String() == "enter":
		return p.answer(d.Token, p.pad().value()), true
	case isKey && (k.String() == "backspace" || len(k.Text) == 1 && strings.Contains("0123456789*#", k.Text)):
		p.pad().update(msg)
		return nil, true
	case !isKey:
		p.pad().update(msg) // a paste
		return nil, true
	}
	return nil, false
}

// keys are the phone's keys for the footer while it has the focus.
func (p *phone) keys() []key.Binding {
	d, ringing := p.ringing()
	switch {
	case !ringing:
		return nil
	case d.Method == flow.PushApp:
		return []key.Binding{p.e.keys.Tap}
	}
	return []key.Binding{p.e.keys.Keypad, p.e.keys.Send}
}

// answer keys the digits or taps the number, in a command.
func (p *phone) answer(token, answer string) tea.Cmd {
	p.answered[token] = true
	p.status = p.e.t("tui.phone.answered")
	if p.keypad != nil {
		p.keypad.clear()
	}
	demo, ctx := p.demo, p.e.ctx
	return func() tea.Msg { return answeredMsg{err: demo.Answer(ctx, token, answer)} }
}

// lines draws the phone's content to width cells and at most height lines;
// the descriptive text goes first when room is short.
func (p *phone) lines(width, height int) ([]string, *tea.Position) {
	t, e := p.e.theme, p.e
	wrap := func(s string) []string {
		return strings.Split(lipgloss.NewStyle().Width(width).Render(s), "\n")
	}
	var head, text, action []string
	var cursor *tea.Position
	d, has := p.latest()
	ring, ringing := p.ringing()
	switch {
	case p.showsTOTP() && p.totp != "":
		head = wrap(e.t("tui.phone.totp_for", "Login", p.e.st.Login))
		action = []string{t.heading.Render(p.totp[:3]+" "+p.totp[3:]) + t.hint.Render("  "+e.t("tui.phone.totp_every"))}
	case p.showsTOTP():
		head = wrap(e.t("tui.phone.totp_none"))
	case ringing && ring.Method == flow.PushApp:
		head = wrap(e.t("tui.phone.push_title"))
		text = wrap(flow.Sanitize(ring.Text, 1000))
		var c []string
		for i, n := range ring.Choices {
			c = append(c, fmt.Sprintf("%s %s", t.key.Render(fmt.Sprintf("[%d]", i+1)), t.heading.Render(n)))
		}
		action = []string{e.t("tui.phone.tap") + " " + strings.Join(c, "   ") + t.hint.Render("  "+e.t("tui.phone.keys"))}
	case ringing:
		head = wrap(e.t("tui.phone.incoming", "To", flow.Sanitize(ring.To, 64)))
		text = wrap(flow.Sanitize(ring.Text, 1000))
		box, col := p.pad().render()
		label := e.t("tui.phone.keypad") + " "
		action = []string{label + box + t.hint.Render("  "+e.t("tui.phone.enter_send"))}
		if p.active() {
			cursor = &tea.Position{X: lipgloss.Width(label) + col}
		}
	case has && d.Kind == flow.KindNotice:
		head = wrap(deliveryTitle(e, d))
		text = wrap(boldCodes(t, flow.Sanitize(d.Text, 1000)))
	case has && d.Method.Answered() && d.Token != "":
		head = wrap(callEnded(e, d, p.status))
	case has && p.e.st.Step == flow.StepEnterCode && p.e.st.Method.ID == d.Method:
		head = wrap(deliveryTitle(e, d))
		text = wrap(boldCodes(t, flow.Sanitize(d.Text, 1000)))
	case has:
		// The code is shown only while it is asked for.
		head = wrap(e.t("tui.phone.no_new"))
	default:
		head = wrap(e.t("tui.phone.none_yet"))
	}
	room := max(height-len(head)-len(action), 0)
	out := append(append(head, text[:min(room, len(text))]...), action...)
	if cursor != nil {
		cursor.Y = len(out) - 1
	}
	if len(out) > height {
		out, cursor = out[:height], nil
	}
	return out, cursor
}

// phoneCode finds a code in a message: a run of 6 to 10 digits (a year
// or a time is not one).
var phoneCode = regexp.MustCompile(`\b\d{6,10}\b`)

// boldCodes draws the codes of a message in bold, the part to type.
func boldCodes(t *theme, s string) string {
	return phoneCode.ReplaceAllStringFunc(s, func(c string) string { return t.heading.Render(c) })
}

func callEnded(e *env, d flow.Delivery, status string) string {
	what := e.t("tui.phone.call_ended")
	if d.Method == flow.PushApp {
		what = e.t("tui.phone.push_closed")
	}
	if status != "" {
		return what + " " + status
	}
	return what
}

func deliveryTitle(e *env, d flow.Delivery) string {
	if d.Method == flow.EmailAltern {
		return e.t("tui.phone.email_to", "To", flow.Sanitize(d.To, 128))
	}
	return e.t("tui.phone.text_to", "To", flow.Sanitize(d.To, 64))
}
