package embedded

import (
	"strings"
	"testing"

	"github.com/sspr-project/sspr/config"
)

type configRoot struct {
	Embedded Config `yaml:"embedded"`
}

func TestConfigLoad(t *testing.T) {
	r := configRoot{Embedded: Default()}
	if err := config.Load([]byte("embedded:\n  path: /var/lib/sspr/people.yaml\n  totp_key_file: /etc/sspr/totp.key\n  hashes_at_once: 4\n"), &r); err != nil {
		t.Fatal(err)
	}
	if want := (Config{Path: "/var/lib/sspr/people.yaml", TOTPKeyFile: "/etc/sspr/totp.key", HashesAtOnce: 4}); r.Embedded != want {
		t.Fatalf("got %+v, want %+v", r.Embedded, want)
	}
	r = configRoot{Embedded: Default()}
	if err := config.Load([]byte("embedded: {}\n"), &r); err != nil || r.Embedded != Default() {
		t.Fatalf("an empty block: %+v, %v", r.Embedded, err)
	}
}

func TestConfigLoadReportsEveryWrongKey(t *testing.T) {
	r := configRoot{Embedded: Default()}
	err := config.Load([]byte("embedded:\n  pth: users.yaml\n  totp_key_file: [a, b]\n  hashes_at_once: -1\n"), &r)
	want := []string{
		"line 2: embedded.pth: unknown key (did you mean path?)",
		"line 3: embedded.totp_key_file: must be a single value",
		"line 4: embedded.hashes_at_once: -1 is not allowed (0, or 1 to 1024)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestConfigReference(t *testing.T) {
	r := configRoot{Embedded: Default()}
	md := config.Markdown(config.Reference(&r))
	for _, want := range []string{
		"| `embedded.path` | `<data_dir>/users.yaml` | the embedded directory",
		"| `embedded.totp_key_file` | none |",
		"| `embedded.hashes_at_once` | 0: one per processor | argon2id computations",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("reference lacks %q:\n%s", want, md)
		}
	}
}
