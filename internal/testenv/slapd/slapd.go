// Package slapd starts a private OpenLDAP server for tests: Debian's slapd
// on free loopback ports (ldap:// and ldaps://) in a temporary directory,
// with an mdb database, the ppolicy overlay, seeded people and a service
// account whose ACL allows only what a password reset needs.
//
// A missing slapd fails the test: these tests exist to run against the real
// server (install the slapd and ldap-utils packages; scripts/test.sh does).
package slapd

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/internal/testenv/testserver"
)

// The directory every server holds.
const (
	BaseDN = "dc=example,dc=com"
	// PeopleDN holds the seeded people.
	PeopleDN = "ou=people," + BaseDN
	// ServiceDN is the reset service account: not the rootdn, so the
	// password policy applies to what it does.
	ServiceDN       = "cn=sspr,ou=services," + BaseDN
	ServicePassword = "Service-Account-Passw0rd"
	// RootDN bypasses every ACL and the password policy; tests use it only
	// to arrange and inspect.
	RootDN       = "cn=admin," + BaseDN
	RootPassword = "Root-Passw0rd-Of-Tests"
	// PolicyDN is the default password policy.
	PolicyDN = "cn=default,ou=policies," + BaseDN
	// GroupDN is a group alice belongs to (memberOf on her entry).
	GroupDN = "cn=helpdesk-admins,ou=groups," + BaseDN
	// InitialPassword is every seeded person's password.
	InitialPassword = "Initial-Passw0rd-2026"
	// The password policy.
	MinLength  = 12
	InHistory  = 3
	MaxFailure = 3
	// LockedTime marks dave as locked after failed sign-ins; carol carries
	// DisabledTime, ppolicy's "locked by an administrator for good".
	LockedTime   = "20260101000000Z"
	DisabledTime = "000001010000Z"
)

// SSHKeyAttribute holds SSH public keys (the openssh-lpk schema, loaded
// into every server; add the ldapPublicKey class to an entry to use it).
const SSHKeyAttribute = "sshPublicKey"

//go:embed openssh-lpk.schema
var opensshLPK []byte

// TOTPAttribute holds the seeded authenticator secrets (no standard
// attribute exists; employeeNumber is unused here).
const TOTPAttribute = "employeeNumber"

// Person is one seeded entry under PeopleDN.
type Person struct {
	UID, CN, Mail, Mobile, Office string
	// TOTP is held in TOTPAttribute, plain, as a directory written before
	// secrets were sealed holds it.
	TOTP string
	// LockedTime is pwdAccountLockedTime, when set.
	LockedTime string
	Groups     []string
}

// People are seeded in every server. alice and bob are ordinary, carol is
// disabled, dave is locked, and the twins share one mail address.
var People = []Person{
	{UID: "alice", CN: "Alice Archer", Mail: "alice@example.com", Mobile: "+1 212 555 0101", Office: "+1 212 555 0191", TOTP: "JBSWY3DPEHPK3PXP", Groups: []string{GroupDN}},
	{UID: "bob", CN: "Bob Baker", Mail: "bob@example.com", Mobile: "+1 212 555 0102", Office: "+1 212 555 0192"},
	{UID: "carol", CN: "Carol Cooper", Mail: "carol@example.com", Mobile: "+1 212 555 0103", LockedTime: DisabledTime},
	{UID: "dave", CN: "Dave Dyer", Mail: "dave@example.com", Mobile: "+1 212 555 0104", LockedTime: LockedTime},
	{UID: "twin1", CN: "Twin One", Mail: "twins@example.com", Mobile: "+1 212 555 0105"},
	{UID: "twin2", CN: "Twin Two", Mail: "twins@example.com", Mobile: "+1 212 555 0106"},
}

// UserDN is the DN of the seeded person uid.
func UserDN(uid string) string { return "uid=" + uid + "," + PeopleDN }

// Server is one running slapd. It is killed when the test ends.
type Server struct {
	// URL is ldap://127.0.0.1:port (StartTLS works on it); LDAPSURL is
	// ldaps://127.0.0.1:port.
	URL, LDAPSURL string
	// CAFile is the CA that signed the server's certificate (SANs
	// IP:127.0.0.1 and localhost). ClientCertFile and ClientKeyFile are a
	// client certificate from the same CA, which slapd accepts (and
	// demands with Options.RequireClientCert).
	CAFile, ClientCertFile, ClientKeyFile string
	// Dir is the server's private directory (config, database, certs).
	Dir string
	// LDAPIURL is the ldapi:// socket, with Options.ConfigAccess.
	LDAPIURL string

	t       testing.TB
	opts    Options
	port    int
	tlsPort int
	confDir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{}
	out    *testserver.SyncBuffer
}

