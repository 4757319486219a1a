package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/providers/embedded"
)

// adminFixture is a config whose embedded directory holds frank and
// gina, added with users add.
func adminFixture(t *testing.T) (cfg, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	cfg = writeConfig(t, "data_dir: "+dataDir+"\n")
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "add", "frank", "--name", "Frank Example",
		"--email", "frank@example.com", "--mobile", "+1 212 555 0177"); err != nil {
		t.Fatalf("add: %v", err)
	}
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "add", "gina", "--email", "gina@example.com"); err != nil {
		t.Fatalf("add: %v", err)
	}
	return cfg, dataDir
}

// readUser reads login's entry back from the users file.
func readUser(t *testing.T, dataDir, login string) (embedded.UserInfo, bool) {
	t.Helper()
	d, err := embedded.Open(filepath.Join(dataDir, "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range list {
		if u.Login == login {
			return u, true
		}
	}
	return embedded.UserInfo{}, false
}

// auditSteps returns the admin_* records of the audit trail, each as its
// fields, and fails if one carries pw.
func auditSteps(t *testing.T, dataDir, pw string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if pw != "" && strings.Contains(string(data), pw) {
		t.Fatalf("the audit trail holds a password:\n%s", data)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if s, _ := m["step"].(string); strings.HasPrefix(s, "admin_") {
			out = append(out, m)
		}
	}
	return out
}

func TestUsersSet(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	users := filepath.Join(dataDir, "users.yaml")
	if err := os.Chmod(users, 0o640); err != nil {
		t.Fatal(err)
	}
	// The canonical form of the login finds the entry.
	out, _, err := sspr(t, cfg, "", "users", "set", "FRANK", "--name", "Frank Ex", "--office", "+44 20 7946 0958", "--clear-mobile")
	if err != nil {
		t.Fatalf("set: %v", err)
	}
	if !strings.Contains(out, "updated frank") {
		t.Fatalf("set said %q", out)
	}
	u, _ := readUser(t, dataDir, "frank")
	want := embedded.UserInfo{Login: "frank", DisplayName: "Frank Ex", Email: "frank@example.com", Office: "+442079460958", HasPassword: true}
	if u != want {
		t.Fatalf("got %+v, want %+v", u, want)
	}
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode after set: %v %v", fi.Mode(), err)
	}
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "verify", "frank"); err != nil {
		t.Fatalf("set changed the password: %v", err)
	}
	if _, _, err := sspr(t, cfg, "", "users", "set", "frank", "--clear-email", "--clear-office"); err != nil {
		t.Fatal(err)
	}
	if u, _ := readUser(t, dataDir, "frank"); u.Email != "" || u.Office != "" || u.DisplayName != "Frank Ex" {
		t.Fatalf("after clearing: %+v", u)
	}
	steps := auditSteps(t, dataDir, "")
	if n := len(steps); n != 4 || steps[2]["step"] != "admin_set" || steps[2]["login"] != "frank" || steps[2]["result"] != "ok" ||
		steps[2]["fields"] != "name,mobile,office" {
		t.Fatalf("audit records: %v", steps)
	}
}

