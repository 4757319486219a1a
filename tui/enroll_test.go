package tui

import (
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/i18n"
)

// Leaving the authenticator screen forgets the secret and the QR code
// that carries it, as well as the code typed.
func TestEnrollClearForgetsTheSecret(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	e := &env{theme: newTheme(true, false, false, false), tr: i18n.For("en"), st: flow.State{Login: "alice"}}
	e.keys = newKeyMap(e)
	s := newEnroll(e, secret)
	if s.qr == "" || !strings.Contains(strings.Join(s.View(columnWidth, 24).lines, "\n"), grouped(secret)) {
		t.Fatal("the secret is not shown")
	}
	s.code.in.SetValue("123456")
	s.clear()
	if s.secret != "" || s.qr != "" || s.code.value() != "" {
		t.Fatalf("left behind: secret %q, QR %d bytes, code %q", s.secret, len(s.qr), s.code.value())
	}
}
