// Package samba starts a real Active Directory domain controller (Samba AD
// DC) for tests: one domain per test binary, provisioned into a temporary
// directory, serving LDAPS and StartTLS on a loopback address of its own
// with a certificate from a CA the harness made.
//
// The domain is seeded the way docs/ACTIVE-DIRECTORY.md tells an
// administrator to set one up: a password policy with history, length,
// complexity and lockout; an organizational unit for the users; and a
// service account that may only reset passwords and write lockoutTime on
// the users of that unit. Tests add their own users (unique names) with
// AddUser, so they can share the one domain.
//
// Samba listens on the fixed LDAP ports (389, 636, 3268, 3269), so every
// domain gets a random address in 127.0.0.0/8 instead of a random port:
// two test binaries running at once never meet.
package samba

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The fixed names of the test domain.
const (
	Realm   = "SSPR.TEST"
	Domain  = "SSPR"
	BaseDN  = "DC=sspr,DC=test"
	UsersOU = "OU=People," + BaseDN

	// AdminPassword is the Administrator's password; Administrator binds
	// as AdminUPN.
	AdminPassword = "Admin-Passw0rd-1"
	AdminUPN      = "Administrator@sspr.test"

	// ServiceLogin is the service account sspr binds as. It has only the
	// rights the guide lists (Reset Password and write lockoutTime on the
	// users of UsersOU).
	ServiceLogin    = "sspr-svc"
	ServiceDN       = "CN=" + ServiceLogin + ",CN=Users," + BaseDN
	ServicePassword = "Svc-Reset-Passw0rd-1"

	// The domain password policy the harness sets.
	HistoryLength    = 3
	MinLength        = 8
	LockoutThreshold = 3
)

// GUIDs of the rights granted to the service account (MS-ADTS 5.1.3.2.1
// and the schema): the Reset Password extended right, the lockoutTime
// attribute, and the user class the two inheritable ACEs apply to.
const (
	ResetPasswordRight = "00299570-246d-11d0-a768-00aa006e0529"
	LockoutTimeAttr    = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
	UserClass          = "bf967aba-0de6-11d0-a285-00aa003049e2"
)

// ServiceACEs is the SDDL of the two ACEs set on UsersOU for the service
// account whose SID is sid: control access "Reset Password" and read and
// write lockoutTime, inherited by user objects only (CIIO with the user
// class as inherited object type).
func ServiceACEs(sid string) string {
	return fmt.Sprintf("(OA;CIIO;CR;%s;%s;%s)(OA;CIIO;RPWP;%s;%s;%s)",
		ResetPasswordRight, UserClass, sid, LockoutTimeAttr, UserClass, sid)
}

// DC is a running Samba AD domain controller.
type DC struct {
	// Addr is the loopback address Samba listens on.
	Addr string
	// Host is the DC's host name (random, so a server of another domain
	// answering on Addr is told apart).
	Host string
	// Dir holds the provisioned domain, the TLS files and the logs.
	Dir string
	// CAFile is the PEM of the CA that issued the server certificate.
	CAFile string
	// CAPool holds the same CA for a tls.Config.
	CAPool *x509.CertPool

	conf  string
	log   string
	out   string
	stdin *os.File // write end of samba's stdin: closing it stops samba
	// janitor is the write end of the cleanup shell's stdin.
	janitor *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	seq    int
}

// LDAPSURL is the ldaps:// URL of the DC.
func (dc *DC) LDAPSURL() string { return "ldaps://" + net.JoinHostPort(dc.Addr, "636") }

// LDAPURL is the ldap:// URL of the DC, for StartTLS (a simple bind
// without TLS is refused: Samba requires transport encryption).
func (dc *DC) LDAPURL() string { return "ldap://" + net.JoinHostPort(dc.Addr, "389") }

// TLSConfig trusts the harness CA and checks the address in the server
// certificate, as a real client would.
func (dc *DC) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: dc.CAPool, ServerName: dc.Addr, MinVersion: tls.VersionTLS12}
}