// Options change the server a test gets.
type Options struct {
	// RequireClientCert makes slapd refuse TLS clients without a
	// certificate from the harness CA (TLSVerifyClient demand).
	RequireClientCert bool
	// ACL replaces the access rules of the database (slapd.conf syntax);
	// empty means ACL.
	ACL string
	// ConfigAccess opens cn=config to this process's user over an ldapi://
	// socket (SASL EXTERNAL), at LDAPIURL, so a test can change the
	// configuration with ldapmodify as an administrator would.
	ConfigAccess bool
}

// Start builds a fresh directory and starts slapd on free loopback ports.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	for _, tool := range []string{"slapd", "slaptest", "slapadd"} {
		if _, err := lookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): these tests need a real OpenLDAP; install the slapd and ldap-utils packages (scripts/test.sh does)", tool, err)
		}
	}
	s := &Server{t: t, Dir: t.TempDir(), opts: opts}
	if opts.ConfigAccess {
		// A socket path has a short limit; t.TempDir's can be long.
		sock, err := os.MkdirTemp("", "slapd")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(sock) })
		s.LDAPIURL = "ldapi://" + strings.ReplaceAll(filepath.Join(sock, "ldapi"), "/", "%2F")
	}
	s.confDir = filepath.Join(s.Dir, "slapd.d")
	if err := s.build(); err != nil {
		t.Fatalf("slapd: building the directory: %v", err)
	}
	t.Cleanup(s.Kill)
	// A free port can be taken between finding it and binding it; try again.
	for attempt := 0; ; attempt++ {
		s.port, s.tlsPort = FreePort(t), FreePort(t)
		s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", s.port)
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", s.tlsPort)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("slapd: %v\n%s", err, s.out)
		}
	}
}

// lookPath finds a tool in PATH or in /usr/sbin, where Debian puts slapd.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", tool)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// modulePath is where Debian installs the overlays.
const modulePath = "/usr/lib/ldap"

// build writes slapd.conf, seeds the database with slapadd and converts the
// configuration to cn=config with slaptest.
func (s *Server) build() error {
	if err := s.writeCerts(); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	db := filepath.Join(s.Dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(s.confDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "openssh-lpk.schema"), opensshLPK, 0o600); err != nil {
		return err
	}
	conf := filepath.Join(s.Dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(s.config(db)), 0o600); err != nil {
		return err
	}
	// slapadd first: slaptest opens the database, which must exist.
	seed := filepath.Join(s.Dir, "seed.ldif")
	if err := os.WriteFile(seed, []byte(seedLDIF()), 0o600); err != nil {
		return err
	}
	if out, err := run("slapadd", "-f", conf, "-b", BaseDN, "-l", seed); err != nil {
		return fmt.Errorf("slapadd: %w\n%s", err, out)
	}
	if out, err := run("slaptest", "-f", conf, "-F", s.confDir); err != nil {
		return fmt.Errorf("slaptest: %w\n%s", err, out)
	}
	return nil
}

func run(tool string, args ...string) ([]byte, error) {
	p, err := lookPath(tool)
	if err != nil {
		return nil, err
	}
	return exec.Command(p, args...).CombinedOutput()
}

// ACL is the access list of the directory, as docs/LDAP.md gives it: the
// service account may write userPassword (not read it),
// pwdAccountLockedTime and, under the people, the TOTP attribute (read and
// write, for `sspr users totp`; nobody else may read it), and read the
// people; a person may bind and change their own password.
const ACL = `access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword
  by dn.exact="` + ServiceDN + `" =w
  by self write
  by anonymous auth
  by * none
access to attrs=pwdAccountLockedTime
  by dn.exact="` + ServiceDN + `" write
  by * none
access to dn.subtree="` + PeopleDN + `" attrs=` + TOTPAttribute + `
  by dn.exact="` + ServiceDN + `" write
  by * none
access to dn.subtree="` + PeopleDN + `"
  by dn.exact="` + ServiceDN + `" read
  by self read
  by * break
access to * by * none
`

