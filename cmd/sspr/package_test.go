package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackagedConfigRefuses: the /etc/sspr/sspr.yaml of the Debian package
// is safe as shipped. It loads to exactly one refusal, the missing methods;
// with methods named, serving refuses the missing users file and says how
// to add people or where to name a directory server.
func TestPackagedConfigRefuses(t *testing.T) {
	shipped, err := os.ReadFile("../../packaging/deb/sspr.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sspr.yaml")
	data := strings.Replace(string(shipped), "data_dir: /var/lib/sspr", "data_dir: "+filepath.Join(dir, "lib"), 1)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = loadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "1 error:") || !strings.Contains(err.Error(), "methods: is missing: name how each method is delivered") {
		t.Fatalf("shipped config: %v, want the one refusal of the missing methods", err)
	}

	if err := os.WriteFile(path, []byte(data+"\ndemo: true\nmethods: {text: demo}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runCLI("--config", path, "serve")
	if err == nil || !strings.Contains(err.Error()+errOut, "users.yaml") || !strings.Contains(err.Error()+errOut, "users add LOGIN") || !strings.Contains(err.Error()+errOut, "directory.ldap") {
		t.Fatalf("serve without users: %v, stderr %q; want the missing users file and what to do", err, errOut)
	}
}

// TestPackagedConfigExample: the blocks the shipped config has commented
// out load once uncommented, so the file is a true guide to finishing the
// set-up.
func TestPackagedConfigExample(t *testing.T) {
	shipped, err := os.ReadFile("../../packaging/deb/sspr.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	block := regexp.MustCompile(`^# (directory|methods|delivery|signin_url|ssh):`)
	var out []string
	on := false
	for _, l := range strings.Split(string(shipped), "\n") {
		on = on || block.MatchString(l)
		switch {
		case on && strings.HasPrefix(l, "# "):
			l = l[2:]
		case on && l == "#":
			continue
		default:
			on = false
		}
		out = append(out, l)
	}
	data := strings.ReplaceAll(strings.Join(out, "\n"), "/var/lib/sspr", filepath.Join(dir, "lib"))
	data = strings.ReplaceAll(data, "/etc/sspr/", dir+"/")
	for _, f := range []string{"ldap.pw", "twilio.token", "smtp.pw"} {
		if !strings.Contains(data, dir+"/"+f) {
			t.Fatalf("the uncommented example names no %s:\n%s", f, data)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "sspr.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatalf("the shipped config, uncommented: %v\n%s", err, data)
	}
	if cfg.Directory.LDAP == nil || cfg.Methods.Text != "twilio" || cfg.Methods.Email != "smtp" {
		t.Errorf("the uncommented example is not what it shows: directory.ldap %v, methods %+v", cfg.Directory.LDAP != nil, cfg.Methods)
	}
}

// TestCLIGenMan: the hidden gen-man writes sspr(1) and a page a command,
// and is not listed in the help.
func TestCLIGenMan(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, err := runCLI("gen-man", dir); err != nil {
		t.Fatalf("gen-man: %v, %s", err, errOut)
	}
	for _, page := range []string{"sspr.1", "sspr-serve.1", "sspr-users-add.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), ".TH ") {
			t.Errorf("%s: %v", page, err)
		}
	}
	if out, _, _ := runCLI("--help"); strings.Contains(out, "gen-man") {
		t.Errorf("gen-man is listed in the help:\n%s", out)
	}
}