var (
	sharedOnce sync.Once
	shared     *DC
	sharedErr  error
)

// Shared starts the domain of this test binary on first use and returns
// it; later calls return the same one. A domain that cannot start fails t
// (never skips it): these tests exist to run against a real AD. Use Main
// in TestMain to stop it when the binary ends; without it, Samba still
// stops then, because its standard input closes.
func Shared(t testing.TB) *DC {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("samba AD DC: %v", sharedErr)
	}
	return shared
}

// Main runs the tests and then stops the shared domain, if one was started,
// and removes its directory. Call it as os.Exit(samba.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Start provisions a new domain in a temporary directory, seeds it and
// starts Samba. The caller stops it with Stop.
func Start() (*DC, error) {
	for _, bin := range []string{"samba", "samba-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found (%w): install the Debian packages samba and samba-common-bin", bin, err)
		}
	}
	dir, err := os.MkdirTemp("", "sspr-samba-")
	if err != nil {
		return nil, err
	}
	dc := &DC{Dir: dir, Host: "DC" + strings.ToUpper(randomHex(4))}
	ok := false
	defer func() {
		if !ok {
			dc.Stop()
		}
	}()
	if err := dc.startJanitor(); err != nil {
		return nil, err
	}
	if dc.Addr, err = freeAddress(); err != nil {
		return nil, err
	}
	if err := dc.provision(); err != nil {
		return nil, err
	}
	if err := dc.writeTLS(); err != nil {
		return nil, fmt.Errorf("TLS files: %w", err)
	}
	if err := dc.writeConf(); err != nil {
		return nil, err
	}
	if err := dc.seedOffline(); err != nil {
		return nil, err
	}
	if err := dc.start(); err != nil {
		return nil, err
	}
	ok = true
	return dc, nil
}

// startJanitor starts a shell that removes the domain's directory once
// this process has ended (its standard input, a pipe whose write end only
// we hold, then closes) and Samba has stopped too. Test binaries without
// a TestMain that calls Stop leave nothing behind that way.
func (dc *DC) startJanitor() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	pidFile := filepath.Join(dc.Dir, "domain", "samba.pid")
	script := `read _ ; p=$(cat "$1" 2>/dev/null); n=0; while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; rm -rf "$2"`
	cmd := exec.Command("sh", "-c", script, "janitor", pidFile, dc.Dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start the cleanup shell: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	dc.janitor = w
	return nil
}

// freeAddress picks a random loopback address on which nothing listens on
// the LDAP ports.
func freeAddress() (string, error) {
	for range 50 {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		if b[0] == 0 || b[2] == 0 || b[2] == 255 {
			continue
		}
		addr := net.IPv4(127, b[0], b[1], b[2]).String()
		free := true
		for _, port := range []string{"389", "636", "3268", "3269"} {
			l, err := net.Listen("tcp", net.JoinHostPort(addr, port))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return addr, nil
		}
	}
	return "", errors.New("no free loopback address for the LDAP ports (are we root? Samba needs ports 389 and 636)")
}

// provision creates the domain database (about 5-10 s).
func (dc *DC) provision() error {
	out, err := exec.Command("samba-tool", "domain", "provision",
		"--targetdir="+filepath.Join(dc.Dir, "domain"),
		"--realm="+Realm, "--domain="+Domain, "--host-name="+dc.Host,
		"--adminpass="+AdminPassword,
		"--server-role=dc", "--dns-backend=NONE",
		"--option=interfaces="+dc.Addr+"/8", "--option=bind interfaces only=yes",
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("samba-tool domain provision: %w\n%s", err, tail(string(out), 30))
	}
	return nil
}

