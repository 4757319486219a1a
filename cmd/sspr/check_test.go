package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/providers/redisstore"
)

// runCheck runs `sspr --config cfg check [login]` in-process.
func runCheck(t *testing.T, cfg string, login ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	err := run(append([]string{"--config", cfg, "check"}, login...), strings.NewReader(""), &out, io.Discard)
	t.Logf("sspr check (exit %d):\n%s", exitCode(err), out.String())
	return out.String(), exitCode(err)
}

// holdPort listens on a loopback port for the rest of the test, accepting
// nothing, and returns its address.
func holdPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// writeKey writes n random bytes to path with mode.
func writeKey(t *testing.T, path string, n int, mode os.FileMode) []byte {
	t.Helper()
	key := make([]byte, n)
	rand.Read(key)
	if err := os.WriteFile(path, key, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return key
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
}

// Several failures in one config are all reported, each on its line, and
// the exit status is 1.
func TestCheckReportsEveryFailure(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, filepath.Join(dir, "secret.key"), 32, 0o640)
	taken := holdPort(t)
	httpTaken := holdPort(t)
	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: %s
http:
  listen: %s
directory:
  ldap:
    urls: [ldap://%s]
    bind_dn: cn=sspr,dc=example,dc=com
    bind_password: x
    base_dn: dc=example,dc=com
`, dir, taken, httpTaken, closed))
	out, code := runCheck(t, cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out,
		"FAIL  secret_key_file "+filepath.Join(dir, "secret.key")+": ",
		"secret.key: mode 0640: its group or others may read it; chmod 600 ",
		"FAIL  ssh.listen "+taken+": listen tcp "+taken+": bind: address already in use: another program holds it",
		"FAIL  http.listen "+httpTaken+": ",
		"FAIL  connect ldap://"+closed+": ",
		// The steps after the failures ran too.
		"ok    delivery.demo.outbox ",
		"ok    audit.path ",
		"ok    methods.text: demo",
		"4 steps failed\n",
	)
	if n := strings.Count(out, "FAIL  "); n != 4 {
		t.Errorf("%d FAIL lines, want 4", n)
	}
}

// secret_key_file: missing is fine (the first start creates it), short or
// readable by its group is not; the host key and the secret files the
// config reads are listed with their modes.
func TestCheckSecretFiles(t *testing.T) {
	dir := withUsers(t, t.TempDir())
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	pw := filepath.Join(t.TempDir(), "redis.pw")
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: %s\nhttp:\n  metrics_token_file: %s\n", dir, listen, pw))
	key := filepath.Join(dir, "secret.key")
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")

	out, code := runCheck(t, cfg)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	wantLines(t, out,
		"ok    secret_key_file "+key+" (not there yet: the first start creates it",
		"ok    ssh.host_key "+hostKey+" (not there yet",
		"ok    http.metrics_token_file "+pw+" (mode 0600)\n",
		"ok    ssh.listen "+listen+"\n",
	)

	writeKey(t, key, 16, 0o600)
	writeKey(t, hostKey, 32, 0o644)
	out, code = runCheck(t, cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out, "FAIL  secret_key_file "+key+": has 16 bytes, want 32 or more", "FAIL  ssh.host_key "+hostKey+": ")

	writeKey(t, key, 32, 0o600)
	writeKey(t, hostKey, 32, 0o600)
	out, code = runCheck(t, cfg)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	wantLines(t, out, "ok    secret_key_file "+key+" (32 bytes, mode 0600)", "ok    ssh.host_key "+hostKey+" (mode 0600)")
}

// The user file holds password hashes: readable by its group is an
// admin's choice, by others a warning, writable by others a failure.
func TestCheckUsersFileMode(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\n", dir, freePort(t)))
	if _, _, err := sspr(t, cfg, "Long-Enough-Pass1\n", "users", "add", "ivy"); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users.yaml")
	for _, tc := range []struct {
		mode os.FileMode
		code int
		want string
	}{
		{0o600, 0, ""},
		{0o640, 0, ""},
		{0o644, 0, "WARN  directory.embedded.path " + users + " is mode 0644: others may read its password hashes"},
		{0o602, 1, "FAIL  directory.embedded.path " + users + ": mode 0602 lets others write it"},
	} {
		if err := os.Chmod(users, tc.mode); err != nil {
			t.Fatal(err)
		}
		out, code := runCheck(t, cfg)
		if code != tc.code {
			t.Errorf("mode %04o: exit %d, want %d", tc.mode, code, tc.code)
		}
		if tc.want == "" && (strings.Contains(out, "WARN") || strings.Contains(out, "FAIL")) {
			t.Errorf("mode %04o: a warning or failure:\n%s", tc.mode, out)
		}
		if tc.want != "" {
			wantLines(t, out, tc.want)
		}
	}
}

// Redis is reached with the server's settings; the secret key's
// fingerprint is compared with the recorded one, and check records none.
func TestCheckRedisKeyFingerprint(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	dir := withUsers(t, t.TempDir())
	keyPath := filepath.Join(dir, "secret.key")
	config := func(prefix string) string {
		return writeConfig(t, fmt.Sprintf(`data_dir: %s
ssh:
  listen: 127.0.0.1:%d
store:
  redis:
    addrs: [%q]
    prefix: %q
    timeout: 2s
`, dir, freePort(t), addr, prefix))
	}
	store := func(prefix string) *redisstore.Store {
		st, err := redisstore.New(redisstore.Config{Addrs: []string{addr}, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}

	// No instance yet, no key yet: fine, and nothing is recorded.
	out, code := runCheck(t, config("fresh:"))
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	wantLines(t, out, "ok    store.redis "+addr+" (prefix fresh:)\n", "ok    store.redis secret key fingerprint: none recorded (no instance has started yet)")
	if _, found, err := store("fresh:").KeyFingerprint(ctx); err != nil || found {
		t.Fatalf("check recorded a fingerprint (%v, %v)", found, err)
	}

	// Instances with another key are there: no key file yet is refused (the
	// first start would make a new key), another key is refused.
	other := make([]byte, 32)
	rand.Read(other)
	if err := store("shared:").CheckKeyFingerprint(ctx, flow.KeyFingerprint(other)); err != nil {
		t.Fatal(err)
	}
	out, code = runCheck(t, config("shared:"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out, "FAIL  store.redis secret key fingerprint: the instances on this Redis recorded a key and secret_key_file "+keyPath+" is not there")
	key := writeKey(t, keyPath, 32, 0o600)
	out, code = runCheck(t, config("shared:"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out, "FAIL  store.redis secret key fingerprint: another instance uses a different secret key (fingerprint in Redis "+flow.KeyFingerprint(other)[:8],
		"give every instance sharing this Redis the same secret_key_file")

	// The same key: ok.
	if err := store("same:").CheckKeyFingerprint(ctx, flow.KeyFingerprint(key)); err != nil {
		t.Fatal(err)
	}
	out, code = runCheck(t, config("same:"))
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	wantLines(t, out, "ok    store.redis secret key fingerprint: the same key as the instances on this Redis")

	// Redis away: a failure, soon.
	away := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: 127.0.0.1:%d\nstore:\n  redis:\n    addrs: [\"127.0.0.1:%d\"]\n    timeout: 1s\n", dir, freePort(t), freePort(t)))
	out, code = runCheck(t, away)
	if code != 1 || !strings.Contains(out, "FAIL  store.redis 127.0.0.1:") {
		t.Errorf("Redis away: exit %d\n%s", code, out)
	}
}

// Every LDAP URL is tried and bound: a closed first one is one FAIL line,
// the second is connected, bound and used for the lookup, and the exit
// status is 1.
func TestCheckEveryLDAPURL(t *testing.T) {
	srv := slapd.Start(t)
	closed := fmt.Sprintf("ldaps://127.0.0.1:%d", freePort(t))
	body := ldapYAML(t, srv, "", fmt.Sprintf("ssh:\n  listen: 127.0.0.1:%d\n", freePort(t)))
	body = strings.Replace(body, "urls: ["+srv.LDAPSURL+"]", "urls: ["+closed+", "+srv.LDAPSURL+"]", 1)
	out, code := runCheck(t, writeConfig(t, body), "alice")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out,
		"FAIL  connect "+closed+": connect: dial tcp ",
		"ok    connect "+srv.LDAPSURL+" (TLS 1.3)\n",
		"ok    bind as "+slapd.ServiceDN+" on "+srv.LDAPSURL+"\n",
		"ok    password change (Password Modify extended operation)\n",
		`ok    lookup "alice"`,
		"ok    directory.ldap.bind_password_file ",
		"1 step failed\n",
	)
	if n := strings.Count(out, "FAIL  "); n != 1 {
		t.Errorf("%d FAIL lines, want 1", n)
	}
}

// An address held by sspr itself (`sspr check` next to a running server)
// is a warning, not a failure: its SSH banner or its /healthz tells.
func TestCheckListenHeldBySSPR(t *testing.T) {
	ssh, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ssh.Close()
	go func() {
		for {
			c, err := ssh.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "SSH-2.0-SSPR\r\n")
			c.Close()
		}
	}()
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
	go srv.Serve(web)
	defer srv.Close()
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %s\nssh:\n  listen: %s\nhttp:\n  listen: %s\n", withUsers(t, t.TempDir()), ssh.Addr(), web.Addr()))
	out, code := runCheck(t, cfg)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	wantLines(t, out,
		"WARN  ssh.listen "+ssh.Addr().String()+": already in use by sspr (it answers SSH-2.0-SSPR)",
		"WARN  http.listen "+web.Addr().String()+": already in use by sspr (its /healthz answers)",
	)
}

// Without a config the demo checks out.
func TestCheckDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SSPR_CONFIG", "")
	var out bytes.Buffer
	if err := run([]string{"check"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatalf("check of the demo: %v\n%s", err, out.String())
	}
	wantLines(t, out.String(), "ok    config (none given: the demo)\n", "ok    directory.embedded.path ", "ssh.listen 127.0.0.1:2222")
}
