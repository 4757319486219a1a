package flow_test

import (
	"testing"
	"unicode/utf8"

	"github.com/sspr-project/sspr/flow"
)

func TestSamePhone(t *testing.T) {
	tests := []struct {
		typed, stored string
		want          bool
	}{
		{"+1 (555) 010-0042", "+15550100042", true},
		{"15550100042", "+15550100042", true},
		{"555-010-0042", "+15550100042", true},
		{"5550100042", "+15550100042", true},
		{"+15550100042", "+1 (555) 010-0042", true},
		{"555 010 0042", "1-555-010-0042", true},
		{"+15550100043", "+15550100042", false},
		{"+25550100042", "+15550100042", false},
		{"010-0042", "+15550100042", false},
		{"0042", "+15550100042", false},
		{"42", "+15550100042", false},
		{"", "+15550100042", false},
		{"+15550100042", "", false},
		{"", "", false},
		{"not a number", "+15550100042", false},
		// A typed number without country code is read in the stored one's region.
		{"020 7946 0958", "+44 20 7946 0958", true},
		{"+44 20 7946 0958", "+442079460958", true},
		{"020 7946 0958", "+15550100042", false},
		{"030 1234567", "+49 30 1234567", true},
		{"+4930 1234567", "+49 30 1234567", true},
		{"0301234568", "+49 30 1234567", false},
	}
	for _, tc := range tests {
		if got := flow.SamePhone(tc.typed, tc.stored, flow.DefaultRegion); got != tc.want {
			t.Errorf("SamePhone(%q, %q) = %v, want %v", tc.typed, tc.stored, got, tc.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := map[string]string{
		"+15550100080":      "*****80",
		"+1 (555) 010-0042": "*****42",
		"+44 20 7946 0958":  "*****58",
		"7":                 "*****",
		"":                  "*****",
	}
	for in, want := range tests {
		if got := flow.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := map[string]string{
		"alice@example.com":    "a***@example.com",
		"a@b.example":          "a***@b.example",
		"émile@example.com":    "é***@example.com",
		"日本@example.jp":        "日***@example.jp",
		"odd@name@example.com": "o***@example.com",
		"@example.com":         "***",
		"no-at-sign":           "***",
		"":                     "***",
	}
	for in, want := range tests {
		got := flow.MaskEmail(in)
		if got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("MaskEmail(%q) is not valid UTF-8", in)
		}
	}
}

// The hints a person sees are valid text, whatever the directory holds.
func TestHintsValidUTF8(t *testing.T) {
	r := newRig(t)
	for _, m := range r.identified("emile").Methods() {
		if !utf8.ValidString(m.Hint) {
			t.Errorf("%s hint %q", m.ID, m.Hint)
		}
	}
}

func TestE164NeedsTheCountryCode(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"+1 (212) 555-0177", "+12125550177", true},
		{"+44 20 7946 0958", "+442079460958", true},
		{"212 555 0177", "", false},
		{"5550100", "", false},
		{"+1 call me", "", false},
	} {
		got, ok := flow.E164(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("E164(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
