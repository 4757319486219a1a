package embedded

import (
	"context"
	"reflect"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

// The profile counts the enabled accounts by what they registered and
// their email's domain; disabled accounts and those with nothing are left
// out, as a stranger sees decoys for them.
func TestMethodProfile(t *testing.T) {
	d := openDir(t, writeUsers(t, []record{
		{Login: "a", Email: "a@Corp.example", Mobile: "+1 212 555 0101"},
		{Login: "b", Email: "b@corp.example", Mobile: "+1 212 555 0102"},
		{Login: "c", Email: "c@eu.corp.example", Mobile: "+1 212 555 0103"},
		{Login: "d", Office: "+1 212 555 0104", TOTPSecret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
		{Login: "e", Email: "e@corp.example", Disabled: true},
		{Login: "f"},
	}))
	got, err := d.MethodProfile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []flow.ProfileEntry{
		{Has: []flow.Registration{flow.RegMobile, flow.RegEmail}, EmailDomain: "corp.example", Count: 2},
		{Has: []flow.Registration{flow.RegMobile, flow.RegEmail}, EmailDomain: "eu.corp.example", Count: 1},
		{Has: []flow.Registration{flow.RegOffice, flow.RegApp}, Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("profile\n%+v\nwant\n%+v", got, want)
	}
}