func (s *Server) config(db string) string {
	verify := "try"
	if s.opts.RequireClientCert {
		verify = "demand"
	}
	acl := s.opts.ACL
	if acl == "" {
		acl = ACL
	}
	configDB := ""
	if s.opts.ConfigAccess {
		configDB = fmt.Sprintf("database config\naccess to * by dn.exact=\"gidNumber=%d+uidNumber=%d,cn=peercred,cn=external,cn=auth\" manage by * none\n",
			os.Getgid(), os.Getuid())
	}
	return fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include %s
modulepath %s
moduleload back_mdb.so
moduleload ppolicy.so
moduleload memberof.so
pidfile %s
TLSCACertificateFile %s
TLSCertificateFile %s
TLSCertificateKeyFile %s
TLSVerifyClient %s
%sdatabase mdb
maxsize 33554432
suffix "%s"
rootdn "%s"
rootpw %s
directory %s
index objectClass eq
index uid,mail eq
overlay memberof
overlay ppolicy
ppolicy_default "%s"
ppolicy_use_lockout
%s`, filepath.Join(s.Dir, "openssh-lpk.schema"), modulePath, filepath.Join(s.Dir, "slapd.pid"),
		filepath.Join(s.Dir, "ca.pem"), filepath.Join(s.Dir, "server.pem"), filepath.Join(s.Dir, "server.key"), verify,
		configDB, BaseDN, RootDN, RootPassword, db, PolicyDN, acl)
}

// ssha hashes a password as {SSHA}, slapd's default scheme.
func ssha(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

func seedLDIF() string {
	var b strings.Builder
	fmt.Fprintf(&b, `dn: %s
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=services,%[1]s
objectClass: organizationalUnit
ou: services

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: %[2]s
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: %[3]d
pwdInHistory: %[4]d
pwdCheckQuality: 2
pwdLockout: TRUE
pwdMaxFailure: %[5]d
pwdLockoutDuration: 0
pwdAllowUserChange: TRUE

dn: %[6]s
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: sspr
userPassword: %[7]s

`, BaseDN, PolicyDN, MinLength, InHistory, MaxFailure, ServiceDN, ssha(ServicePassword))
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: helpdesk-admins\n", GroupDN)
	for _, p := range People {
		for _, g := range p.Groups {
			if g == GroupDN {
				fmt.Fprintf(&b, "member: %s\n", UserDN(p.UID))
			}
		}
	}
	b.WriteString("\n")
	for _, p := range People {
		sn := p.CN[strings.LastIndexByte(p.CN, ' ')+1:]
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\ndisplayName: %s\nmail: %s\nuserPassword: %s\n",
			UserDN(p.UID), p.UID, p.CN, sn, p.CN, p.Mail, ssha(InitialPassword))
		if p.Mobile != "" {
			fmt.Fprintf(&b, "mobile: %s\n", p.Mobile)
		}
		if p.Office != "" {
			fmt.Fprintf(&b, "telephoneNumber: %s\n", p.Office)
		}
		if p.TOTP != "" {
			fmt.Fprintf(&b, "%s: %s\n", TOTPAttribute, p.TOTP)
		}
		if p.LockedTime != "" {
			fmt.Fprintf(&b, "pwdAccountLockedTime: %s\n", p.LockedTime)
		}
		for _, g := range p.Groups {
			fmt.Fprintf(&b, "memberOf: %s\n", g)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// start runs slapd in the foreground on s.port and s.tlsPort and waits
// until it answers on both.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bin, err := lookPath("slapd")
	if err != nil {
		return err
	}
	s.out = &testserver.SyncBuffer{}
	// -d 0 keeps slapd in the foreground (a child the test can kill)
	// without debug output.
	urls := fmt.Sprintf("ldap://127.0.0.1:%d/ ldaps://127.0.0.1:%d/", s.port, s.tlsPort)
	if s.LDAPIURL != "" {
		urls += " " + s.LDAPIURL + "/"
	}
	cmd := exec.Command(bin, "-d", "0", "-F", s.confDir, "-h", urls)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	exited, err := testserver.Start(cmd, 15*time.Second, 20*time.Millisecond, func() (bool, error) { return s.answers(), nil })
	if err != nil {
		return fmt.Errorf("slapd: %w", err)
	}
	s.cmd, s.exited = cmd, exited
	return nil
}

// answers reports whether both listeners serve the root DSE.
func (s *Server) answers() bool {
	for _, u := range []string{s.URL, s.LDAPSURL} {
		c, err := s.dial(u)
		if err != nil {
			return false
		}
		_, err = c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 2, false, "(objectClass=*)", []string{"namingContexts"}, nil))
		c.Close()
		if err != nil {
			return false
		}
	}
	return true
}

// TLSConfig trusts the harness CA.
func (s *Server) TLSConfig() *tls.Config {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func (s *Server) dial(url string) (*ldap.Conn, error) {
	tc := s.TLSConfig()
	if s.opts.RequireClientCert {
		cert, err := tls.LoadX509KeyPair(s.ClientCertFile, s.ClientKeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(5 * time.Second)
	return c, nil
}

// Kill ends slapd with SIGKILL, as a crash would, and waits until the
// process is gone (an exited slapd lingers briefly before it is reaped).
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a frozen slapd too
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.t.Errorf("slapd (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
	s.cmd = nil
}

// Stop ends slapd with SIGTERM, as an operator would, and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.killLocked()
	}
	s.cmd = nil
}

// Restart starts slapd again on the same ports with the same data, after
// Kill or Stop. The ports may take a moment to be free again.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.t.Fatalf("restart slapd: %v\n%s", err, s.out)
}

// Freeze stops slapd with SIGSTOP: its sockets stay open and connections
// are still accepted by the kernel, but nothing answers (a hung server).
func (s *Server) Freeze() {
	s.signal(syscall.SIGSTOP)
	// The signal is delivered asynchronously: wait until every thread is
	// stopped ("T" in /proc/PID/task/*/stat).
	s.mu.Lock()
	pid := 0
	if s.cmd != nil {
		pid = s.cmd.Process.Pid
	}
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for pid != 0 && time.Now().Before(deadline) {
		if allStopped(pid) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func allStopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			return false
		}
		// The state follows the command name in parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// Thaw resumes a frozen slapd.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Running reports whether slapd is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Log is what slapd wrote to its standard error.
func (s *Server) Log() string { return s.out.String() }

// Addr is the host:port of the ldap:// listener.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Bind tries a simple bind as dn with password and returns the server's
// answer: nil when the password is right.
func (s *Server) Bind(dn, password string) error {
	c, err := s.dial(s.URL)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Bind(dn, password)
}

// CanBind reports whether dn binds with password.
func (s *Server) CanBind(dn, password string) bool { return s.Bind(dn, password) == nil }

// Root is a connection bound as the rootdn, closed when the test ends.
func (s *Server) Root() *ldap.Conn {
	s.t.Helper()
	c, err := s.dial(s.URL)
	if err != nil {
		s.t.Fatalf("slapd: dial: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	if err := c.Bind(RootDN, RootPassword); err != nil {
		s.t.Fatalf("slapd: root bind: %v", err)
	}
	return c
}

// Attr reads attr of dn as the rootdn (operational attributes included).
func (s *Server) Attr(dn, attr string) []string {
	s.t.Helper()
	res, err := s.Root().Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false, "(objectClass=*)", []string{attr}, nil))
	if err != nil {
		s.t.Fatalf("slapd: read %s of %s: %v", attr, dn, err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0].GetAttributeValues(attr)
}

// Modify applies one change to dn as the rootdn.
func (s *Server) Modify(dn string, change func(*ldap.ModifyRequest)) {
	s.t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	change(req)
	if err := s.Root().Modify(req); err != nil {
		s.t.Fatalf("slapd: modify %s: %v", dn, err)
	}
}

// Add adds a person like the seeded ones, as the rootdn.
func (s *Server) Add(p Person) {
	s.t.Helper()
	req := ldap.NewAddRequest(UserDN(p.UID), nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{p.UID})
	req.Attribute("cn", []string{p.CN})
	req.Attribute("sn", []string{p.CN})
	req.Attribute("userPassword", []string{ssha(InitialPassword)})
	if p.Mail != "" {
		req.Attribute("mail", []string{p.Mail})
	}
	if p.Mobile != "" {
		req.Attribute("mobile", []string{p.Mobile})
	}
	if p.TOTP != "" {
		req.Attribute(TOTPAttribute, []string{p.TOTP})
	}
	if err := s.Root().Add(req); err != nil {
		s.t.Fatalf("slapd: add %s: %v", p.UID, err)
	}
}

// FreePort returns a loopback port that is free now and that this test
// binary has not handed out before.
func FreePort(t testing.TB) int {
	t.Helper()
	return testserver.FreePort(t)
}