func TestUsersSetRefusals(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	before, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frank"}, 2, "name a field to change"},
		{[]string{"frank", "--name", "F", "--clear-name"}, 2, "--name and --clear-name together"},
		{[]string{"frank", "--mobile", ""}, 2, "use --clear-mobile"},
		{[]string{"frank", "--mobile", "call me"}, 2, "--mobile"},
		{[]string{"frank", "--email", "not-an-address"}, 2, "--email"},
		{[]string{"frank", "--email", "Gina@Example.com"}, 2, "already in use"},
		{[]string{"nobody", "--name", "N"}, 1, `"nobody"`},
	}
	for _, c := range cases {
		_, stderr, err := sspr(t, cfg, "", append([]string{"users", "set"}, c.args...)...)
		if exitCode(err) != c.code || !strings.Contains(stderr+errText(err), c.want) {
			t.Errorf("%v: exit %d, %v %q; want exit %d and %q", c.args, exitCode(err), err, stderr, c.code, c.want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml")); string(after) != string(before) {
		t.Fatal("a refused set changed the file")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestUsersDisableEnable(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	if _, _, err := sspr(t, cfg, "", "users", "disable", "Frank"); err != nil {
		t.Fatal(err)
	}
	if u, _ := readUser(t, dataDir, "frank"); !u.Disabled {
		t.Fatal("frank is not disabled")
	}
	if out, _, _ := sspr(t, cfg, "", "users", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("list:\n%s", out)
	}
	if out, _, err := sspr(t, cfg, "", "users", "disable", "frank"); err != nil || !strings.Contains(out, "already disabled") {
		t.Fatalf("second disable: %v %q", err, out)
	}
	if _, _, err := sspr(t, cfg, "", "users", "enable", "frank"); err != nil {
		t.Fatal(err)
	}
	if u, _ := readUser(t, dataDir, "frank"); u.Disabled {
		t.Fatal("frank is still disabled")
	}
	for _, cmd := range []string{"disable", "enable"} {
		if _, stderr, err := sspr(t, cfg, "", "users", cmd, "nobody"); exitCode(err) != 1 || !strings.Contains(stderr, `"nobody"`) {
			t.Errorf("%s nobody: %v %q", cmd, err, stderr)
		}
	}
	var steps []string
	for _, m := range auditSteps(t, dataDir, "") {
		steps = append(steps, m["step"].(string)+" "+m["login"].(string))
	}
	if got := strings.Join(steps, ", "); got != "admin_add frank, admin_add gina, admin_disable frank, admin_enable frank" {
		t.Fatalf("audit steps: %s", got)
	}
}

func TestUsersRemove(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	before, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	_, stderr, err := sspr(t, cfg, "y\n", "users", "remove", "frank")
	if exitCode(err) != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("remove without --yes on a pipe: %v %q", err, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml")); string(after) != string(before) {
		t.Fatal("a refused remove changed the file")
	}
	if _, stderr, err := sspr(t, cfg, "", "users", "remove", "nobody", "--yes"); exitCode(err) != 1 || !strings.Contains(stderr, `"nobody"`) {
		t.Fatalf("remove nobody: %v %q", err, stderr)
	}
	out, _, err := sspr(t, cfg, "", "users", "remove", "FRANK", "--yes")
	if err != nil || !strings.Contains(out, "removed frank") {
		t.Fatalf("remove --yes: %v %q", err, out)
	}
	if _, ok := readUser(t, dataDir, "frank"); ok {
		t.Fatal("frank is still there")
	}
	if _, ok := readUser(t, dataDir, "gina"); !ok {
		t.Fatal("gina went too")
	}
	if steps := auditSteps(t, dataDir, ""); len(steps) != 3 || steps[2]["step"] != "admin_remove" {
		t.Fatalf("audit: %v", steps)
	}
}

func TestUsersPasswd(t *testing.T) {
	cfg, dataDir := adminFixture(t)
	out, _, err := sspr(t, cfg, "Battery-Staple-77q\n", "users", "passwd", "Frank")
	if err != nil || !strings.Contains(out, "new password for frank") {
		t.Fatalf("passwd: %v %q", err, out)
	}
	if _, _, err := sspr(t, cfg, "Battery-Staple-77q\n", "users", "verify", "frank"); err != nil {
		t.Fatalf("verify with the new password: %v", err)
	}
	if _, _, err := sspr(t, cfg, "Correct-Horse-42x\n", "users", "verify", "frank"); exitCode(err) != 1 {
		t.Fatalf("verify with the old password: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml"))
	for pw, want := range map[string]string{
		"short1A\n":            "At least 14 characters",
		"frank-Password-123\n": "Free of your name and username",
		"":                     "no password",
	} {
		_, _, err := sspr(t, cfg, pw, "users", "passwd", "frank")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("passwd %q: %v, want %q", pw, err, want)
		}
		if pw != "" && strings.Contains(errText(err), strings.TrimSpace(pw)) {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dataDir, "users.yaml")); string(after) != string(before) {
		t.Fatal("a refused passwd changed the file")
	}
	if _, stderr, err := sspr(t, cfg, "Battery-Staple-77q\n", "users", "passwd", "nobody"); exitCode(err) != 1 || !strings.Contains(stderr, `"nobody"`) {
		t.Fatalf("passwd nobody: %v %q", err, stderr)
	}
	steps := auditSteps(t, dataDir, "Battery-Staple-77q")
	if len(steps) != 3 || steps[2]["step"] != "admin_passwd" || steps[2]["login"] != "frank" {
		t.Fatalf("audit: %v", steps)
	}
	auditSteps(t, dataDir, "Correct-Horse-42x")
}
