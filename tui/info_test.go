package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/boombuler/barcode/qr"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
	"github.com/sspr-project/sspr/providers/totp"
)

// oldPass is every account's current password in an infoDir.
const oldPass = "Old-Horse-Battery-7"

// infoDir is the fake directory that checks passwords and stores methods,
// for "Update my security info".
type infoDir struct{ *fakeDir }

// CheckPassword knows every account's password, oldPass
// (flow.PasswordChanger).
func (d infoDir) CheckPassword(_ context.Context, _ flow.User, pw string) error {
	if pw != oldPass {
		return flow.ErrWrongPassword
	}
	return nil
}

func (d infoDir) SetMethods(_ context.Context, u flow.User, c flow.MethodChanges) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[u.ID] = c.Apply(d.users[u.ID])
	return nil
}

func (d infoDir) user(id string) flow.User {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.users[id]
}

var secretRE = regexp.MustCompile(`[A-Z2-7]{4}( [A-Z2-7]{4}){7}`)

// TestInfoScreensInEveryLanguage walks "Update my security info" in every
// language, styled and plain, at 80x24 with the demo phone: sign-in (with
// the CAPTCHA, and refused), the proof, the list, a new address proved by
// its code, a new authenticator app by its QR code, a removal; every
// frame fits, nothing cut.
func TestInfoScreensInEveryLanguage(t *testing.T) {
	for _, lang := range i18n.Languages() {
		for _, plain := range []bool{false, true} {
			name := lang
			if plain {
				name += " plain"
			}
			t.Run(name, func(t *testing.T) { walkInfo(t, lang, plain) })
		}
	}
}

