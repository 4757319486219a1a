package totp

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"
)

// The RFC 6238 appendix B secret for SHA-1, in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestCodeMatchesRFC6238(t *testing.T) {
	// RFC 6238 gives 8-digit codes; the six-digit code is their tail.
	for _, c := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := Code(rfcSecret, time.Unix(c.unix, 0))
		if err != nil || got != c.want {
			t.Errorf("at %d: got %q, %v; want %q", c.unix, got, err, c.want)
		}
	}
}

func TestValidateAcceptsOneStepEitherWay(t *testing.T) {
	v := New()
	now := time.Unix(1_800_000_015, 0)
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{{0, true}, {-30 * time.Second, true}, {30 * time.Second, true}, {-60 * time.Second, false}, {60 * time.Second, false}} {
		code, err := Code(rfcSecret, now.Add(c.offset))
		if err != nil {
			t.Fatal(err)
		}
		step, ok := v.Validate(rfcSecret, code, now)
		if ok != c.ok {
			t.Errorf("code from %v: ok=%v, want %v", c.offset, ok, c.ok)
		}
		if ok && step != now.Add(c.offset).Unix()/Period {
			t.Errorf("code from %v: step %d, want %d", c.offset, step, now.Add(c.offset).Unix()/Period)
		}
	}
	if _, ok := v.Validate(rfcSecret, "12345", now); ok {
		t.Error("a five-digit code was accepted")
	}
	if _, ok := v.Validate("not base32!", "123456", now); ok {
		t.Error("a bad secret validated")
	}
}

func TestSkewZeroAcceptsOnlyTheCurrentStep(t *testing.T) {
	now := time.Unix(1_800_000_015, 0)
	prev, _ := Code(rfcSecret, now.Add(-30*time.Second))
	if _, ok := (Verifier{Skew: 0}).Validate(rfcSecret, prev, now); ok {
		t.Error("skew 0 accepted the previous step")
	}
}

func TestNewSecretRoundTrip(t *testing.T) {
	secret, uri, err := NewSecret("sspr", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 || !strings.HasPrefix(uri, "otpauth://totp/sspr:alice?") || !strings.Contains(uri, "secret="+secret) ||
		!strings.Contains(uri, "period=30") || !strings.Contains(uri, "digits=6") || !strings.Contains(uri, "algorithm=SHA1") {
		t.Fatalf("secret %q, uri %q", secret, uri)
	}
	now := time.Now()
	code, err := Code(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := New().Validate(secret, code, now); !ok {
		t.Fatal("a fresh secret's code does not validate")
	}
	other, _, _ := NewSecret("sspr", "alice")
	if other == secret {
		t.Fatal("two secrets are equal")
	}
}
