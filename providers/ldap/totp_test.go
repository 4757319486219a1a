package ldap_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/ldap"
	"github.com/sspr-project/sspr/providers/memstore"
	"github.com/sspr-project/sspr/providers/totp"
)

// newTOTPKey is a fresh random TOTP key.
func newTOTPKey(t *testing.T) *totp.Key {
	t.Helper()
	raw := make([]byte, totp.KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := totp.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSecret is a fresh authenticator secret, as `sspr users totp` makes.
func newSecret(t *testing.T, login string) string {
	t.Helper()
	secret, _, err := totp.NewSecret("sspr", login)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// rawTOTP reads the stored value of dn's TOTP attribute as the rootdn.
func rawTOTP(t *testing.T, srv *slapd.Server, dn string) string {
	t.Helper()
	v := srv.Attr(dn, slapd.TOTPAttribute)
	if len(v) > 1 {
		t.Fatalf("%s has %d values of %s", dn, len(v), slapd.TOTPAttribute)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// With a key, SetTOTPSecret writes a sealed value bound to the entry's DN
// and a lookup opens it; plain values written before keep working.
func TestOpenLDAPTOTPSealedAtRest(t *testing.T) {
	srv := slapd.Start(t)
	key := newTOTPKey(t)
	cfg := slapdConfig(srv)
	cfg.TOTPKey = key
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()

	bob := slapdLookup(t, d, "bob")
	if bob.TOTPSecret != "" {
		t.Fatalf("bob has an authenticator before enrolment")
	}
	secret := newSecret(t, "bob")
	if err := d.SetTOTPSecret(ctx, bob, secret); err != nil {
		t.Fatalf("SetTOTPSecret: %v", err)
	}
	raw := rawTOTP(t, srv, bob.ID)
	if !strings.HasPrefix(raw, totp.SealedPrefix+key.ID()+":") || strings.Contains(raw, secret) {
		t.Fatalf("the stored value is not sealed with key %s (%d bytes, prefix %q)", key.ID(), len(raw), raw[:min(len(raw), 16)])
	}
	if got := slapdLookup(t, d, "bob"); got.TOTPSecret != secret {
		t.Fatal("the lookup does not return the enrolled secret")
	}
	if got := slapdLookup(t, d, "bob@example.com"); got.TOTPSecret != secret {
		t.Fatal("the lookup by mail does not return the enrolled secret")
	}

	// Replacing: one value, the new secret.
	second := newSecret(t, "bob")
	if err := d.SetTOTPSecret(ctx, slapdLookup(t, d, "bob"), second); err != nil {
		t.Fatalf("SetTOTPSecret again: %v", err)
	}
	if got := slapdLookup(t, d, "bob"); got.TOTPSecret != second {
		t.Fatal("the replaced secret is not the one a lookup returns")
	}
	if rawTOTP(t, srv, bob.ID) == raw {
		t.Fatal("the stored value did not change")
	}

	// A legacy plain value (alice's, seeded) is read as it is.
	if got := slapdLookup(t, d, "alice"); got.TOTPSecret != "JBSWY3DPEHPK3PXP" {
		t.Fatal("alice's plain secret is not returned with a key configured")
	}
	if strings.Contains(log.String(), second) || strings.Contains(log.String(), secret) {
		t.Fatalf("the log holds a secret:\n%s", log)
	}

	// The sspr check lookup line says sealed, and shows nothing of it.
	var out bytes.Buffer
	if err := d.Check(ctx, "bob", &out); err != nil {
		t.Fatalf("Check: %v\n%s", err, out.String())
	}
	if want := "authenticator app (" + slapd.TOTPAttribute + ", sealed with key " + key.ID() + ")"; !strings.Contains(out.String(), want) {
		t.Fatalf("no %q in:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), second) || strings.Contains(out.String(), rawTOTP(t, srv, bob.ID)) {
		t.Fatalf("Check shows the secret:\n%s", out.String())
	}
}

// A sealed value that does not open (copied from another entry, sealed
// under another key, no key at all, or changed) leaves the person without
// an authenticator app: the lookup still works, and the log says why
// without any part of the value.
func TestOpenLDAPTOTPThatDoesNotOpen(t *testing.T) {
	srv := slapd.Start(t)
	key := newTOTPKey(t)
	cfg := slapdConfig(srv)
	cfg.TOTPKey = key
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()
	secret := newSecret(t, "bob")
	if err := d.SetTOTPSecret(ctx, slapdLookup(t, d, "bob"), secret); err != nil {
		t.Fatal(err)
	}
	sealed := rawTOTP(t, srv, slapd.UserDN("bob"))

	// Copied to alice: bound to bob's DN, it does not open for her.
	srv.Modify(slapd.UserDN("alice"), func(m *goldap.ModifyRequest) { m.Replace(slapd.TOTPAttribute, []string{sealed}) })
	alice := slapdLookup(t, d, "alice")
	if alice.TOTPSecret != "" || alice.Mobile == "" {
		t.Fatalf("alice with bob's sealed value: TOTP %v, mobile %q", alice.TOTPSecret != "", alice.Mobile)
	}
	if l := log.String(); !strings.Contains(l, "cannot be used") || !strings.Contains(l, slapd.UserDN("alice")) || !strings.Contains(l, "does not decrypt") {
		t.Fatalf("the log does not say why:\n%s", l)
	}
	var out bytes.Buffer
	if err := d.Check(ctx, "alice", &out); err != nil {
		t.Fatalf("Check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "authenticator app ("+slapd.TOTPAttribute+") that cannot be used: does not decrypt") {
		t.Fatalf("Check does not say the secret cannot be used:\n%s", out.String())
	}

	// A changed value does not open either.
	b := []byte(sealed)
	if i := len(b) - 5; b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	tampered := string(b)
	srv.Modify(slapd.UserDN("alice"), func(m *goldap.ModifyRequest) { m.Replace(slapd.TOTPAttribute, []string{tampered}) })
	if got := slapdLookup(t, d, "alice"); got.TOTPSecret != "" {
		t.Fatal("a changed sealed value opened")
	}

	// Another key, or none: bob has no app, and the log names the cause.
	other := cfg
	other.TOTPKey = newTOTPKey(t)
	d2, log2 := slapdDirectory(t, other)
	if got := slapdLookup(t, d2, "bob"); got.TOTPSecret != "" {
		t.Fatal("a value sealed under another key opened")
	}
	if !strings.Contains(log2.String(), "encrypted with another key") {
		t.Fatalf("log with another key:\n%s", log2)
	}
	none := cfg
	none.TOTPKey = nil
	d3, log3 := slapdDirectory(t, none)
	if got := slapdLookup(t, d3, "bob"); got.TOTPSecret != "" {
		t.Fatal("a sealed value opened without a key")
	}
	if !strings.Contains(log3.String(), "no TOTP key is configured") {
		t.Fatalf("log without a key:\n%s", log3)
	}
	// Plain values are still read without a key.
	if got := slapdLookup(t, d3, "twin1"); got.TOTPSecret != "" {
		t.Fatal("twin1 has a secret")
	}
	for _, l := range []string{log.String(), log2.String(), log3.String()} {
		if strings.Contains(l, secret) || strings.Contains(l, sealed) || strings.Contains(l, tampered) {
			t.Fatalf("a log holds the secret or its sealed value:\n%s", l)
		}
	}
}

// Without a key, SetTOTPSecret writes the plain secret, as other tools do.
func TestOpenLDAPTOTPWithoutKeyIsPlain(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	secret := newSecret(t, "bob")
	if err := d.SetTOTPSecret(context.Background(), slapdLookup(t, d, "bob"), secret); err != nil {
		t.Fatal(err)
	}
	if got := rawTOTP(t, srv, slapd.UserDN("bob")); got != secret {
		t.Fatal("without a key the stored value is not the plain secret")
	}
	if got := slapdLookup(t, d, "bob"); got.TOTPSecret != secret {
		t.Fatal("the plain secret is not returned")
	}
	if d.TOTPKeyID() != "" || d.TOTPAttribute() != slapd.TOTPAttribute {
		t.Fatalf("TOTPKeyID %q, TOTPAttribute %q", d.TOTPKeyID(), d.TOTPAttribute())
	}
}

// SetTOTPSecret refuses what it cannot store, and its errors never hold the
// secret.
func TestOpenLDAPTOTPRefusals(t *testing.T) {
	srv := slapd.Start(t)
	key := newTOTPKey(t)
	cfg := slapdConfig(srv)
	cfg.TOTPKey = key
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()
	bob := slapdLookup(t, d, "bob")
	secret := newSecret(t, "bob")
	sealed, err := key.Seal(bob.ID, secret)
	if err != nil {
		t.Fatal(err)
	}

	noAttr := cfg
	noAttr.Attributes.TOTPSecret = "-"
	dNo, _ := slapdDirectory(t, noAttr)
	for _, tc := range []struct {
		name   string
		d      *ldap.Directory
		u      flow.User
		secret string
		want   string
	}{
		{"no attribute configured", dNo, bob, secret, "set attributes.totp_secret"},
		{"a sealed value", d, bob, sealed, "not a sealed one"},
		{"not base32", d, bob, "not-base32-at-all!", "not valid base32"},
		{"too short", d, bob, "JBSWY3DP", "at least 80"},
		{"no DN", d, flow.User{Login: "bob"}, secret, "no DN"},
		// The service account may write the attribute only under the people.
		{"outside its rights", d, flow.User{ID: slapd.ServiceDN}, secret, "Insufficient Access Rights"},
		{"no such entry", d, flow.User{ID: "uid=nobody," + slapd.PeopleDN}, secret, "No Such Object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.SetTOTPSecret(ctx, tc.u, tc.secret)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SetTOTPSecret: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.secret) || strings.Contains(err.Error(), secret) {
				t.Fatal("the error holds the secret")
			}
		})
	}
	if got := rawTOTP(t, srv, bob.ID); got != "" {
		t.Fatal("a refused secret was written")
	}
	if strings.Contains(log.String(), secret) {
		t.Fatal("the log holds the secret")
	}
}

// textCapture is the SMS sender of the flow test: it keeps what it is given.
type textCapture struct {
	mu    sync.Mutex
	texts []flow.Delivery
}

func (c *textCapture) Deliver(_ context.Context, d flow.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, d)
	return nil
}

func (c *textCapture) lastCode(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.texts) == 0 {
		return ""
	}
	for _, w := range strings.Fields(c.texts[len(c.texts)-1].Text) {
		if w = strings.TrimSuffix(w, "."); len(w) == n && strings.Trim(w, "0123456789") == "" {
			return w
		}
	}
	return ""
}

// A secret enrolled through SetTOTPSecret (sealed) is the one a reset
// checks: a real flow.Engine, with the directory on slapd, accepts the
// app's code, then a texted code, and slapd takes the new password.
func TestOpenLDAPTOTPEnrolledSecretResets(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	cfg.TOTPKey = newTOTPKey(t)
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()
	secret := newSecret(t, "bob")
	if err := d.SetTOTPSecret(ctx, slapdLookup(t, d, "bob"), secret); err != nil {
		t.Fatal(err)
	}
	sms := &textCapture{}
	eng, err := flow.NewEngine(flow.Config{CaptchaDisabled: true, SecretKey: bytes.Repeat([]byte("k"), 32)},
		flow.Deps{Directory: d, Store: memstore.New(), SMS: sms, TOTP: totp.New()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eng.Begin(ctx, flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	offered := map[flow.MethodID]bool{}
	for _, m := range s.Methods() {
		offered[m.ID] = true
	}
	if !offered[flow.TOTPApp] {
		t.Fatalf("the app is not offered to bob after enrolment: %v", offered)
	}
	if err := s.Choose(ctx, flow.TOTPApp); err != nil {
		t.Fatal(err)
	}
	code, err := totp.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SubmitCode(ctx, code); err != nil {
		t.Fatalf("the app's code was refused: %v", err)
	}
	// An app user proves a second method: the text.
	if st := s.State().Step; st != flow.StepChooseMethod {
		t.Fatalf("step after the app: %v", st)
	}
	if err := s.Choose(ctx, flow.TextMobile); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmNumber(ctx, "+1 212 555 0102"); err != nil {
		t.Fatal(err)
	}
	if err := s.SubmitCode(ctx, sms.lastCode(s.State().CodeLength)); err != nil {
		t.Fatalf("the texted code was refused: %v", err)
	}
	const pw = "Harbor-Quartz-Lantern-5163-Vivid"
	if err := s.SetPassword(ctx, pw, pw); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if st := s.State().Step; st != flow.StepDone {
		t.Fatalf("step after the reset: %v", st)
	}
	if !srv.CanBind(slapd.UserDN("bob"), pw) {
		t.Fatal("the new password does not bind")
	}
	if strings.Contains(log.String(), secret) || strings.Contains(log.String(), pw) {
		t.Fatal("the log holds a secret")
	}

	// A code from another secret is refused.
	s2, err := eng.Begin(ctx, flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Identify(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if err := s2.Choose(ctx, flow.TOTPApp); err != nil {
		t.Fatal(err)
	}
	wrong := code
	for wrong == code {
		if wrong, err = totp.Code(newSecret(t, "bob"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.SubmitCode(ctx, wrong); err == nil {
		t.Fatal("a code of another secret was accepted")
	}
}
