package push_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/providers/push"
)

// file is the part of sspr.yaml that holds the blocks, as cmd composes it.
type file struct {
	Ntfy *push.NtfyConfig `yaml:"ntfy"`
	Duo  *push.DuoConfig  `yaml:"duo"`
}

func TestConfigLoadsTheBlocks(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "ntfy.key")
	if err := os.WriteFile(keyFile, ntfyKey, 0o600); err != nil {
		t.Fatal(err)
	}
	var f file
	err := config.Load([]byte(`ntfy:
  server: https://ntfy.example.com
  token: `+ntfyToken+`
  key_file: `+keyFile+`
  topic_prefix: reset_
  title: Reset
  priority: 0
  timeout: 10s
duo:
  host: api-1234abcd.duosecurity.com
  ikey: `+duoIKey+`
  skey: `+duoSKey+`
  type: Reset
  timeout: 0s
`), &f)
	if err != nil {
		t.Fatal(err)
	}
	wantNtfy := push.NtfyConfig{Server: "https://ntfy.example.com", Token: config.InlineSecret(ntfyToken), KeyFile: keyFile,
		TopicPrefix: "reset_", Title: "Reset", Priority: 0, Timeout: 10 * time.Second}
	if !reflect.DeepEqual(f.Ntfy, &wantNtfy) {
		t.Fatalf("got  %#v\nwant %#v", *f.Ntfy, wantNtfy)
	}
	wantDuo := push.DuoConfig{Host: "api-1234abcd.duosecurity.com", IKey: duoIKey, SKey: config.InlineSecret(duoSKey), Type: "Reset"}
	if !reflect.DeepEqual(f.Duo, &wantDuo) {
		t.Fatalf("got  %#v\nwant %#v", *f.Duo, wantDuo)
	}
	n := *f.Ntfy
	n.PublicURL, n.Key = "https://reset.example.com", ntfyKey
	if _, err := push.NewNtfy(n); err != nil {
		t.Fatal(err)
	}
	d, err := push.NewDuo(*f.Duo)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()

	// Keys left out keep the defaults.
	f = file{}
	if err := config.Load([]byte("ntfy:\n  server: https://ntfy.example.com\nduo:\n  host: api-1234abcd.duosecurity.com\n  ikey: "+duoIKey+"\n  skey: "+duoSKey+"\n"), &f); err != nil {
		t.Fatal(err)
	}
	wantNtfy = push.DefaultNtfy()
	wantNtfy.Server = "https://ntfy.example.com"
	wantNtfy.Token = f.Ntfy.Token // read, as nothing
	if !reflect.DeepEqual(f.Ntfy, &wantNtfy) || f.Ntfy.Token.IsSet() {
		t.Fatalf("got  %#v\nwant %#v", *f.Ntfy, wantNtfy)
	}
	if f.Ntfy.TopicPrefix != "sspr_" || f.Ntfy.Title != "Password reset" || f.Ntfy.Priority != 4 || f.Ntfy.Timeout != 5*time.Second {
		t.Fatalf("ntfy defaults %#v", *f.Ntfy)
	}
	if f.Duo.Type != "Password reset" || f.Duo.Timeout != 5*time.Second {
		t.Fatalf("duo defaults %#v", *f.Duo)
	}
}

func TestConfigReportsEveryWrongKey(t *testing.T) {
	t.Parallel()
	open := filepath.Join(t.TempDir(), "open.key")
	if err := os.WriteFile(open, ntfyKey, 0o644); err != nil {
		t.Fatal(err)
	}
	var f file
	err := config.Load([]byte(`ntfy:
  server: ftp://ntfy.example.com
  token: not-a-token
  key_file: `+open+`
  key_env: SSPR_NTFY_KEY
  topic_prefix: bad/prefix
  priority: 9
  timeout: 500ms
  titel: Reset
duo:
  host: https://api-1234abcd.duosecurity.com
  ikey: diwj8x6aeyor5omc6tq1
  skey: short
  type: "Reset\u0007"
  timeout: 1m
`), &f)
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		`line 2: ntfy.server: "ftp://ntfy.example.com" is not allowed (the ntfy server's http:// or https:// base URL, e.g. https://ntfy.example.com)`,
		`line 3: ntfy.token: is not an access token (an ntfy access token, tk_ followed by 29 characters: ntfy token add)`,
		`line 4: ntfy.key_file: is given with key_env (one of key_file, key_env, or neither: secret_key_file)`,
		`line 4: ntfy.key_file: ` + open + ` is mode 0644: its group or others may read it; chmod 600 ` + open,
		`line 6: ntfy.topic_prefix: "bad/prefix" is not allowed (1 to 32 letters, digits, - and _)`,
		`line 7: ntfy.priority: 9 is not allowed (0 to 5)`,
		`line 8: ntfy.timeout: 500ms is not allowed (0, or 1s to 30s)`,
		`line 9: ntfy.titel: unknown key (did you mean title?)`,
		`line 11: duo.host: "https://api-1234abcd.duosecurity.com" is not allowed (the API hostname alone, e.g. api-1234abcd.duosecurity.com)`,
		`line 12: duo.ikey: "diwj8x6aeyor5omc6tq1" is not allowed (the integration key: 20 capital letters and digits, e.g. DIWJ8X6AEYOR5OMC6TQ1)`,
		`line 13: duo.skey: has 5 characters (the 40-character secret key)`,
		`line 14: duo.type: "Reset" is not allowed (up to 64 printable characters)`,
		`line 15: duo.timeout: 1m is not allowed (0, or 1s to 30s)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	// A Duo block needs its secret key.
	f = file{}
	err = config.Load([]byte("duo:\n  host: api-1234abcd.duosecurity.com\n  ikey: "+duoIKey+"\n"), &f)
	if err == nil || err.Error() != "line 1: duo.skey: is missing (one of skey, skey_file, skey_env)" {
		t.Fatalf("got %v", err)
	}
}
