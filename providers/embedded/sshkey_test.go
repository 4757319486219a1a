package embedded

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
)

const testKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlJ8M0yTFJb7L4M1gfbE3wIPk6X0y1aD3Kf2z5m1Xq8 dev@laptop"

func TestSSHKeysField(t *testing.T) {
	users, err := parseUsers([]byte("users:\n  - login: dev\n    ssh_keys:\n      - 'no-pty " + testKeyLine + "'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || len(users[0].SSHKeys) != 1 {
		t.Fatalf("users %+v", users)
	}
	many := strings.Repeat("      - "+testKeyLine+"\n", flow.MaxSSHKeys+1)
	for name, c := range map[string]struct{ keys, want string }{
		"not a key":       {"      - ssh-ed25519 AAAAnope\n", "ssh_keys[0]: is not a public key"},
		"a CA":            {"      - cert-authority " + testKeyLine + "\n", "cert-authority"},
		"too long":        {"      - " + testKeyLine + strings.Repeat("x", flow.MaxSSHKeyLine) + "\n", "longer than 8 KiB"},
		"too many":        {many, fmt.Sprintf("at most %d", flow.MaxSSHKeys)},
		"two on one line": {"      - " + testKeyLine + " " + testKeyLine + "\n", ""},
	} {
		_, err := parseUsers([]byte("users:\n  - login: dev\n    ssh_keys:\n" + c.keys))
		if c.want == "" {
			// A second key after the first one's comment is comment:
			// OpenSSH reads it so too.
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
