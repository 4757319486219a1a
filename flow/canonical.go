package flow

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// CanonicalLogin is the one form of a login that keys everything sspr
// does with it: the directory lookup, the decoy, the limits, the
// privileged list. It is the login trimmed, without the invisible
// characters a keyboard or a paste may slip in (format characters such as
// U+200B, variation selectors), NFKC-normalised and case-folded (full
// folding, so ß is ss, ſ U+017F is s, and the fullwidth ｓａｍ is sam).
//
// One form for all of them is what keeps enumeration shut: if the lookup
// treated two spellings as one login and the decoy did not, a login that
// answers the same under both would be a real one. The embedded directory
// compares canonical forms; LDAP and Active Directory get the canonical
// form and match it with their own rules (case-insensitive, and for
// OpenLDAP the LDAPprep of RFC 4518, NFKC with case folding), so every
// spelling of one canonical form finds the same entries there too.
//
// It is idempotent: CanonicalLogin(CanonicalLogin(s)) == CanonicalLogin(s).
func CanonicalLogin(s string) string {
	// Folding can undo a normalisation and normalising can make a
	// character that folds again; a few rounds reach the fixed point.
	for range 4 {
		t := canonicalRound(s)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func canonicalRound(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, s)
	// A Caser keeps state: one per call.
	s = norm.NFKC.String(cases.Fold().String(s))
	return strings.TrimSpace(s)
}

// invisible reports whether r is a default-ignorable character: it shows
// nothing, and LDAPprep maps it to nothing.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}
