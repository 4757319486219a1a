package ldap

import (
	"errors"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
)

func bindErr(text string) error {
	return goldap.NewError(goldap.LDAPResultInvalidCredentials, errors.New(text))
}

// What each answer of Active Directory to a bind means for a change; the
// codes the Samba DC here cannot produce (532 needs an expired password,
// which needs time to pass) are read from their documented text.
func TestADBindVerdict(t *testing.T) {
	const prefix = "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data "
	for _, tc := range []struct {
		err     error
		expired bool
		wrong   bool
	}{
		{nil, false, false},
		{bindErr(prefix + "532, v1db1"), true, false},
		{bindErr(prefix + "773, v1db1"), true, false},
		{bindErr(prefix + "52e, v1db1"), false, true},
		{bindErr(prefix + "775, v1db1"), false, true},
		{bindErr(prefix + "533, v1db1"), false, true},
		{bindErr("no data here"), false, true},
		{goldap.NewError(goldap.ErrorNetwork, errors.New("connection reset")), false, false},
	} {
		expired, err := adBindVerdict(tc.err)
		if expired != tc.expired || errors.Is(err, flow.ErrWrongPassword) != tc.wrong {
			t.Errorf("%v: expired %v, err %v", tc.err, expired, err)
		}
		if tc.err != nil && !tc.expired && err == nil {
			t.Errorf("%v: no error", tc.err)
		}
	}
}

// OpenLDAP's password policy control on a bind.
func TestPPolicyBindVerdict(t *testing.T) {
	res := func(grace int64, code int8) *goldap.SimpleBindResult {
		return &goldap.SimpleBindResult{Controls: []goldap.Control{&goldap.ControlBeheraPasswordPolicy{Expire: -1, Grace: grace, Error: code}}}
	}
	for _, tc := range []struct {
		name    string
		res     *goldap.SimpleBindResult
		err     error
		expired bool
		wrong   bool
	}{
		{"bound", res(-1, -1), nil, false, false},
		{"bound without the control", &goldap.SimpleBindResult{}, nil, false, false},
		{"grace login", res(0, -1), nil, true, false},
		{"must change after a reset", res(-1, ppChangeAfterReset), nil, true, false},
		{"expired", res(-1, ppPasswordExpired), bindErr(""), true, false},
		{"locked", res(-1, ppAccountLocked), bindErr(""), false, true},
		{"wrong", res(-1, -1), bindErr(""), false, true},
		{"wrong without the control", nil, bindErr(""), false, true},
	} {
		expired, err := ppolicyBindVerdict(tc.res, tc.err)
		if expired != tc.expired || errors.Is(err, flow.ErrWrongPassword) != tc.wrong || (err != nil) != tc.wrong {
			t.Errorf("%s: expired %v, err %v", tc.name, expired, err)
		}
	}
}
