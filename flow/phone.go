package flow

import (
	"crypto/subtle"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// e164 parses number, taking region for numbers without a country code,
// and returns it in E.164 form.
func e164(number, region string) (string, bool) {
	n, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// E164 returns a stored number in E.164 form; it must carry its country
// code (+1 212 555 0100), since no region can be assumed for it.
func E164(number string) (string, bool) { return e164(number, "") }

// DefaultRegion is the region of numbers written without a country code
// when policy.phone.default_region is not set.
const DefaultRegion = "US"

// regionOf returns the region of a stored number, for reading a typed one
// that lacks the country code; region is the configured default.
func regionOf(stored, region string) string {
	n, err := phonenumbers.Parse(stored, region)
	if err != nil {
		return region
	}
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" && r != "ZZ" {
		return r
	}
	return region
}

// ValidRegion reports whether region is a region the phone number
// library knows (an ISO 3166 code such as US, DE, GB).
func ValidRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(region) != 0
}

// SamePhone reports whether typed is the stored number, both in E.164 form;
// a typed number without country code is read in the stored one's region,
// and a stored one without it in region (the configured default).
func SamePhone(typed, stored, region string) bool {
	want, ok := e164(stored, region)
	if !ok {
		return false
	}
	got, ok := e164(typed, regionOf(stored, region))
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// MaskPhone keeps only the last two digits: "*****80".
func MaskPhone(number string) string {
	var digits []byte
	for i := 0; i < len(number); i++ {
		if number[i] >= '0' && number[i] <= '9' {
			digits = append(digits, number[i])
		}
	}
	if len(digits) < 2 {
		return "*****"
	}
	return "*****" + string(digits[len(digits)-2:])
}

// MaskEmail keeps the first letter of the local part and the domain.
func MaskEmail(addr string) string {
	addr = Sanitize(addr, 320)
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return "***"
	}
	_, first := utf8.DecodeRuneInString(addr)
	return addr[:first] + "***" + addr[at:]
}