func walkInfo(t *testing.T, lang string, plain bool) {
	tr := i18n.For(lang)
	opts := Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:2200", Lang: lang}, Remote: true, Plain: plain}

	h := startWith(t, flow.Config{SecretKey: testKey, EmailEnabled: true, Limits: quickLimits}, opts, true, nil, false, true)
	h.waitText(tr.T("tui.title_info"), tr.T("tui.identify.login"), tr.T("tui.identify.current"))
	h.waitView("the picture", func(v string) bool { return picture(v) != "" })
	h.frame("sign-in with the CAPTCHA", plain)

	h = startWith(t, testConfig(), opts, true, nil, false, true)
	h.waitText(tr.T("tui.identify.intro_info"))
	h.typeText("alice")
	h.enter()
	h.typeText("wrong-Password-1")
	h.enter()
	h.waitText(tr.T("flow.sign_in.wrong"))
	h.frame("sign-in refused", plain)
	if strings.Contains(h.view(), "*") && strings.Contains(h.view(), strings.Repeat("*", 16)) {
		t.Errorf("the refused password is still in its field:\n%s", h.view())
	}
	h.typeText(oldPass)
	h.enter()
	h.waitText(tr.T("tui.methods.prompt"))
	h.choose(flow.TextMobile.LabelIn(tr))
	h.waitText(tr.T("tui.number.field"))
	h.typeText("4155550180")
	h.waitFor("4155550180")
	h.enter()
	h.waitText(tr.T("tui.code.sent_text"))
	code := h.out.code(t)
	h.typeText(code)
	h.waitFor(code)
	h.enter()
	h.waitText(tr.T("tui.info.heading"), tr.T("flow.contact.label.office"), tr.T("tui.info.helpdesk_only"), "*****80")
	h.frame("manage", plain)

	// Change the alternate email: Change mobile, Remove mobile, Add app,
	// Change email.
	for i := 0; i < 3; i++ {
		h.press(tea.KeyDown)
	}
	h.enter()
	h.waitText(tr.T("tui.info.intro_email"), tr.T("tui.info.new_email"))
	h.typeText("alice@example.org")
	h.waitFor("alice@example.org")
	h.frame("new address", plain)
	h.enter()
	h.waitText(tr.T("tui.code.sent_email", "Hint", "a***@example.org"), tr.T("tui.info.back"))
	h.frame("code to the new address", plain)
	d, _ := h.out.last()
	if d.To != "alice@example.org" || !strings.Contains(d.Text, tr.T("flow.delivery.info_code", "Code", h.out.code(t), "TTL", "")[:10]) {
		t.Errorf("the code went to %q: %q", d.To, d.Text)
	}
	code = h.out.code(t)
	h.typeText(code)
	h.waitFor(code)
	h.enter()
	h.waitText(tr.T("tui.info.saved"), "a***@example.org")
	h.frame("saved", plain)
	dir := infoDir{h.dir}
	if got := dir.user("alice").Email; got != "alice@example.org" {
		t.Fatalf("alice's email is %q", got)
	}

	// A new authenticator app, by the code it shows.
	h.press(tea.KeyUp)
	h.press(tea.KeyUp)
	h.press(tea.KeyUp)
	h.enter()
	h.waitText(tr.T("tui.code.field"))
	v := h.waitView("the secret", func(v string) bool { return secretRE.MatchString(v) })
	if plain != !strings.Contains(v, "█") {
		t.Errorf("plain %v, QR code drawn %v", plain, strings.Contains(v, "█"))
	}
	h.frame("authenticator app", plain)
	secret := strings.ReplaceAll(secretRE.FindString(v), " ", "")
	var err error
	if !plain {
		// The code on the screen is the one of this secret's URI.
		want, err := drawQR("otpauth://totp/sspr:alice?secret="+secret+"&issuer=sspr", qr.L, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range strings.Split(strings.TrimSuffix(want, "\n"), "\n") {
			if !strings.Contains(v, row) {
				t.Fatalf("row %d of the QR code of the secret is not on the screen:\n%s", i, v)
			}
		}
	}
	code, err = totp.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.typeText(code)
	h.enter()
	h.waitText(tr.T("tui.info.saved"))
	if dir.user("alice").TOTPSecret != secret {
		t.Fatal("the app was not saved")
	}
}

// The last method cannot be removed: the refusal is on the screen and the
// method stays.
func TestInfoLastMethodStays(t *testing.T) {
	h := startWith(t, testConfig(), Options{Origin: flow.Origin{Channel: flow.Local, Remote: "tty1"}}, false, nil, false, true)
	h.waitText("Who are you?")
	h.typeText("dave")
	h.enter()
	h.typeText(oldPass)
	h.enter()
	h.choose(flow.EmailAltern.Label())
	h.waitText("verification code")
	code := h.out.code(t)
	h.typeText(code)
	h.waitFor(code)
	h.enter()
	h.waitText("Your security info", "d***@example.com")
	// Add mobile, Add app, Change email, Remove email.
	for i := 0; i < 3; i++ {
		h.press(tea.KeyDown)
	}
	h.enter()
	h.waitText("You can't remove your last method")
	if (infoDir{h.dir}).user("dave").Email == "" {
		t.Fatal("the last method was removed")
	}
}

// After a reset, a person with one method is offered another; the offer
// leads to the list of their methods, and "No, thanks" ends the program.
func TestOfferAfterReset(t *testing.T) {
	for _, lang := range i18n.Languages() {
		for _, plain := range []bool{false, true} {
			tr := i18n.For(lang)
			opts := Options{Origin: flow.Origin{Channel: flow.Local, Remote: "tty1", Lang: lang}, Plain: plain}
			h := startWith(t, testConfig(), opts, true, nil, true, false)
			h.waitText(tr.T("tui.identify.title"))
			h.typeText("dave")
			h.enter()
			h.choose(flow.EmailAltern.LabelIn(tr))
			h.waitText(tr.T("tui.code.field"))
			code := h.out.code(t)
			h.typeText(code)
			h.waitFor(code)
			h.enter()
			// dave's account is locked: set a new password.
			h.waitText(tr.T("tui.unlock.title"))
			h.press(tea.KeyDown)
			h.enter()
			h.setPasswordIn(tr, "Abc-Vrilk-Tosquen-9")
			h.waitText(tr.T("tui.done.title"), tr.T("tui.done.more"), tr.T("tui.done.add_more"), tr.T("tui.done.no_thanks"))
			h.frame(lang+" offer", plain)
			h.enter()
			h.waitText(tr.T("tui.info.heading"), "d***@example.com")
			h.frame(lang+" after the offer", plain)
		}
	}
	h := startWith(t, testConfig(), Options{Origin: flow.Origin{Channel: flow.Local, Remote: "tty1"}}, false, nil, true, false)
	h.waitText("Who are you?")
	h.typeText("dave")
	h.enter()
	h.choose(flow.EmailAltern.Label())
	h.waitText("Enter your verification code")
	code := h.out.code(t)
	h.typeText(code)
	h.waitFor(code)
	h.enter()
	h.waitText(i18n.English().T("tui.unlock.title"))
	h.enter() // keep the password
	h.waitText("Your account has been unlocked", "Add another way to reach you")
	h.press(tea.KeyTab)
	h.enter()
	h.final()
}

// setPasswordIn fills in the password screen in tr's language.
func (h *harness) setPasswordIn(tr *i18n.Printer, pw string) {
	h.t.Helper()
	h.waitText(tr.T("tui.password.new"), tr.T("tui.password.confirm"))
	h.typeText(pw)
	h.enter()
	h.typeText(pw)
	h.enter()
}
