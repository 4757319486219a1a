package smtp

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
)

// file is the part of sspr.yaml that holds the block, as cmd composes it.
type file struct {
	SMTP *Config `yaml:"smtp"`
}

func TestConfigLoadsTheBlock(t *testing.T) {
	var f file
	err := config.Load([]byte(`smtp:
  host: smtp.example.com
  port: 465
  from: Password reset <reset@example.com>
  username: relay-user
  password: Relay-Pa55word-Secret
  tls: implicit
  helo: sspr.example.com
  timeout: 20s
  signin_url: https://login.example.com/
`), &f)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Host: "smtp.example.com", Port: 465, From: "Password reset <reset@example.com>",
		Username: "relay-user", Password: config.InlineSecret("Relay-Pa55word-Secret"), TLS: ImplicitTLS,
		HELO: "sspr.example.com", Timeout: 20 * time.Second, SignInURL: "https://login.example.com/",
	}
	if !reflect.DeepEqual(f.SMTP, &want) {
		t.Fatalf("got  %#v\nwant %#v", *f.SMTP, want)
	}
	s, err := New(*f.SMTP)
	if err != nil {
		t.Fatal(err)
	}
	if s.from.Name != "Password reset" || s.from.Address != "reset@example.com" || s.password != "Relay-Pa55word-Secret" {
		t.Fatalf("sender %v, password %q", s.from, s.password)
	}

	// Keys left out keep the defaults; no block is no SMTP.
	f = file{}
	if err := config.Load([]byte("smtp:\n  host: smtp.example.com\n  from: reset@example.com\n"), &f); err != nil {
		t.Fatal(err)
	}
	want = Default()
	want.Host, want.From = "smtp.example.com", "reset@example.com"
	if f.SMTP.Password.IsSet() || f.SMTP.Password.Value() != "" {
		t.Fatalf("password %v", f.SMTP.Password)
	}
	want.Password = f.SMTP.Password // read, as nothing
	if !reflect.DeepEqual(f.SMTP, &want) {
		t.Fatalf("got  %#v\nwant %#v", *f.SMTP, want)
	}
	f = file{}
	if err := config.Load([]byte("{}\n"), &f); err != nil || f.SMTP != nil {
		t.Fatalf("no block: %v %v", f.SMTP, err)
	}
}

func TestConfigReportsEveryWrongKey(t *testing.T) {
	var f file
	err := config.Load([]byte(`smtp:
  host: smtp.example.com
  tls: none
  from: not an address
  password: Relay-Pa55word-Secret
  port: 70000
  timeout: 500ms
  helo: bad name
  signin_url: http://login.example.com/
  tsl: none
`), &f)
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`line 1: smtp.username: is empty, yet a password is set`,
		`line 3: smtp.tls: none is not allowed for a relay that is not on the loopback interface ("smtp.example.com"): use starttls or implicit`,
		`line 4: smtp.from: "not an address" is not allowed (an address, e.g. reset@example.com or "Password reset <reset@example.com>")`,
		`line 6: smtp.port: 70000 is not allowed (0 to 65535)`,
		`line 7: smtp.timeout: 500ms is not allowed (0, or 1s to 1m)`,
		`line 8: smtp.helo: "bad name" is not allowed (a host name)`,
		`line 9: smtp.signin_url: "http://login.example.com/": want an https:// URL`,
		`line 10: smtp.tsl: unknown key (did you mean tls?)`,
	} {
		if !strings.Contains(got, want+"\n") && !strings.HasSuffix(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "Relay-Pa55word-Secret") {
		t.Errorf("the password is in the errors:\n%s", got)
	}
	if n := strings.Count(got, "\n") + 1; n != 8 {
		t.Errorf("%d errors, want 8:\n%s", n, got)
	}

	// The loopback rule and ca_file with tls: none; a zero timeout is the
	// default.
	f = file{}
	err = config.Load([]byte("smtp:\n  host: 127.0.0.1\n  from: reset@example.com\n  tls: none\n  timeout: 0s\n  ca_file: /etc/ssl/relay.pem\n"), &f)
	if err == nil || err.Error() != `line 6: smtp.ca_file: "/etc/ssl/relay.pem" is given with tls: none` {
		t.Fatalf("got %v", err)
	}
}
