package flow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"strings"
)

// randomDigits returns n uniformly random decimal digits from crypto/rand.
func randomDigits(n int) string {
	max := big.NewInt(10)
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("flow: crypto/rand failed: " + err.Error())
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}

// randomToken returns 128 random bits in hex.
func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("flow: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// codeHash binds a code to its session and purpose; only this is kept.
func codeHash(key []byte, sessionID, purpose, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sessionID))
	m.Write([]byte{0})
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// cleanCode keeps the digits of what was typed ("123 456" is "123456").
func cleanCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
	}
	return b.String()
}
