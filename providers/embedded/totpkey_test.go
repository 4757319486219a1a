package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/providers/totp"
)

func newKey(t testing.TB) *totp.Key {
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

const aliceSecret = "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"

// usersWithSecrets writes a file with alice (plain secret) and bob (no
// secret) and returns its path.
func usersWithSecrets(t *testing.T) string {
	return writeUsers(t, []record{
		{Login: "alice", Email: "alice@example.com", TOTPSecret: aliceSecret, Password: mustHash(t, "old-Password-1")},
		{Login: "bob", Email: "bob@example.com"},
	})
}

func TestLegacyPlainSecretsLoadWithAndWithoutKey(t *testing.T) {
	path := usersWithSecrets(t)
	k := newKey(t)
	for _, opts := range [][]Option{{WithParams(cheap)}, {WithParams(cheap), WithTOTPKey(k)}} {
		d, err := Open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		u, err := d.LookupUser(context.Background(), "alice")
		if err != nil || u.TOTPSecret != aliceSecret {
			t.Fatalf("legacy secret: %q, %v", u.TOTPSecret, err)
		}
	}
}

func TestSetTOTPSecretEncryptsAtRest(t *testing.T) {
	path := usersWithSecrets(t)
	k := newKey(t)
	d, err := Open(path, WithParams(cheap), WithTOTPKey(k))
	if err != nil {
		t.Fatal(err)
	}
	const fresh = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	if err := d.SetTOTPSecret(context.Background(), "bob", fresh); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), fresh) || !strings.Contains(string(data), "enc:v1:"+k.ID()+":") {
		t.Fatalf("the new secret is not encrypted at rest:\n%s", data)
	}
	if !strings.Contains(string(data), "# test users") {
		t.Fatalf("the file's comment was lost:\n%s", data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after write: %v %v", fi.Mode(), err)
	}
	u, err := d.LookupUser(context.Background(), "bob@example.com")
	if err != nil || u.TOTPSecret != fresh {
		t.Fatalf("lookup after enrolment: %q, %v", u.TOTPSecret, err)
	}
	// The password and the other entry did not change.
	if ok, err := d.VerifyPassword("alice", "old-Password-1"); !ok || err != nil {
		t.Fatalf("alice's password: %v %v", ok, err)
	}
	list, _ := d.List()
	if !list[0].Authenticator || list[0].AuthenticatorEncrypted || !list[1].AuthenticatorEncrypted {
		t.Fatalf("list: %+v", list)
	}

	// Another process without the key refuses the file, and says why.
	_, err = Open(path, WithParams(cheap))
	if !errors.Is(err, totp.ErrNoKey) || !strings.Contains(err.Error(), `users[1] ("bob")`) || !strings.Contains(err.Error(), "SSPR_TOTP_KEY") {
		t.Fatalf("open without the key: %v", err)
	}
	// And with a wrong key, it names both key ids and returns no secret.
	wrong := newKey(t)
	_, err = Open(path, WithParams(cheap), WithTOTPKey(wrong))
	if !errors.Is(err, totp.ErrKeyMismatch) || !strings.Contains(err.Error(), k.ID()) || !strings.Contains(err.Error(), wrong.ID()) {
		t.Fatalf("open with a wrong key: %v", err)
	}
	if strings.Contains(err.Error(), fresh) {
		t.Fatalf("the error carries the secret: %v", err)
	}

	// A bad secret or an unknown login changes nothing.
	before, _ := os.ReadFile(path)
	for _, c := range []struct{ login, secret string }{{"bob", "not base32!"}, {"bob", "MFRGG"}, {"nobody", fresh}, {"bob", string(data[:0]) + "enc:v1:00000000:AAAA"}} {
		if err := d.SetTOTPSecret(context.Background(), c.login, c.secret); err == nil {
			t.Errorf("%q %q accepted", c.login, c.secret)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused enrolment changed the file")
	}
}

func TestTamperedFileFailsToLoad(t *testing.T) {
	path := usersWithSecrets(t)
	k := newKey(t)
	d, err := Open(path, WithParams(cheap), WithTOTPKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.EncryptTOTPSecrets(context.Background()); err != nil || n != 1 {
		t.Fatalf("encrypt: %d, %v", n, err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), aliceSecret) {
		t.Fatalf("still plain:\n%s", data)
	}
	// Give alice's sealed secret to bob: it must not open for bob.
	var sealed string
	for _, line := range strings.Split(string(data), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "totp_secret: "); ok {
			sealed = s
		}
	}
	moved := strings.Replace(string(data), "  - login: bob\n", "  - login: bob\n    totp_secret: "+sealed+"\n", 1)
	moved = strings.Replace(moved, "    totp_secret: "+sealed+"\n", "", 1) // alice loses it
	other := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(other, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, WithParams(cheap), WithTOTPKey(k)); !errors.Is(err, totp.ErrTampered) || !strings.Contains(err.Error(), `"bob"`) {
		t.Fatalf("a secret moved to another entry: %v\n%s", err, moved)
	}
	// A changed character in the ciphertext.
	i := strings.Index(string(data), sealed) + len(sealed) - 5
	c := []byte(string(data))
	if c[i] == 'A' {
		c[i] = 'B'
	} else {
		c[i] = 'A'
	}
	if err := os.WriteFile(other, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, WithParams(cheap), WithTOTPKey(k)); !errors.Is(err, totp.ErrTampered) {
		t.Fatalf("a changed ciphertext: %v", err)
	}
	// A malformed one is refused when parsing.
	bad := strings.Replace(string(data), sealed, "enc:v1:zz:abc", 1)
	if err := os.WriteFile(other, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, WithParams(cheap), WithTOTPKey(k)); err == nil || !strings.Contains(err.Error(), "key id is malformed") {
		t.Fatalf("a malformed sealed secret: %v", err)
	}
}

func TestAddUserAndDemoSealWithKey(t *testing.T) {
	k := newKey(t)
	path := filepath.Join(t.TempDir(), "users.yaml")
	d, err := Create(path, WithParams(cheap), WithTOTPKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddUser(UserRecord{Login: "carol", TOTPSecret: aliceSecret}, "Long-Enough-Pass1"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddUser(UserRecord{Login: "dan", TOTPSecret: "enc:v1:00000000:AAAA"}, "Long-Enough-Pass1"); err == nil {
		t.Fatal("an encrypted secret was accepted as input")
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), aliceSecret) {
		t.Fatalf("added in plain text:\n%s", data)
	}
	if u, err := d.LookupUser(context.Background(), "carol"); err != nil || u.TOTPSecret != aliceSecret {
		t.Fatalf("lookup: %q %v", u.TOTPSecret, err)
	}

	demo := filepath.Join(t.TempDir(), "demo.yaml")
	if _, err := WriteDemo(demo, WithParams(cheap), WithTOTPKey(k)); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(demo)
	if strings.Contains(string(data), DemoUsers[0].TOTPSecret) {
		t.Fatalf("demo secrets in plain text with a key:\n%s", data)
	}
	dd, err := Open(demo, WithParams(cheap), WithTOTPKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := dd.LookupUser(context.Background(), "alice"); err != nil || u.TOTPSecret != DemoUsers[0].TOTPSecret {
		t.Fatalf("demo lookup: %v", err)
	}
	if _, err := (&Dir{}).EncryptTOTPSecrets(context.Background()); err == nil {
		t.Fatal("encrypting without a key succeeded")
	}
}

func TestSetTOTPSecretIsAtomic(t *testing.T) {
	path := usersWithSecrets(t)
	k := newKey(t)
	d, err := Open(path, WithParams(cheap), WithTOTPKey(k))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	d.beforeRename = func(tmp string) error {
		// The new file is complete and private before it takes the name.
		data, err := os.ReadFile(tmp)
		if err != nil || !strings.Contains(string(data), "enc:v1:") {
			t.Errorf("temporary file: %v\n%s", err, data)
		}
		if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("temporary file mode: %v %v", fi.Mode(), err)
		}
		return errors.New("crash before the rename")
	}
	if err := d.SetTOTPSecret(context.Background(), "bob", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"); err == nil {
		t.Fatal("the failed write was reported as done")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a failed write changed the file")
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".users.yaml.tmp-*")); len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}
