package tui

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/flow"
)

// The SSH key verifies at once, so the second verification step begins on
// the method list itself: the list is drawn anew, without the key.
func TestSSHKeyThenSecondMethod(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := gossh.NewPublicKey(pub)
	cfg := testConfig()
	cfg.MethodsRequired = 2
	cfg.SSHKey.Enabled = true
	h := start(t, cfg, Options{Origin: flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", SSHKey: k.Marshal()}}, false)
	h.dir.mu.Lock()
	alice := h.dir.users["alice"]
	alice.SSHKeys = []string{string(gossh.MarshalAuthorizedKey(k))}
	h.dir.users["alice"] = alice
	h.dir.mu.Unlock()

	h.identify("alice")
	h.choose("Use the SSH key you connected with")
	v := h.waitFor("Verification step 2", "Verification step 1 is done. Choose a second method.")
	if strings.Contains(v, "SSH key") {
		t.Fatalf("the key is offered again:\n%s", v)
	}
	h.choose("Email my alternate email")
	h.waitFor("Enter your verification code")
	h.typeText(h.out.code(t))
	h.enter()
	h.setPassword(goodPassword)
	h.waitFor("Your password has been reset")
	if got := h.dir.password("alice"); got != goodPassword {
		t.Fatalf("directory got %q", got)
	}
}
