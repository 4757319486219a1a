package flow_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sspr-project/sspr/flow"
)

// sshKey is a fresh ed25519 public key: its wire form and its
// authorized_keys line.
func sshKey(t testing.TB) (wire []byte, line string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k.Marshal(), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
}

func withSSHKey(c *flow.Config) { c.SSHKey.Enabled = true }

// keyRig is a rig with the SSH-key method on, where bob (a mobile) and
// tess (an authenticator app) list their keys.
func keyRig(t *testing.T, mutate ...func(*flow.Config)) (r *rig, bobKey, tessKey []byte) {
	t.Helper()
	r = newRig(t, append([]func(*flow.Config){withSSHKey}, mutate...)...)
	bobKey, bobLine := sshKey(t)
	tessKey, tessLine := sshKey(t)
	_, other := sshKey(t)
	bob, tess := r.dir.users["bob"], r.dir.users["tess"]
	// Options and comments do not matter; the key does.
	bob.SSHKeys = []string{other, `from="192.0.2.0/24",no-pty ` + bobLine + " bob@laptop"}
	tess.SSHKeys = []string{tessLine}
	r.dir.users["bob"], r.dir.users["tess"] = bob, tess
	return r, bobKey, tessKey
}

func (r *rig) withKey(login string, key []byte) *flow.Session {
	r.t.Helper()
	s := mustBegin(r.t, r.eng, flow.Origin{Channel: flow.SSH, Remote: "192.0.2.7:50022", SSHKey: key})
	mustOK(r.t, s.Identify(context.Background(), login, flow.CaptchaAnswer(s)))
	return s
}

func TestSSHKeyVerifiesAtOnce(t *testing.T) {
	r, bobKey, _ := keyRig(t)
	s := r.withKey("bob", bobKey)
	ms := s.Methods()
	if len(ms) == 0 || ms[0].ID != flow.SSHKey || ms[0].Label != "Use the SSH key you connected with" || ms[0].Hint != "" {
		t.Fatalf("bob's methods with his key: %+v", ms)
	}
	mustOK(t, s.Choose(bg, flow.SSHKey))
	mustStep(t, s, flow.StepSetPassword)
	if r.sends() != 0 {
		t.Fatal("the SSH key sent something")
	}
	mustOK(t, s.SetPassword(bg, goodPass, goodPass))
	if sets := r.dir.Sets(); len(sets) != 1 || sets[0].User.Login != "bob" {
		t.Fatalf("writes %+v", sets)
	}
	// The notice says how the person proved it.
	if n := r.sms.Last(t); n.Kind != flow.KindNotice || !strings.Contains(n.Text, "the SSH key you connected with") {
		t.Fatalf("notice %+v", n)
	}

	// The audit names the key by its fingerprint, never by the key itself.
	k, _ := gossh.ParsePublicKey(bobKey)
	audit := r.audit.String()
	var verify string
	for _, l := range strings.Split(audit, "\n") {
		if strings.Contains(l, `"msg":"verify"`) {
			verify = l
		}
	}
	if !strings.Contains(verify, `"method":"ssh_key"`) || !strings.Contains(verify, `"key":"`+gossh.FingerprintSHA256(k)+`"`) {
		t.Fatalf("verify record %s", verify)
	}
	if !strings.Contains(audit, `"step":"session","result":"started","reason":"","key":"`+gossh.FingerprintSHA256(k)+`"`) {
		t.Fatalf("the start of the session does not name the key:\n%s", audit)
	}
	if strings.Contains(audit, base64.StdEncoding.EncodeToString(bobKey)[:40]) {
		t.Fatal("the audit holds the key")
	}
}

func TestSSHKeyOfferedOnlyForTheListedKey(t *testing.T) {
	r, bobKey, tessKey := keyRig(t)
	_, strangerKey, _ := func() ([]byte, []byte, error) { w, _ := sshKey(t); return nil, w, nil }()
	ca := r.dir.users["erin"]
	_, caLine := sshKey(t)
	caKey := must(gossh.ParseAuthorizedKey([]byte(caLine))).Marshal()
	ca.SSHKeys = []string{"cert-authority " + caLine}
	r.dir.users["erin"] = ca
	off := newRig(t)
	offBob := off.dir.users["bob"]
	offBob.SSHKeys = r.dir.users["bob"].SSHKeys
	off.dir.users["bob"] = offBob

	for _, c := range []struct {
		name  string
		r     *rig
		login string
		key   []byte
	}{
		{"no key", r, "bob", nil},
		{"another account's key", r, "bob", tessKey},
		{"a key nobody lists", r, "bob", strangerKey},
		{"the key for another account", r, "erin", bobKey},
		{"a certificate authority", r, "erin", caKey},
		{"a disabled account", r, "carol", bobKey},
		{"an unknown login", r, "nobody", bobKey},
		{"not a key", r, "bob", []byte("ssh-ed25519 AAAA")},
		{"the method off", off, "bob", bobKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.r.withKey(c.login, c.key)
			if hasMethod(s.Methods(), flow.SSHKey) {
				t.Fatalf("offered: %v", methodIDs(s.Methods()))
			}
			mustReason(t, s.Choose(bg, flow.SSHKey), flow.ReasonMethodUnknown)
		})
	}
}

