package embedded

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters of new hashes. Existing hashes
// keep the parameters they were made with: they are read from the hash.
type Params struct {
	// Memory is in KiB.
	Memory      uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultParams follow RFC 9106 and OWASP: 64 MiB, three passes, two lanes,
// a 16-byte salt and a 32-byte key.
var DefaultParams = Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLen: 16, KeyLen: 32}

// Bounds of what a hash may ask for, so that a stored hash cannot make a
// verification take unbounded memory or time.
const (
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	maxMemory  = 1 << 22 // KiB, 4 GiB
	maxIter    = 64
)

// ErrMalformedHash is wrapped by every error about a hash that is not a
// well-formed argon2id PHC string.
var ErrMalformedHash = errors.New("malformed argon2id hash")

func (p Params) validate() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIter:
		return fmt.Errorf("t is %d: allowed are 1 to %d", p.Iterations, maxIter)
	case p.Parallelism < 1:
		return fmt.Errorf("p is %d: at least 1 is needed", p.Parallelism)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("m is %d: allowed are 8*p (%d) to %d KiB", p.Memory, 8*uint32(p.Parallelism), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt has %d bytes: allowed are %d to %d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key has %d bytes: allowed are %d to %d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hash returns the argon2id hash of password in PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>, both in unpadded base64.
func Hash(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("argon2id parameters: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded. The
// comparison takes constant time; an error means encoded is malformed.
func Verify(encoded, password string) (bool, error) {
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// parsePHC reads $argon2id$v=19$m=M,t=T,p=P$salt$key strictly: the fields
// in this order, decimal numbers without sign or leading zeros, unpadded
// canonical base64. Errors name the part that is wrong, never its bytes.
func parsePHC(s string) (Params, []byte, []byte, error) {
	fail := func(format string, a ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, a...)...)
	}
	f := strings.Split(s, "$")
	if len(f) > 1 && f[0] == "" && f[1] != "argon2id" {
		return fail("algorithm %q is not supported: want argon2id", clip(f[1]))
	}
	if len(f) != 6 || f[0] != "" {
		return fail(`want "$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>"`)
	}
	if f[2] != "v=19" {
		return fail("version %q is not supported: want v=19", clip(f[2]))
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return fail(`parameters: want "m=<KiB>,t=<passes>,p=<lanes>"`)
	}
	var nums [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return fail("parameter %d: want %s=<number>", i+1, name)
		}
		n, err := parseDecimal(v)
		if err != nil {
			return fail("parameter %s: %v", name, err)
		}
		nums[i] = n
	}
	if nums[0] > maxMemory || nums[1] > maxIter || nums[2] > 255 {
		return fail("parameters out of range (m at most %d, t at most %d, p at most 255)", maxMemory, maxIter)
	}
	// The decoder skips line breaks; a hash is one line.
	if strings.ContainsAny(f[4]+f[5], "\r\n") {
		return fail("salt or hash contains a line break")
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(f[4])
	if err != nil {
		return fail("salt: %v", err)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil {
		return fail("hash: %v", err)
	}
	p := Params{Memory: uint32(nums[0]), Iterations: uint32(nums[1]), Parallelism: uint8(nums[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.validate(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}

// parseDecimal accepts 1 to 10 ASCII digits without a leading zero.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("%q is not a plain decimal number", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a plain decimal number", clip(s))
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// clip bounds how much of a malformed field an error repeats.
func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}
