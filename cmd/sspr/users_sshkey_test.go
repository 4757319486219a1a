package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keygen makes an ed25519 key pair with ssh-keygen and returns the path
// of the private key and the public key's line.
func keygen(t *testing.T, dir, name string) (path, line string) {
	t.Helper()
	path = filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@laptop", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

func fingerprint(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

func TestUsersSetSSHKeys(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	keys := t.TempDir()
	k1, line1 := keygen(t, keys, "one")
	_, line2 := keygen(t, keys, "two")
	if _, _, err := sspr(t, cfg, "", "users", "set", "frank", "--ssh-key", line1, "--ssh-key", line2); err != nil {
		t.Fatalf("set: %v", err)
	}
	// The same key again, with options and another comment, is not added.
	if _, _, err := sspr(t, cfg, "", "users", "set", "frank", "--ssh-key", "no-pty "+strings.TrimSuffix(line1, "one@laptop")+"other"); err != nil {
		t.Fatalf("set: %v", err)
	}
	if u, _ := readUser(t, dataDir, "frank"); u.SSHKeys != 2 || u.Email != "frank@example.com" {
		t.Fatalf("after adding: %+v", u)
	}
	data, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	if !strings.Contains(string(data), line1) || !strings.Contains(string(data), line2) {
		t.Fatalf("the file lacks the keys:\n%s", data)
	}
	var fields []string
	for _, st := range auditSteps(t, dataDir, "") {
		f, _ := st["fields"].(string)
		fields = append(fields, f)
	}
	if !strings.Contains(strings.Join(fields, "|"), "ssh_key "+fingerprint(t, k1)) {
		t.Fatalf("audit fields %q", fields)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ssh-key", "ssh-ed25519 AAAAnotakey"}, "not a public key"},
		{[]string{"--ssh-key", "cert-authority " + line2}, "cert-authority"},
		{[]string{"--ssh-key", line1 + "\n" + line2}, "more than one key"},
		{[]string{"--ssh-key", strings.Repeat("x", 9000)}, "longer than"},
	} {
		_, stderr, err := sspr(t, cfg, "", append([]string{"users", "set", "frank"}, c.args...)...)
		if exitCode(err) != 2 || !strings.Contains(stderr+errText(err), c.want) {
			t.Errorf("%.60v: exit %d, %v %q; want exit 2 and %q", c.args, exitCode(err), err, stderr, c.want)
		}
	}

	// Clearing and adding in one go replaces the keys.
	if _, _, err := sspr(t, cfg, "", "users", "set", "frank", "--clear-ssh-keys", "--ssh-key", line2); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	if u, _ := readUser(t, dataDir, "frank"); u.SSHKeys != 1 || strings.Contains(string(data), line1) {
		t.Fatalf("after replacing: %+v\n%s", u, data)
	}
	if _, _, err := sspr(t, cfg, "", "users", "set", "frank", "--clear-ssh-keys"); err != nil {
		t.Fatal(err)
	}
	if u, _ := readUser(t, dataDir, "frank"); u.SSHKeys != 0 {
		t.Fatalf("after clearing: %+v", u)
	}
}
