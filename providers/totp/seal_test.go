package totp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func newKey(t testing.TB) (*Key, []byte) {
	t.Helper()
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k, raw
}

const aliceSecret = "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"

func TestSealOpenRoundTrip(t *testing.T) {
	k, _ := newKey(t)
	a, err := k.Seal("alice", aliceSecret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal("alice", aliceSecret)
	if a == b {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if !strings.HasPrefix(a, "enc:v1:"+k.ID()+":") || strings.Contains(a, aliceSecret) {
		t.Fatalf("sealed form %q", a)
	}
	for _, s := range []string{a, b} {
		got, err := k.Open("alice", s)
		if err != nil || got != aliceSecret {
			t.Fatalf("open: %q, %v", got, err)
		}
	}
}

func TestOpenRefusesWrongKeyTamperingAndOtherEntries(t *testing.T) {
	k, _ := newKey(t)
	other, _ := newKey(t)
	sealed, err := k.Seal("alice", aliceSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := other.Open("alice", sealed); !errors.Is(err, ErrKeyMismatch) || got != "" {
		t.Fatalf("another key: %q, %v", got, err)
	}
	// Another key that claims the same id still cannot open it.
	forged := &Key{aead: other.aead, id: k.id}
	if got, err := forged.Open("alice", sealed); !errors.Is(err, ErrTampered) || got != "" {
		t.Fatalf("same id, other key: %q, %v", got, err)
	}
	if got, err := k.Open("mallory", sealed); !errors.Is(err, ErrTampered) || got != "" {
		t.Fatalf("copied to another entry: %q, %v", got, err)
	}
	// Flip each byte of the ciphertext in turn.
	id, blob, err := splitSealed(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range blob {
		c := bytes.Clone(blob)
		c[i] ^= 0x01
		s := SealedPrefix + id + ":" + base64.RawURLEncoding.EncodeToString(c)
		if got, err := k.Open("alice", s); !errors.Is(err, ErrTampered) || got != "" {
			t.Fatalf("byte %d flipped: %q, %v", i, got, err)
		}
	}
	if _, err := k.Open("alice", sealed[:len(sealed)-10]); err == nil {
		t.Fatal("a truncated secret opened")
	}
	var none *Key
	if _, err := none.Open("alice", sealed); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	_, raw := newKey(t)
	want, _ := NewKey(raw)
	for _, text := range []string{
		hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw) + "\n",
		"  " + base64.RawURLEncoding.EncodeToString(raw) + "  ",
	} {
		k, err := ParseKey([]byte(text))
		if err != nil || k.ID() != want.ID() {
			t.Errorf("%q: %v", text, err)
		}
	}
	for _, text := range []string{"", "short", hex.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(append(raw, 1))} {
		_, err := ParseKey([]byte(text))
		if err == nil {
			t.Errorf("%q accepted", text)
		} else if text != "" && strings.Contains(err.Error(), text) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
}

func TestSealRefusesNoKeyAndMalformed(t *testing.T) {
	var none *Key
	if _, err := none.Seal("alice", aliceSecret); err == nil {
		t.Fatal("sealed without a key")
	}
	for _, s := range []string{"enc:v2:00000000:AAAA", "enc:v1:zz:AAAA", "enc:v1:0000000g:" + strings.Repeat("A", 60), "enc:v1:00000000:!!", "enc:v1:00000000:AAAA"} {
		if !IsSealed(s) || CheckSealed(s) == nil {
			t.Errorf("%q: sealed %v, check %v", s, IsSealed(s), CheckSealed(s))
		}
	}
	if IsSealed(aliceSecret) {
		t.Error("a base32 secret counts as sealed")
	}
}
