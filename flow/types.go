package flow

import "time"

// Channel is how a person reached the wizard.
type Channel string

// The channels sspr serves.
const (
	Local Channel = "local"
	SSH   Channel = "ssh"
	Kiosk Channel = "kiosk"
)

// Origin says where a session comes from; Remote is an address or a kiosk name.
type Origin struct {
	Channel Channel
	Remote  string
	// Lang is the person's language as a BCP 47 tag or a POSIX locale
	// ("de", "de_DE.UTF-8"); empty, or a language not offered, means
	// English. Every message of the session, on screen and sent, is in it
	// (see package i18n).
	Lang string
	// SSHKey is the wire form of the public key the SSH client proved it
	// holds by signing with it, nil for none. It is never an identity:
	// it is only checked against the keys of the account named.
	SSHKey []byte
}

// MethodID names a verification method.
type MethodID string

// The verification methods, in the order they are offered.
const (
	TextMobile  MethodID = "sms"
	CallMobile  MethodID = "call_mobile"
	CallOffice  MethodID = "call_office"
	PushApp     MethodID = "push"
	TOTPApp     MethodID = "totp"
	EmailAltern MethodID = "email"
	// Helpdesk is a code an administrator issued (helpdesk.go).
	Helpdesk MethodID = "helpdesk"
	SSHKey   MethodID = "ssh_key"
)

// methodOrder is the order of the radio list, as Microsoft's portal shows it.
var methodOrder = []MethodID{SSHKey, TextMobile, CallMobile, CallOffice, PushApp, TOTPApp, EmailAltern, Helpdesk}

// Answered reports whether m is answered on the phone or in the app (a
// call or a push: the provider reports the answer with Engine.Approve)
// rather than by typing a code.
func (m MethodID) Answered() bool {
	return m == CallMobile || m == CallOffice || m == PushApp
}

// SendsCode reports whether verifying by m sends the person a code (a
// text or an email); an app's code or a helpdesk code is not sent.
func (m MethodID) SendsCode() bool {
	return m == TextMobile || m == EmailAltern
}

// Method is one entry of the radio list.
type Method struct {
	ID MethodID
	// Label is the radio-list wording, in the session's language.
	Label string
	// Hint is the masked destination, e.g. "*****80" or "a***@example.com".
	Hint string
}

// User is a directory entry as flow sees it.
type User struct {
	// ID is the stable key of the entry in its directory (a login or a DN).
	ID          string
	Login       string
	DisplayName string
	Email       string
	Mobile      string
	Office      string
	// TOTPSecret is the base32 secret of an enrolled authenticator app.
	TOTPSecret string
	Disabled   bool
	// Locked means the directory has locked the account after failed
	// sign-ins; a verified person may unlock it (see Unlocker).
	Locked bool
	// Groups are the groups the entry belongs to (names or DNs), matched
	// against the privileged groups of the policy.
	Groups []string
	// SSHKeys are the account's public keys as authorized_keys lines
	// (options and comments allowed), for the SSH-key method.
	SSHKeys []string
}

// Step is where a session stands.
type Step int

// The steps of a reset. A session only moves forward through them.
const (
	StepIdentify Step = iota
	StepChooseMethod
	StepConfirmNumber
	StepEnterCode
	StepWaiting
	StepSetPassword
	StepDone
	StepClosed
	// StepManage is the list of the person's methods in "Update my security
	// info" (see info.go); a new destination is proved on StepEnterCode or
	// StepWaiting and the session comes back here.
	StepManage
)

var stepNames = [...]string{"identify", "choose_method", "confirm_number", "enter_code", "waiting", "set_password", "done", "closed", "manage"}

func (s Step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "unknown"
}

// Rule is one password requirement and whether a candidate meets it.
type Rule struct {
	ID   string
	Text string
	Met  bool
}

// DeliveryKind says what a delivery is for.
type DeliveryKind string

// The kinds of delivery. The zero kind is a verification: a code, a call
// or a push.
const (
	KindVerification DeliveryKind = ""
	// KindNotice tells a person (or an administrator) that a password was
	// reset; it carries no code and no link.
	KindNotice DeliveryKind = "notice"
)

// Delivery is one message handed to a sender: a text, a call, an email or a
// push. Text is the full message as the person receives it.
type Delivery struct {
	SessionID string
	Kind      DeliveryKind
	Method    MethodID
	// To is the stored destination (never what the person typed).
	To   string
	Text string
	// Subject is a short title of Text in the same language, for a
	// provider that has one (an email's subject line).
	Subject string
	// Token identifies a pending approval (calls and pushes); the provider
	// reports the person's answer with Engine.Approve(token, answer). On a
	// text it is a watch: a provider that learns the text could not be
	// delivered reports Engine.Approve(token, AnswerUnreachable).
	Token string
	// Choices are the numbers a push offers; one of them is on the screen.
	Choices []string
	// Shown is the number on the person's screen, for a push service that
	// cannot offer choices and can only show it next to Approve (Duo). A
	// service that offers Choices must not use it.
	Shown   string
	Expires time.Time
	// Lang is the language Text is written in, as a base BCP 47 tag
	// ("en", "de", "fr"), for the words a provider adds itself (a call's
	// spoken prompt, an email's subject) and its voice.
	Lang string
}
