package flow_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

func TestKeyFingerprint(t *testing.T) {
	a := bytes.Repeat([]byte{0xa5}, 32)
	b := bytes.Repeat([]byte{0xa5}, 32)
	b[31] ^= 1
	fa := flow.KeyFingerprint(a)
	if len(fa) != 32 {
		t.Fatalf("fingerprint %q has %d characters, want 32", fa, len(fa))
	}
	if _, err := hex.DecodeString(fa); err != nil {
		t.Fatalf("fingerprint %q is not hex: %v", fa, err)
	}
	// Instances of different versions share a Store: the fingerprint of a
	// key must not change from one release to the next.
	if want := "edba969adba7ce6c75c9f440b78c45cc"; fa != want {
		t.Fatalf("fingerprint of 32 bytes 0xa5 is %q, want %q", fa, want)
	}
	if again := flow.KeyFingerprint(append([]byte(nil), a...)); again != fa {
		t.Fatalf("fingerprint of one key changed: %q, then %q", fa, again)
	}
	if fb := flow.KeyFingerprint(b); fb == fa {
		t.Fatalf("keys that differ in one bit share the fingerprint %q", fa)
	}
	for _, key := range [][]byte{a, b, []byte("0123456789abcdef0123456789abcdef")} {
		fp := flow.KeyFingerprint(key)
		for _, enc := range []string{hex.EncodeToString(key), string(key)} {
			// Any 4 bytes of the key in the fingerprint would be a leak.
			for i := 0; i+8 <= len(enc); i++ {
				if strings.Contains(fp, enc[i:i+8]) {
					t.Fatalf("fingerprint %q contains %q of the key", fp, enc[i:i+8])
				}
			}
		}
	}
}
