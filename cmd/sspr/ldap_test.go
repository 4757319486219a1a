package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/ldap"
)

// ldapYAML is a config whose directory is srv over LDAPS. passwordKey is
// the service password's key and value ("": the right one, from a file);
// extra is appended to the config.
func ldapYAML(t *testing.T, srv *slapd.Server, passwordKey, extra string) string {
	t.Helper()
	if passwordKey == "" {
		pwFile := filepath.Join(t.TempDir(), "ldap-password")
		if err := os.WriteFile(pwFile, []byte(slapd.ServicePassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		passwordKey = "bind_password_file: " + pwFile
	}
	return fmt.Sprintf(`data_dir: %s
directory:
  ldap:
    urls: [%s]
    ca_file: %s
    bind_dn: %s
    %s
    base_dn: %s
    attributes:
      totp_secret: employeeNumber
%s`, t.TempDir(), srv.LDAPSURL, srv.CAFile, slapd.ServiceDN, passwordKey, slapd.PeopleDN, extra)
}

func TestLDAPConfigReadsEveryKey(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"ca.pem", "client.pem", "client.key", "pw"} {
		files[name] = filepath.Join(dir, name)
		if err := os.WriteFile(files[name], []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := writeConfig(t, fmt.Sprintf(`data_dir: %s
directory:
  ldap:
    urls: [ldap://ldap1.example.com, ldap://ldap2.example.com:3389]
    start_tls: true
    ca_file: %s
    cert_file: %s
    key_file: %s
    bind_dn: cn=sspr,ou=services,dc=example,dc=com
    bind_password_file: %s
    base_dn: ou=people,dc=example,dc=com
    user_filter: (uid={login})
    flavor: openldap
    connect_timeout: 3s
    timeout: 7s
    pool_size: 6
    unlock_on_reset: false
    attributes:
      login: uid
      display_name: cn
      email: mail
      mobile: mobile
      office: "-"
      totp_secret: employeeNumber
      groups: memberOf
`, t.TempDir(), files["ca.pem"], files["client.pem"], files["client.key"], files["pw"]))
	cfg, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Directory.LDAP
	got := l.providerConfig("pw")
	want := ldap.Config{
		URLs: []string{"ldap://ldap1.example.com", "ldap://ldap2.example.com:3389"}, StartTLS: true,
		CAFile: files["ca.pem"], CertFile: files["client.pem"], KeyFile: files["client.key"],
		BindDN: "cn=sspr,ou=services,dc=example,dc=com", BindPassword: "pw", BaseDN: "ou=people,dc=example,dc=com",
		UserFilter: "(uid={login})", Flavor: "openldap",
		Attributes:     ldap.Attributes{Login: "uid", DisplayName: "cn", Email: "mail", Mobile: "mobile", Office: "-", TOTPSecret: "employeeNumber", Groups: "memberOf"},
		ConnectTimeout: 3 * time.Second, Timeout: 7 * time.Second, PoolSize: 6, UnlockOnReset: l.UnlockOnReset,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || l.UnlockOnReset == nil || *l.UnlockOnReset {
		t.Fatalf("directory.ldap =\n%+v\nwant\n%+v", got, want)
	}
	if pw, err := l.bindPassword(); err != nil || pw != "x" {
		t.Fatalf("bind_password_file: %q, %v", pw, err)
	}
}

func TestLDAPBindPasswordSources(t *testing.T) {
	l := &LDAPConfig{BindPassword: "inline"}
	if pw, _ := l.bindPassword(); pw != "inline" {
		t.Fatal(pw)
	}
	t.Setenv("SSPR_TEST_LDAP_PW", "from-env")
	l = &LDAPConfig{BindPasswordEnv: "SSPR_TEST_LDAP_PW"}
	if pw, _ := l.bindPassword(); pw != "from-env" {
		t.Fatal(pw)
	}
	l = &LDAPConfig{BindPasswordEnv: "SSPR_TEST_LDAP_PW_UNSET"}
	if _, err := l.bindPassword(); err == nil || !strings.Contains(err.Error(), "directory.ldap.bind_password_env: SSPR_TEST_LDAP_PW_UNSET is not set") {
		t.Fatalf("unset variable: %v", err)
	}
}

func TestLDAPConfigNamesTheWrongField(t *testing.T) {
	base := map[string]string{
		"urls": "[ldap://ldap.example.com]", "bind_dn": "cn=sspr,dc=example,dc=com", "bind_password": "x",
		"base_dn": "dc=example,dc=com",
	}
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"urls": "[]"}, "directory.ldap.urls: at least one"},
		{map[string]string{"urls": "[https://ldap.example.com]"}, `directory.ldap.urls[0]: "https://ldap.example.com" is not an ldap:// or ldaps:// URL`},
		{map[string]string{"flavor": "novell"}, `directory.ldap.flavor: "novell" is not allowed (openldap or ad)`},
		{map[string]string{"flavor": "ad"}, "directory.ldap.urls[0]: \"ldap://ldap.example.com\": Active Directory sets passwords only over an encrypted connection"},
		{map[string]string{"bind_dn": `""`}, "directory.ldap.bind_dn"},
		{map[string]string{"bind_password": `""`}, "directory.ldap.bind_password: the service account's password is needed"},
		{map[string]string{"bind_password_env": "X"}, "directory.ldap.bind_password: given more than once"},
		{map[string]string{"bind_password": `""`, "bind_password_file": "/nonexistent/pw"}, `directory.ldap.bind_password_file: "/nonexistent/pw" is not allowed (a readable file`},
		{map[string]string{"ca_file": "/nonexistent/ca.pem"}, "directory.ldap.ca_file"},
		{map[string]string{"user_filter": "(uid=alice)"}, "directory.ldap.user_filter: \"(uid=alice)\" has no {login}"},
		{map[string]string{"user_filter": `"(uid={login}"`}, "directory.ldap.user_filter"},
		{map[string]string{"start_tls": "true", "urls": "[ldaps://ldap.example.com]"}, "directory.ldap.urls[0]"},
		{map[string]string{"timeout": "1h"}, "directory.ldap.timeout"},
		{map[string]string{"pool_size": "1000"}, "directory.ldap.pool_size"},
	} {
		keys := map[string]string{}
		for k, v := range base {
			keys[k] = v
		}
		for k, v := range tc.set {
			keys[k] = v
		}
		var b strings.Builder
		fmt.Fprintf(&b, "data_dir: %s\ndirectory:\n  ldap:\n", t.TempDir())
		for k, v := range keys {
			fmt.Fprintf(&b, "    %s: %s\n", k, v)
		}
		_, err := loadConfig(writeConfig(t, b.String()))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v\nwant %q", tc.set, err, tc.want)
		}
	}
	// An unknown key is named too.
	_, err := loadConfig(writeConfig(t, "directory:\n  ldap:\n    url: ldap://x\n"))
	if err == nil || !strings.Contains(err.Error(), "field url not found") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestLDAPCheck(t *testing.T) {
	srv := slapd.Start(t)
	cfg, err := loadConfig(writeConfig(t, ldapYAML(t, srv, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := check(cfg, &out, "alice"); err != nil {
		t.Fatalf("check alice: %v\n%s", err, out.String())
	}
	t.Logf("sspr check alice:\n%s", out.String())
	for _, want := range []string{
		"ok    config\n",
		"ok    connect " + srv.LDAPSURL + " (TLS 1.3)\n",
		"ok    bind as " + slapd.ServiceDN + "\n",
		"ok    password change (Password Modify extended operation)\n",
		`ok    lookup "alice" with (&(objectClass=inetOrgPerson)(|(uid=alice)(mail=alice))) under ` + slapd.PeopleDN + ": " + slapd.UserDN("alice") + ", active;",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "directory.embedded") {
		t.Errorf("check looked at the embedded directory:\n%s", out.String())
	}

	// Without a login, through the command line.
	stdout, _, err := sspr(t, writeConfig(t, ldapYAML(t, srv, "", "")), "", "check")
	if err != nil || !strings.Contains(stdout, "skip  lookup") {
		t.Fatalf("sspr check: %v\n%s", err, stdout)
	}

	// A wrong password: the server's words, exit status 1, no password.
	t.Setenv("SSPR_TEST_WRONG", "Wrong-Service-Passw0rd")
	stdout, _, err = sspr(t, writeConfig(t, ldapYAML(t, srv, "bind_password_env: SSPR_TEST_WRONG", "")), "", "check")
	if exitCode(err) != 1 || !strings.Contains(stdout, `FAIL  bind as `+slapd.ServiceDN+`: LDAP Result Code 49 "Invalid Credentials"`) {
		t.Fatalf("check with a wrong bind password: %v\n%s", err, stdout)
	}
	if strings.Contains(stdout, "Wrong-Service-Passw0rd") {
		t.Fatal("check shows the password")
	}

	// slapd down: every URL fails fast with the network's words.
	srv.Kill()
	start := time.Now()
	out.Reset()
	if err := check(cfg, &out, "alice"); exitCode(err) != 1 || !strings.Contains(out.String(), "FAIL  connect "+srv.LDAPSURL+": connect: dial tcp 127.0.0.1:") || !strings.Contains(out.String(), "connection refused") {
		t.Fatalf("check with slapd down: %v\n%s", err, out.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("check took %v with slapd down", d)
	}
}
