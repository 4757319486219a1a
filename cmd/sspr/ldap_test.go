package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/ldap"
	"github.com/sspr-project/sspr/providers/totp"
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
	got := *cfg.Directory.LDAP
	want := ldap.Config{
		URLs: []string{"ldap://ldap1.example.com", "ldap://ldap2.example.com:3389"}, StartTLS: true,
		CAFile: files["ca.pem"], CertFile: files["client.pem"], KeyFile: files["client.key"],
		BindDN: "cn=sspr,ou=services,dc=example,dc=com", BindPassword: got.BindPassword, BaseDN: "ou=people,dc=example,dc=com",
		UserFilter: "(uid={login})", Flavor: "openldap",
		Attributes:     ldap.Attributes{Login: "uid", DisplayName: "cn", Email: "mail", Mobile: "mobile", Office: "-", TOTPSecret: "employeeNumber", Groups: "memberOf"},
		ConnectTimeout: 3 * time.Second, Timeout: 7 * time.Second, PoolSize: 6, UnlockOnReset: false,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || got.BindPassword.Value() != "x" {
		t.Fatalf("directory.ldap =\n%+v\nwant\n%+v", got, want)
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
		{map[string]string{"bind_password": `""`}, "directory.ldap.bind_password: is empty"},
		{map[string]string{"bind_password_env": "X"}, "directory.ldap.bind_password: given more than once"},
		{map[string]string{"bind_password": `""`, "bind_password_file": "/nonexistent/pw"}, `directory.ldap.bind_password: given more than once`},
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
	if err == nil || !strings.Contains(err.Error(), "directory.ldap.url: unknown key (did you mean urls?)") {
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

// rawTOTPOf is the value stored in the TOTP attribute of uid's entry, read
// as slapd's rootdn.
func rawTOTPOf(t *testing.T, srv *slapd.Server, uid string) string {
	t.Helper()
	v := srv.Attr(slapd.UserDN(uid), slapd.TOTPAttribute)
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	t.Fatalf("%s has %d values of %s", uid, len(v), slapd.TOTPAttribute)
	return ""
}

// `sspr users totp` with directory.ldap: a wrong code writes nothing; a
// matching one writes the secret sealed for the entry's DN, which the
// wired directory opens and a reset then verifies; legacy plain values keep
// working; no secret reaches a log line or an error.
func TestUsersTOTPWithLDAP(t *testing.T) {
	srv := slapd.Start(t)
	keyPath := keyFile(t)
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := totp.ParseKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, ldapYAML(t, srv, "", "    totp_key_file: "+keyPath+"\ncaptcha:\n  enabled: false\n"))
	var logs strings.Builder // every stderr and error, searched for secrets at the end

	// Three wrong codes: nothing is written.
	out, stderr, err := ssprAnswering(t, cfg, func(s string) string {
		w := wrongCode(s)
		return w + "\n" + w + "\n" + w + "\n"
	}, "users", "totp", "bob")
	fmt.Fprintln(&logs, stderr, err)
	if exitCode(err) != 1 || !strings.Contains(stderr, "nothing was saved") || !strings.Contains(out, "Enrolling the authenticator app of bob") {
		t.Fatalf("wrong codes: %v\n%s\n%s", err, out, stderr)
	}
	if got := rawTOTPOf(t, srv, "bob"); got != "" {
		t.Fatal("wrong codes wrote the attribute")
	}

	// A wrong code, then the right one, with bob's mail as the login.
	var secret string
	out, stderr, err = ssprAnswering(t, cfg, func(s string) string {
		secret = s
		return wrongCode(s) + "\n" + currentCode(t, s) + "\n"
	}, "users", "totp", "bob@example.com")
	fmt.Fprintln(&logs, stderr, err)
	want := "saved: bob's authenticator app, encrypted with key " + key.ID() + ", in " + slapd.TOTPAttribute + " of " + slapd.UserDN("bob")
	if err != nil || !strings.Contains(out, want) || !strings.Contains(stderr, "does not match") || !strings.Contains(stderr, "bob@example.com is the email of bob") {
		t.Fatalf("enrolment: %v\n%s\n%s", err, out, stderr)
	}
	raw := rawTOTPOf(t, srv, "bob")
	if !strings.HasPrefix(raw, totp.SealedPrefix+key.ID()+":") || strings.Contains(raw, secret) {
		t.Fatalf("the stored value is not sealed with key %s (%d bytes)", key.ID(), len(raw))
	}
	if strings.Contains(stderr, "warning") {
		t.Fatalf("a warning with a key:\n%s", stderr)
	}

	// The directory as the wizard wires it opens the secret.
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var auditLog bytes.Buffer
	d, err := openLDAP(c, flow.NewAuditLogger(&auditLog))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if u, err := d.LookupUser(ctx, "bob"); err != nil || u.TOTPSecret != secret {
		t.Fatalf("bob after enrolment: %v (secret returned: %v)", err, u.TOTPSecret == secret)
	}
	// alice's seeded plain value is still hers.
	if u, err := d.LookupUser(ctx, "alice"); err != nil || u.TOTPSecret != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("alice's plain secret: %v", err)
	}

	// A reset through the wired engine checks the app's code against it.
	a, err := wire(c)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s, err := a.engine.Begin(ctx, flow.Origin{Channel: flow.Local})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Identify(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Choose(ctx, flow.TOTPApp); err != nil {
		t.Fatalf("the app is not offered to bob: %v", err)
	}
	if err := s.SubmitCode(ctx, wrongCode(secret)); err == nil {
		t.Fatal("a wrong code passed")
	}
	if err := s.SubmitCode(ctx, currentCode(t, secret)); err != nil {
		t.Fatalf("the app's code was refused: %v", err)
	}
	if st := s.State(); st.Step != flow.StepChooseMethod || st.Verification != 2 {
		t.Fatalf("after the app: step %v, verification %d; want the second method", st.Step, st.Verification)
	}

	// Replacing alice's plain secret: a failed try keeps it.
	out, stderr, err = ssprAnswering(t, cfg, func(string) string { return "12345\n" }, "users", "totp", "alice")
	fmt.Fprintln(&logs, stderr, err)
	if exitCode(err) != 1 || !strings.Contains(out, "Replacing the authenticator app of alice") {
		t.Fatalf("replace with a bad code: %v\n%s", err, out)
	}
	if got := rawTOTPOf(t, srv, "alice"); got != "JBSWY3DPEHPK3PXP" {
		t.Fatal("a failed replacement changed alice's value")
	}

	// An unknown login.
	_, stderr, err = ssprAnswering(t, cfg, func(string) string { return "" }, "users", "totp", "nobody")
	fmt.Fprintln(&logs, stderr, err)
	if err == nil || !strings.Contains(err.Error(), "unknown user") {
		t.Fatalf("unknown login: %v", err)
	}

	// check: the key, and bob's app as sealed.
	out, _, err = sspr(t, cfg, "", "check", "bob")
	if err != nil || !strings.Contains(out, "ok    TOTP key "+key.ID()+" from directory.ldap.totp_key_file "+keyPath) ||
		!strings.Contains(out, "authenticator app ("+slapd.TOTPAttribute+", sealed with key "+key.ID()+")") || strings.Contains(out, "WARN") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	fmt.Fprintln(&logs, out, auditLog.String())

	// A value sealed for bob's DN, copied to twin1, does not open there:
	// twin1 has no app, the lookup works, and the log says why.
	srv.Modify(slapd.UserDN("twin1"), func(m *goldap.ModifyRequest) { m.Replace(slapd.TOTPAttribute, []string{raw}) })
	if u, err := d.LookupUser(ctx, "twin1"); err != nil || u.TOTPSecret != "" {
		t.Fatalf("twin1 with bob's sealed value: %v (has a secret: %v)", err, u.TOTPSecret != "")
	}
	if !strings.Contains(auditLog.String(), "cannot be used") || !strings.Contains(auditLog.String(), slapd.UserDN("twin1")) {
		t.Fatalf("the log does not say why:\n%s", auditLog.String())
	}
	fmt.Fprintln(&logs, auditLog.String())
	if l := logs.String(); strings.Contains(l, secret) || strings.Contains(l, raw) {
		t.Fatalf("a log line or error holds the secret:\n%s", l)
	}
}

// Without a TOTP key, enrolment writes the plain secret and says so, and
// check warns; a key given twice, a key file others can read, and no TOTP
// attribute are refused with the field named.
func TestUsersTOTPWithLDAPRefusals(t *testing.T) {
	srv := slapd.Start(t)
	plain := writeConfig(t, ldapYAML(t, srv, "", ""))
	var secret string
	out, stderr, err := ssprAnswering(t, plain, func(s string) string { secret = s; return currentCode(t, s) + "\n" }, "users", "totp", "twin2")
	if err != nil || !strings.Contains(out, "saved: twin2's authenticator app in "+slapd.TOTPAttribute+" of "+slapd.UserDN("twin2")) ||
		!strings.Contains(stderr, "warning: the secret is stored in plain text; set directory.ldap.totp_key_file or SSPR_TOTP_KEY") {
		t.Fatalf("enrolment without a key: %v\n%s\n%s", err, out, stderr)
	}
	if got := rawTOTPOf(t, srv, "twin2"); got != secret {
		t.Fatal("without a key the stored value is not the plain secret")
	}
	if strings.Contains(stderr, secret) {
		t.Fatal("stderr holds the secret")
	}
	out, _, err = sspr(t, plain, "", "check")
	if err != nil || !strings.Contains(out, "WARN  directory.ldap.attributes.totp_secret (employeeNumber) is set but no TOTP key is configured") {
		t.Fatalf("check without a key: %v\n%s", err, out)
	}

	// No attribute: refused before a secret is made.
	noAttr := writeConfig(t, strings.Replace(ldapYAML(t, srv, "", ""), "totp_secret: employeeNumber", `totp_secret: "-"`, 1))
	out, _, err = sspr(t, noAttr, "", "users", "totp", "bob")
	if err == nil || !strings.Contains(err.Error(), "directory.ldap.attributes.totp_secret is not set") || strings.Contains(out, "otpauth://") {
		t.Fatalf("no TOTP attribute: %v\n%s", err, out)
	}

	// The key given twice.
	keyPath := keyFile(t)
	withKey := writeConfig(t, ldapYAML(t, srv, "", "    totp_key_file: "+keyPath+"\n"))
	t.Setenv("SSPR_TOTP_KEY", strings.Repeat("ab", 32))
	if _, _, err := sspr(t, withKey, "", "users", "totp", "bob"); err == nil || !strings.Contains(err.Error(), "directory.ldap.totp_key_file") {
		t.Fatalf("a key given both ways: %v", err)
	}
	os.Unsetenv("SSPR_TOTP_KEY")
	// A key file others can read.
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = sspr(t, withKey, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, keyPath+" is mode 0644: its group or others may read it") {
		t.Fatalf("a readable key file: %v\n%s", err, out)
	}
	// A bad key.
	if err := os.WriteFile(keyPath, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = sspr(t, withKey, "", "check")
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL  TOTP key: directory.ldap.totp_key_file "+keyPath+": TOTP key: want 64 hex digits") || strings.Contains(out, "not a key") {
		t.Fatalf("a bad key: %v\n%s", err, out)
	}
}

// TestNtfyTopicOnLDAP: `users ntfy-topic` finds the person in
// directory.ldap, with no embedded users file anywhere.
func TestNtfyTopicOnLDAP(t *testing.T) {
	srv := slapd.Start(t)
	cfg := writeConfig(t, ldapYAML(t, srv, "", "methods: {push: ntfy}\nhttp: {listen: 127.0.0.1:0, public_url: https://reset.example.com}\ndelivery:\n  ntfy:\n    server: https://ntfy.example.com\n"))
	var out bytes.Buffer
	if err := run([]string{"--config", cfg, "users", "ntfy-topic", "alice"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatalf("ntfy-topic on LDAP: %v", err)
	}
	if !strings.HasPrefix(out.String(), "sspr_") {
		t.Fatalf("topic %q", out.String())
	}
}
