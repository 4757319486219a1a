// Package totp checks RFC 6238 authenticator codes (30 s step, six digits,
// SHA-1, one step of skew either way) with github.com/pquerna/otp, makes new
// secrets for enrolment, and encrypts secrets at rest (Key). The replay
// cache lives in the flow.Store, so a code is accepted once across instances.
package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sspr-project/sspr/flow"
)

// Period is the time step in seconds.
const Period = 30

// Verifier implements flow.TOTP.
type Verifier struct {
	// Skew is the number of steps accepted before and after the current one.
	Skew uint
}

// New returns a Verifier that accepts the current step and one either way.
func New() Verifier { return Verifier{Skew: 1} }

// Validate implements flow.TOTP: it returns the step at which code is valid.
func (v Verifier) Validate(secret, code string, t time.Time) (int64, bool) {
	opts := totp.ValidateOpts{Period: Period, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for _, d := range skewOrder(int(v.Skew)) {
		at := t.Add(time.Duration(d*Period) * time.Second)
		if ok, err := totp.ValidateCustom(code, secret, at, opts); err == nil && ok {
			return at.Unix() / Period, true
		}
	}
	return 0, false
}

// skewOrder tries the current step first: 0, -1, +1, ...
func skewOrder(skew int) []int {
	out := []int{0}
	for i := 1; i <= skew; i++ {
		out = append(out, -i, i)
	}
	return out
}

// Code returns the code for secret at t; the demo phone shows it.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// NewSecret makes a random 160-bit secret for account and the otpauth://
// URI an authenticator app reads from a QR code, with this package's
// parameters (30 s, six digits, SHA-1).
func NewSecret(issuer, account string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", fmt.Errorf("new authenticator secret: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

var _ flow.TOTP = Verifier{}

// CheckSecret decodes a secret the way authenticator apps read it: base32,
// any case, padding optional, at least 80 bits (RFC 4226's minimum). The
// error never repeats the secret.
func CheckSecret(s string) error {
	t := strings.ToUpper(s)
	if n := len(t) % 8; n != 0 {
		t += strings.Repeat("=", 8-n)
	}
	b, err := base32.StdEncoding.DecodeString(t)
	if err != nil {
		return errors.New("not valid base32")
	}
	if len(b) < 10 {
		return fmt.Errorf("%d bits long: at least 80 are needed", 8*len(b))
	}
	return nil
}
