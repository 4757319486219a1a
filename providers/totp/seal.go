package totp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Authenticator secrets at rest.
//
// With a Key, a directory stores a secret as
//
//	enc:v1:<key id>:<base64url(nonce || AES-256-GCM ciphertext and tag)>
//
// The key id is the first four bytes of a hash of the key, so that a secret
// sealed under another key is named as such instead of failing as
// "tampered". The entry's ID (a login or a DN) is associated data: a
// sealed secret copied to another entry does not open there. A secret without the prefix is a
// plain base32 secret, as written before encryption existed or without a
// key; it keeps working.

// SealedPrefix starts every encrypted secret.
const SealedPrefix = "enc:v1:"

// KeySize is the size of a TOTP key in bytes.
const KeySize = 32

// Key encrypts and decrypts authenticator secrets.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey makes a key from 32 random bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("TOTP key: %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("TOTP key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("TOTP key: %w", err)
	}
	sum := sha256.Sum256(append([]byte("sspr totp key id\x00"), raw...))
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// ParseKey reads a key written as text: 64 hex digits or the base64 of
// 32 bytes (`openssl rand -base64 32`), surrounding space ignored. The
// error never repeats the text.
func ParseKey(text []byte) (*Key, error) {
	t := string(bytes.TrimSpace(text))
	if t == "" {
		return nil, errors.New("TOTP key: empty")
	}
	if len(t) == 2*KeySize {
		if raw, err := hex.DecodeString(t); err == nil {
			return NewKey(raw)
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(t); err == nil && len(raw) == KeySize {
			return NewKey(raw)
		}
	}
	return nil, fmt.Errorf("TOTP key: want 64 hex digits or the base64 of %d bytes (e.g. the output of `openssl rand -base64 32`)", KeySize)
}

// ID names the key without revealing it: the first bytes of a hash of it.
func (k *Key) ID() string { return k.id }

// associated binds a sealed secret to its entry.
func associated(id string) []byte { return []byte("sspr totp_secret v1\x00" + id) }

// Seal encrypts secret for the entry id (a login or a DN).
func (k *Key) Seal(id, secret string) (string, error) {
	if k == nil {
		return "", errors.New("encrypt authenticator secret: no key")
	}
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt authenticator secret: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(secret), associated(id))
	return SealedPrefix + k.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// ErrKeyMismatch means a secret was sealed under another key.
var ErrKeyMismatch = errors.New("encrypted with another key")

// ErrTampered means a sealed secret does not open under the right key
// id: it was changed, moved to another entry, or its entry was renamed.
var ErrTampered = errors.New("does not decrypt: it was changed, copied from another entry, or the entry was renamed (enrol the app again)")

// ErrNoKey means a sealed secret was found but no key is configured.
var ErrNoKey = errors.New("is encrypted, but no TOTP key is configured")

// Open decrypts the sealed secret stored for the entry id. On a nil Key it
// fails with ErrNoKey. It never returns part of a secret with an error.
func (k *Key) Open(id, stored string) (string, error) {
	kid, blob, err := splitSealed(stored)
	if err != nil {
		return "", err
	}
	if k == nil {
		return "", ErrNoKey
	}
	if kid != k.id {
		return "", fmt.Errorf("%w (key id %s; the configured key is %s)", ErrKeyMismatch, kid, k.id)
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, blob[:n], blob[n:], associated(id))
	if err != nil {
		return "", ErrTampered
	}
	return string(plain), nil
}

// IsSealed reports whether a stored secret is encrypted (it may still be
// malformed: CheckSealed says).
func IsSealed(stored string) bool { return strings.HasPrefix(stored, "enc:") }

// CheckSealed checks the form of a sealed secret without a key.
func CheckSealed(stored string) error {
	_, _, err := splitSealed(stored)
	return err
}

// splitSealed checks the form of a sealed secret and returns its key id
// and its nonce, ciphertext and tag.
func splitSealed(stored string) (id string, blob []byte, err error) {
	rest, ok := strings.CutPrefix(stored, SealedPrefix)
	if !ok {
		return "", nil, errors.New("encrypted in an unknown format (want enc:v1:...)")
	}
	id, b64, ok := strings.Cut(rest, ":")
	if _, err := hex.DecodeString(id); !ok || len(id) != 8 || err != nil {
		return "", nil, errors.New("encrypted, but its key id is malformed")
	}
	blob, err = base64.RawURLEncoding.DecodeString(b64)
	// nonce (12) + at least 10 bytes of base32 + tag (16)
	if err != nil || len(blob) < 12+10+16 {
		return "", nil, errors.New("encrypted, but its ciphertext is malformed")
	}
	return id, blob, nil
}