func must[T any](v T, _ string, _ []string, _ []byte, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// With two methods required the key is one of them: the list comes back
// without it, and it cannot be chosen again.
func TestSSHKeyCountsAsOneMethod(t *testing.T) {
	r, bobKey, _ := keyRig(t, func(c *flow.Config) { c.MethodsRequired = 2 })
	s := r.withKey("bob", bobKey)
	mustOK(t, s.Choose(bg, flow.SSHKey))
	mustStep(t, s, flow.StepChooseMethod)
	if st := s.State(); st.Verification != 2 {
		t.Fatalf("verification step %d, want 2", st.Verification)
	}
	if got := methodIDs(s.Methods()); slices.Contains(got, flow.SSHKey) || len(got) == 0 {
		t.Fatalf("second step offers %v", got)
	}
	mustReason(t, s.Choose(bg, flow.SSHKey), flow.ReasonMethodUnknown)
	// Without his key, bob (one phone) cannot meet a two-method policy:
	// he walks the decoy path.
	r.withKey("bob", nil)
	if !strings.Contains(r.audit.String(), `"login":"bob","step":"identify","result":"decoy","reason":"ineligible"`) {
		t.Fatalf("bob without his key was not turned away:\n%s", r.audit.String())
	}
}

// An account with an authenticator app proves the app; the key is one
// more method, or the app itself with policy.ssh_key.app_grade.
func TestSSHKeyAppGrade(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		r, _, tessKey := keyRig(t)
		s := r.withKey("tess", tessKey)
		if got := methodIDs(s.Methods()); !slices.Contains(got, flow.SSHKey) || !slices.Contains(got, flow.TOTPApp) {
			t.Fatalf("tess with her key: %v", got)
		}
		mustOK(t, s.Choose(bg, flow.SSHKey))
		mustStep(t, s, flow.StepChooseMethod)
		if got := methodIDs(s.Methods()); slices.Contains(got, flow.SSHKey) || !slices.Contains(got, flow.TOTPApp) {
			t.Fatalf("after the key: %v", got)
		}
		mustOK(t, s.Choose(bg, flow.TOTPApp))
		mustOK(t, s.SubmitCode(bg, totpCode(t, r.clock.Now())))
		mustStep(t, s, flow.StepSetPassword)
	})
	t.Run("app grade", func(t *testing.T) {
		r, _, _ := keyRig(t, func(c *flow.Config) { c.SSHKey.AppGrade = true })
		// alice has the app, a mobile, an office phone and an email; with
		// her key as the app, the email completes the reset.
		aliceKey, line := sshKey(t)
		alice := r.dir.users["alice"]
		alice.SSHKeys = []string{line}
		r.dir.users["alice"] = alice
		s := r.withKey("alice", aliceKey)
		mustOK(t, s.Choose(bg, flow.SSHKey))
		if !hasMethod(s.Methods(), flow.EmailAltern) {
			t.Fatalf("after the key as the app: %v", methodIDs(s.Methods()))
		}
		mustOK(t, s.Choose(bg, flow.EmailAltern))
		mustOK(t, s.SubmitCode(bg, codeIn(t, r.email.Last(t))))
		mustStep(t, s, flow.StepSetPassword)

		// Not app grade, the email is not offered after the key.
		r2, _, _ := keyRig(t)
		r2.dir.users["alice"] = alice
		s = r2.withKey("alice", aliceKey)
		mustOK(t, s.Choose(bg, flow.SSHKey))
		if hasMethod(s.Methods(), flow.EmailAltern) {
			t.Fatalf("the email after the key, the app unproved: %v", methodIDs(s.Methods()))
		}
	})
}

// A suspension reached meanwhile stops the key as it stops a code.
func TestSSHKeySuspended(t *testing.T) {
	r, _, _ := keyRig(t)
	aliceKey, line := sshKey(t)
	alice := r.dir.users["alice"]
	alice.SSHKeys = []string{line}
	r.dir.users["alice"] = alice
	s := r.withKey("alice", aliceKey)
	for i := 0; i < 4; i++ {
		mustReason(t, r.wrongTOTP("alice"), flow.ReasonCodeWrong)
	}
	mustReason(t, r.wrongTOTP("alice"), flow.ReasonSuspended)
	mustReason(t, s.Choose(bg, flow.SSHKey), flow.ReasonSuspended)
	mustStep(t, s, flow.StepClosed)
}
