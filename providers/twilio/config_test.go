package twilio_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/providers/twilio"
)

// file is the part of sspr.yaml that holds the block, as cmd composes it.
type file struct {
	Twilio *twilio.Config `yaml:"twilio"`
}

func TestConfigLoadsTheBlock(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f file
	err := config.Load([]byte(`twilio:
  account_sid: AC0123456789abcdef0123456789abcdef
  auth_token_file: `+tokenFile+`
  from: "+12125550100"
  messaging_service_sid: MG0123456789abcdef0123456789abcdef
  timeout: 20s
`), &f)
	if err != nil {
		t.Fatal(err)
	}
	got := *f.Twilio
	if got.AuthToken.Value() != "0123456789abcdef0123456789abcdef" || got.AuthToken.File != tokenFile {
		t.Fatalf("auth token %v", got.AuthToken)
	}
	got.AuthToken = config.Secret{}
	want := twilio.Config{
		AccountSID: "AC0123456789abcdef0123456789abcdef", From: "+12125550100",
		MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", APIURL: twilio.DefaultAPIURL, Timeout: 20 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if _, err := twilio.New(*f.Twilio); err != nil {
		t.Fatal(err)
	}

	// Keys left out keep the defaults.
	f = file{}
	if err := config.Load([]byte("twilio:\n  account_sid: AC0123456789abcdef0123456789abcdef\n  auth_token: t\n  from: \"+12125550100\"\n"), &f); err != nil {
		t.Fatal(err)
	}
	if f.Twilio.APIURL != twilio.DefaultAPIURL || f.Twilio.Timeout != twilio.DefaultTimeout || f.Twilio.AuthToken.Value() != "t" {
		t.Fatalf("got %#v", *f.Twilio)
	}
}

func TestConfigReportsEveryWrongKey(t *testing.T) {
	var f file
	err := config.Load([]byte(`twilio:
  account_sid: AC123
  from: "2125550100"
  messaging_service_sid: MG1
  api_url: ftp://api.twilio.com
  timeout: 0s
  form: "+12125550100"
`), &f)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		`line 1: twilio.auth_token: is missing (one of auth_token, auth_token_file, auth_token_env)`,
		`line 2: twilio.account_sid: "AC123" is not allowed (AC followed by 32 hex digits)`,
		`line 3: twilio.from: "2125550100" is not allowed (an E.164 number such as +12125550100)`,
		`line 4: twilio.messaging_service_sid: "MG1" is not allowed (MG followed by 32 hex digits)`,
		`line 5: twilio.api_url: "ftp://api.twilio.com" is not allowed (an http:// or https:// URL, e.g. https://api.twilio.com)`,
		`line 6: twilio.timeout: 0s is not allowed (1s to 1m)`,
		`line 7: twilio.form: unknown key (did you mean from?)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	// No from and no messaging service: texts could not be sent.
	f = file{}
	err = config.Load([]byte("twilio:\n  account_sid: AC0123456789abcdef0123456789abcdef\n  auth_token: t\n"), &f)
	if err == nil || err.Error() != "line 1: twilio.from: is empty (an E.164 number such as +12125550100, or messaging_service_sid for texts)" {
		t.Fatalf("got %v", err)
	}
}