// writeConf writes the smb.conf Samba runs with: only the LDAP service,
// everything in the temporary directory, our own TLS files. "old password
// allowed period = 0" makes a reset cut off the previous password at once:
// by default Samba (like Windows for NTLM) accepts it for 60 more minutes
// for network logons, LDAP simple binds included.
func (dc *DC) writeConf() error {
	d := filepath.Join(dc.Dir, "domain")
	dc.conf = filepath.Join(d, "etc", "smb.conf")
	dc.log = filepath.Join(dc.Dir, "log.samba")
	dc.out = filepath.Join(dc.Dir, "samba.out")
	conf := fmt.Sprintf(`[global]
	workgroup = %s
	realm = %s
	netbios name = %s
	server role = active directory domain controller
	server services = ldap
	interfaces = %s/8
	bind interfaces only = yes
	private dir = %[5]s/private
	state directory = %[5]s/state
	cache directory = %[5]s/cache
	lock directory = %[5]s
	pid directory = %[5]s
	ncalrpc dir = %[5]s/ncalrpc
	binddns dir = %[5]s/bind-dns
	log file = %[6]s
	log level = 1
	max log size = 0
	old password allowed period = 0
	tls enabled = yes
	tls keyfile = %[7]s/key.pem
	tls certfile = %[7]s/cert.pem
	tls cafile = %[7]s/ca.pem
`, Domain, Realm, dc.Host, dc.Addr, d, dc.log, filepath.Join(dc.Dir, "tls"))
	return os.WriteFile(dc.conf, []byte(conf), 0o600)
}

// SambaTool runs samba-tool against the domain database directly (Samba
// may be running: ldb locks the database).
func (dc *DC) SambaTool(args ...string) (string, error) {
	args = append(args, "-H", "tdb://"+filepath.Join(dc.Dir, "domain", "private", "sam.ldb"), "-s", dc.conf)
	out, err := exec.Command("samba-tool", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("samba-tool %s: %w\n%s", strings.Join(args[:2], " "), err, tail(string(out), 20))
	}
	return string(out), nil
}

// passwordSettings are the options of "samba-tool domain passwordsettings
// set" for the domain policy: complexity, history, length and lockout.
var passwordSettings = []string{
	"--complexity=on",
	"--history-length=" + strconv.Itoa(HistoryLength),
	"--min-pwd-length=" + strconv.Itoa(MinLength),
	"--min-pwd-age=0", "--max-pwd-age=0",
	"--account-lockout-threshold=" + strconv.Itoa(LockoutThreshold),
	"--account-lockout-duration=30", "--reset-account-lockout-after=30",
}

var sidRE = regexp.MustCompile(`objectSid: (S-1-5-21-[0-9-]+)`)

// seedOffline sets the password policy, creates the users' OU and the
// service account, and grants it its two rights, with the same samba-tool
// commands the guide gives.
func (dc *DC) seedOffline() error {
	steps := [][]string{
		append([]string{"domain", "passwordsettings", "set"}, passwordSettings...),
		{"ou", "add", UsersOU},
		{"user", "create", ServiceLogin, ServicePassword, "--description=sspr service account"},
	}
	for _, s := range steps {
		if _, err := dc.SambaTool(s...); err != nil {
			return err
		}
	}
	out, err := dc.SambaTool("user", "show", ServiceLogin, "--attributes=objectSid")
	if err != nil {
		return err
	}
	m := sidRE.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("no objectSid for %s in:\n%s", ServiceLogin, out)
	}
	_, err = dc.SambaTool("dsacl", "set", "--objectdn="+UsersOU, "--sddl="+ServiceACEs(m[1]))
	return err
}

