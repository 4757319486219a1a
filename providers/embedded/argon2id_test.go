package embedded

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h := mustHash(t, "Correct-Horse-1")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("unexpected form %q", h)
	}
	if h2 := mustHash(t, "Correct-Horse-1"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"Correct-Horse-1", true},
		{"correct-Horse-1", false},
		{"Correct-Horse-1 ", false},
		{"", false},
	} {
		if ok, err := Verify(h, tc.pw); err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if _, err := Hash("x", Params{Memory: 64, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32}); err == nil {
		t.Error("t=0 accepted")
	}
}

// A hash made elsewhere (the reference argon2 CLI, password "password",
// salt "somesalt") verifies.
func TestVerifyReferenceVector(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := Verify(ref, "password"); !ok || err != nil {
		t.Fatalf("reference vector: %v, %v", ok, err)
	}
}

func TestParsePHCErrors(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("saltsaltsaltsalt"))
	key := base64.RawStdEncoding.EncodeToString([]byte("keykeykeykeykeykeykeykeykeykeyke"))
	ok := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, _, _, err := parsePHC(ok); err != nil {
		t.Fatalf("well-formed hash refused: %v", err)
	}
	tests := []struct{ name, in, want string }{
		{"empty", "", "want"},
		{"no leading $", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key, "want"},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt, "want"},
		{"extra field", ok + "$x", "want"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, `algorithm "argon2i"`},
		{"bcrypt", "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "algorithm"},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, `version "v=16"`},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key + "$x", "version"},
		{"params order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, "parameter 1: want m="},
		{"two params", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key, "parameters: want"},
		{"non-numeric", "$argon2id$v=19$m=6x,t=1,p=1$" + salt + "$" + key, "parameter m:"},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key, "parameter m:"},
		{"sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key, "parameter m:"},
		{"huge", "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key, "parameter m:"},
		{"memory too big", "$argon2id$v=19$m=4194305,t=1,p=1$" + salt + "$" + key, "out of range"},
		{"t zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, "t is 0"},
		{"p zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, "p is 0"},
		{"p too big", "$argon2id$v=19$m=65536,t=1,p=256$" + salt + "$" + key, "out of range"},
		{"m below 8p", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key, "m is 8"},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key, "salt:"},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$sa!t$" + key, "salt:"},
		{"url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.NewReplacer("+", "-", "/", "_").Replace(key) + "-_", "hash:"},
		{"line break", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:4] + "\n" + salt[4:] + "$" + key, "line break"},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key, "salt has 4 bytes"},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA", "key has 4 bytes"},
		{"empty hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$", "key has 0 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := parsePHC(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want ErrMalformedHash mentioning %q", err, tc.want)
			}
			if _, err := Verify(tc.in, "pw"); err == nil {
				t.Error("Verify accepted it")
			}
		})
	}
}

// Errors about a hash never repeat its salt or key.
func TestParsePHCErrorsHideHash(t *testing.T) {
	secret := "c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, in := range []string{
		"$argon2id$v=19$m=64,t=1,p=1$" + secret + "!$" + secret,
		"$argon2id$v=19$m=64,t=1,p=1$" + secret + "$" + secret + "!",
	} {
		_, _, _, err := parsePHC(in)
		if err == nil || strings.Contains(err.Error(), secret[:8]) {
			t.Errorf("error %v repeats the hash", err)
		}
	}
}

// FuzzParsePHC: the parser never panics, and what it accepts is canonical,
// so it renders back to exactly the input.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$$")
	f.Add("$$$$$")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$=$=")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if p.validate() != nil || int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("accepted inconsistent %+v", p)
		}
		b64 := base64.RawStdEncoding
		back := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Iterations, p.Parallelism,
			b64.EncodeToString(salt), b64.EncodeToString(key))
		if back != s {
			t.Fatalf("accepted a non-canonical form:\n in  %q\n out %q", s, back)
		}
	})
}
