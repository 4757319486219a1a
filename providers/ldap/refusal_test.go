package ldap

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

func TestRefusalMapsDirectoryTexts(t *testing.T) {
	ldapErr := func(code uint16, text string) error {
		return &goldap.Error{ResultCode: code, Err: errors.New(text)}
	}
	for _, tc := range []struct {
		err  error
		want flow.DirectoryRule // "" for not a refusal
	}{
		{ldapErr(19, "Password fails quality checking policy"), flow.DirRuleQuality},
		{ldapErr(19, "Password is in history of old passwords"), flow.DirRuleHistory},
		{ldapErr(19, "Password is not being changed from existing value"), flow.DirRuleUnchanged},
		{ldapErr(19, "Password is too young to change"), flow.DirRuleTooSoon},
		{ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: password is too young to change!"), flow.DirRuleTooSoon},
		// Samba's words for unicodePwd.
		{ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!"), flow.DirRuleLength},
		{ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!"), flow.DirRuleQuality},
		{ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!"), flow.DirRuleHistory},
		// Active Directory's words.
		{ldapErr(19, "0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n"), flow.DirRuleDomainPolicy},
		{ldapErr(53, "0000052D: SvcErr: DSID-031A1248, problem 5003 (WILL_NOT_PERFORM), data 0"), flow.DirRuleDomainPolicy},
		{ldapErr(19, "some other constraint"), flow.DirRuleOther},
		// Not refusals: the server away, no right, no TLS.
		{ldapErr(goldap.ErrorNetwork, "ldap: connection timed out"), ""},
		{ldapErr(50, "no write access to parent"), ""},
		{ldapErr(53, "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0"), ""},
		{errNotTLS, ""},
	} {
		fe := refusal(tc.err)
		if tc.want == "" {
			if fe != nil {
				t.Errorf("refusal(%v) = %+v, want nil", tc.err, fe)
			}
			continue
		}
		if fe == nil || fe.Reason != flow.ReasonDirectoryRefused || fe.Final || fe.Rule != tc.want ||
			fe.Message != flow.DirectoryRefusal(tc.want, "").Message {
			t.Errorf("refusal(%v) = %+v, want rule %q", tc.err, fe, tc.want)
			continue
		}
		if fe.Detail == "" || strings.ContainsAny(fe.Detail, "\n\t") {
			t.Errorf("refusal(%v).Detail = %q, want the server's words on one line", tc.err, fe.Detail)
		}
	}
}

func TestEncodeUnicodePwdIsQuotedUTF16LE(t *testing.T) {
	got := encodeUnicodePwd("Pä$1😀")
	units := utf16.Encode([]rune(`"Pä$1😀"`))
	if len(got) != 2*len(units) {
		t.Fatalf("length %d, want %d", len(got), 2*len(units))
	}
	for i, u := range units {
		if got[2*i] != byte(u) || got[2*i+1] != byte(u>>8) {
			t.Fatalf("unit %d = %x %x, want little-endian %04x", i, got[2*i], got[2*i+1], u)
		}
	}
	if got[:4] != "\"\x00P\x00" {
		t.Fatalf("starts %q", got[:4])
	}
}