// start starts samba and waits until an LDAPS bind as Administrator works
// on our address against our DC.
func (dc *DC) start() error {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.cmd != nil {
		return errors.New("samba is already running")
	}
	dc.seq++
	out, err := os.OpenFile(dc.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	fmt.Fprintf(out, "---- start %d at %s\n", dc.seq, time.Now().Format(time.RFC3339Nano))
	// Samba in interactive mode stops when its standard input closes: the
	// pipe's write end stays with us, so Samba dies with the test binary
	// even if nothing calls Stop.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command("samba", "-i", "-M", "single", "-s", dc.conf)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, out, out
	// Its own process group, so Kill reaches every process it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("start samba: %w", err)
	}
	r.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	dc.cmd, dc.exited, dc.stdin = cmd, exited, w

	start := time.Now()
	deadline := start.Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			dc.reap()
			return fmt.Errorf("samba exited at start: %v\n%s", last, dc.logTailLocked())
		default:
		}
		if last = dc.probe(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	dc.killLocked()
	return fmt.Errorf("samba did not answer an LDAPS bind within 60s: %v\n%s", last, dc.logTailLocked())
}

// probe binds as Administrator over LDAPS and checks that the server is
// ours (its host name is in dsServiceName). Samba has no WhoAmI operation,
// so a base search of the rootDSE stands in for it.
func (dc *DC) probe() error {
	c, err := dc.dialAs(AdminUPN, AdminPassword, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=*)", []string{"dsServiceName"}, nil))
	if err != nil {
		return fmt.Errorf("rootDSE: %w", err)
	}
	if len(res.Entries) != 1 || !strings.Contains(res.Entries[0].GetAttributeValue("dsServiceName"), "CN="+dc.Host+",") {
		return fmt.Errorf("the server on %s is not %s", dc.Addr, dc.Host)
	}
	return nil
}

// Dial connects over LDAPS, trusting the harness CA, without binding.
func (dc *DC) Dial(timeout time.Duration) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	c, err := ldap.DialURL(dc.LDAPSURL(), ldap.DialWithTLSDialer(dc.TLSConfig(), d))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(timeout)
	return c, nil
}

// dialAs connects over LDAPS and binds as who (a DN, a UPN or
// DOMAIN\login) with password.
func (dc *DC) dialAs(who, password string, timeout time.Duration) (*ldap.Conn, error) {
	c, err := dc.Dial(timeout)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(who, password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Admin returns a connection bound as Administrator; the test closes it.
func (dc *DC) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := dc.dialAs(AdminUPN, AdminPassword, 10*time.Second)
	if err != nil {
		t.Fatalf("bind as Administrator: %v\n%s", err, dc.LogTail())
	}
	return c
}

// Bind reports whether who (a DN or a UPN) can bind with password over
// LDAPS: nil when it can, the server's error when it cannot.
func (dc *DC) Bind(who, password string) error {
	c, err := dc.dialAs(who, password, 10*time.Second)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// Running reports whether Samba is running.
func (dc *DC) Running() bool {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return dc.cmd != nil
}

// Kill kills Samba at once (its whole process group), as a crash would.
// The domain stays on disk; Restart brings it back.
func (dc *DC) Kill() {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.killLocked()
}

func (dc *DC) killLocked() {
	if dc.cmd == nil {
		return
	}
	_ = syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-dc.exited:
	case <-time.After(10 * time.Second):
	}
	dc.reap()
}

func (dc *DC) reap() {
	if dc.stdin != nil {
		dc.stdin.Close()
		dc.stdin = nil
	}
	dc.cmd = nil
}

// Restart starts Samba again on the same address with the same domain.
func (dc *DC) Restart() error { return dc.start() }

// Stop kills Samba and removes the domain's directory.
func (dc *DC) Stop() {
	dc.Kill()
	if dc.Dir != "" {
		_ = os.RemoveAll(dc.Dir)
	}
	if dc.janitor != nil {
		dc.janitor.Close()
		dc.janitor = nil
	}
}

// LogTail returns the end of Samba's log and output, for a failure message.
func (dc *DC) LogTail() string {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return dc.logTailLocked()
}

func (dc *DC) logTailLocked() string {
	var b strings.Builder
	for _, f := range []string{dc.out, dc.log} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "---- %s (last lines)\n%s\n", filepath.Base(f), tail(string(data), 40))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
