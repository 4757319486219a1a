package flow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// keyFingerprintDomain sets the fingerprint apart from every other HMAC
// of the key (codes, decoys, limit keys): none of those messages is this
// string, as each of them holds a NUL byte.
const keyFingerprintDomain = "sspr secret key fingerprint v1"

// KeyFingerprint names the secret key without revealing it: 32 hex digits
// of an HMAC of a fixed string under the key. Instances that share a Store
// compare fingerprints, because instances with different keys count the
// same person under different limit keys and show an unknown login
// different decoys, which tells decoys from real accounts.
func KeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(keyFingerprintDomain))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
