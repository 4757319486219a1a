package ldap_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/samba"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/ldap"
)

// The tests in this file run against a real Active Directory: a Samba AD
// domain controller that internal/testenv/samba provisions once for this
// test binary. Each test adds its own users, so they share the domain.

// adFilter is the filter docs/ACTIVE-DIRECTORY.md gives.
const adFilter = "(|(sAMAccountName={login})(userPrincipalName={login})(mail={login}))"

// adConfig is the configuration of the guide for dc: LDAPS, the service
// account with only the reset and lockoutTime rights, the users' OU.
func adConfig(dc *samba.DC) ldap.Config {
	c := ldap.Default()
	c.URLs = []string{dc.LDAPSURL()}
	c.CAFile = dc.CAFile
	c.BindDN = samba.ServiceDN
	c.BindPassword = config.InlineSecret(samba.ServicePassword)
	c.BaseDN = samba.UsersOU
	c.UserFilter = adFilter
	c.Flavor = ldap.FlavorAD
	c.ConnectTimeout = 2 * time.Second
	c.Timeout = 5 * time.Second
	return c
}

func adDirectory(t *testing.T, cfg ldap.Config) (*ldap.Directory, *testserver.SyncBuffer) {
	t.Helper()
	log := &testserver.SyncBuffer{}
	d, err := ldap.New(cfg, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("ldap.New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, log
}

func adLookup(t *testing.T, d *ldap.Directory, login string) flow.User {
	t.Helper()
	u, err := d.LookupUser(context.Background(), login)
	if err != nil {
		t.Fatalf("LookupUser(%q): %v", login, err)
	}
	return u
}

// mustBind fails the test unless who binds with password.
func mustBind(t *testing.T, dc *samba.DC, who, password, what string) {
	t.Helper()
	if err := dc.Bind(who, password); err != nil {
		t.Fatalf("%s: bind failed: %v", what, err)
	}
}

// mustNotBind fails the test unless the bind is refused with the AD data
// code want (52e wrong password, 775 locked, 533 disabled).
func mustNotBind(t *testing.T, dc *samba.DC, who, password, want, what string) {
	t.Helper()
	err := dc.Bind(who, password)
	if err == nil {
		t.Fatalf("%s: bind worked", what)
	}
	if got := samba.BindError(err); got != want {
		t.Fatalf("%s: bind refused with %v (data %q), want data %s", what, err, got, want)
	}
}

func TestADLookupBySAMAccountNameUPNAndMail(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("lookup"))
	d, _ := adDirectory(t, adConfig(dc))

	for _, login := range []string{u.Login, u.UPN, u.Mail, strings.ToUpper(u.Login)} {
		got := adLookup(t, d, login)
		want := flow.User{
			ID: u.DN, Login: u.Login, DisplayName: u.Given + " " + u.Surname,
			Email: u.Mail, Mobile: u.Mobile, Office: u.Telephone,
		}
		if !strings.EqualFold(got.ID, want.ID) || got.Login != want.Login || got.DisplayName != want.DisplayName ||
			got.Email != want.Email || got.Mobile != want.Mobile || got.Office != want.Office ||
			got.Disabled || got.Locked || got.TOTPSecret != "" {
			t.Errorf("LookupUser(%q) = %+v, want %+v", login, got, want)
		}
	}
	if _, err := d.LookupUser(context.Background(), "nobody-"+u.Login); !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("unknown login: %v, want flow.ErrUnknownUser", err)
	}
	// Accounts outside base_dn are not found: the service account itself
	// lives in CN=Users.
	if _, err := d.LookupUser(context.Background(), samba.ServiceLogin); !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("account outside base_dn: %v, want flow.ErrUnknownUser", err)
	}
}

func TestADLookupReadsGroups(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("grouped"))
	admin := dc.Admin(t)
	defer admin.Close()
	group := "CN=Helpdesk-" + u.Login + "," + samba.UsersOU
	add := goldap.NewAddRequest(group, nil)
	add.Attribute("objectClass", []string{"top", "group"})
	add.Attribute("sAMAccountName", []string{"helpdesk-" + u.Login})
	add.Attribute("member", []string{u.DN})
	if err := admin.Add(add); err != nil {
		t.Fatalf("add group: %v", err)
	}
	d, _ := adDirectory(t, adConfig(dc))
	got := adLookup(t, d, u.Login)
	if len(got.Groups) != 1 || !strings.EqualFold(got.Groups[0], group) {
		t.Fatalf("groups = %q, want [%s]", got.Groups, group)
	}
}

func TestADInjectionInTheLoginFindsNobody(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("inject"))
	dc.AddUser(t, samba.NewUser("inject"))
	d, _ := adDirectory(t, adConfig(dc))
	for _, login := range []string{
		"*",
		"inject*",
		u.Login[:len(u.Login)-1] + "*",
		"*)(sAMAccountName=*",
		u.Login + ")(|(sAMAccountName=*",
		"*))(|(objectClass=*",
		`\2a`,
		"(" + u.Login + ")",
		strings.Repeat("a", 600),
	} {
		got, err := d.LookupUser(context.Background(), login)
		if !errors.Is(err, flow.ErrUnknownUser) {
			t.Errorf("LookupUser(%q) = %+v, %v; want flow.ErrUnknownUser", login, got, err)
		}
	}
	// AD compares values as C strings, so a login cut by a NUL byte would
	// match the account named by what comes before it: the provider
	// refuses any control character before it asks.
	for _, login := range []string{u.Login + "\x00*", u.Login + "\x00", u.Login + "\n"} {
		if got, err := d.LookupUser(context.Background(), login); !errors.Is(err, flow.ErrUnknownUser) {
			t.Errorf("LookupUser(%q) = %+v, %v; want flow.ErrUnknownUser", login, got, err)
		}
	}
}

// testReset sets a password as the service account and proves it with
// binds: the new password works, the old one is refused.
func testReset(t *testing.T, cfg ldap.Config, dc *samba.DC, prefix string) {
	u := dc.AddUser(t, samba.NewUser(prefix))
	d, log := adDirectory(t, cfg)
	fu := adLookup(t, d, u.Login)
	const newPassword = "Brand-New-Passw0rd-5"
	if err := d.SetPassword(context.Background(), fu, newPassword); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	mustBind(t, dc, u.DN, newPassword, "new password (DN)")
	mustBind(t, dc, u.UPN, newPassword, "new password (UPN)")
	mustNotBind(t, dc, u.DN, u.Password, "52e", "old password")
	if strings.Contains(log.String(), newPassword) || strings.Contains(log.String(), samba.ServicePassword) {
		t.Fatalf("a password is in the log:\n%s", log)
	}
}

func TestADResetOverLDAPSThenBind(t *testing.T) {
	dc := samba.Shared(t)
	testReset(t, adConfig(dc), dc, "ldaps")
}

func TestADResetOverStartTLSThenBind(t *testing.T) {
	dc := samba.Shared(t)
	cfg := adConfig(dc)
	cfg.URLs = []string{dc.LDAPURL()}
	cfg.StartTLS = true
	testReset(t, cfg, dc, "starttls")
}

func TestADPolicyRefusals(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("refused"))
	d, log := adDirectory(t, adConfig(dc))
	fu := adLookup(t, d, u.Login)

	for _, c := range []struct {
		name, password string
	}{
		{"too short", "Ab1-xyz"},
		{"not complex", "alllowercaseletters"},
		{"two kinds of character", "lowercase-and-symbols"},
	} {
		err := d.SetPassword(context.Background(), fu, c.password)
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Reason != flow.ReasonDirectoryRefused {
			t.Fatalf("%s: SetPassword = %v, want a *flow.Error with ReasonDirectoryRefused", c.name, err)
		}
		if !strings.Contains(fe.Detail, "0000052D") {
			t.Errorf("%s: Detail %q lacks the AD code 0000052D", c.name, fe.Detail)
		}
		if strings.Contains(fe.Message, "0000052D") || strings.Contains(strings.ToLower(fe.Message), "constraint") || fe.Message == "" {
			t.Errorf("%s: Message %q is not plain words", c.name, fe.Message)
		}
		if strings.Contains(fe.Message+fe.Detail+err.Error(), c.password) {
			t.Errorf("%s: the refused password is in the error", c.name)
		}
		t.Logf("%s: rule %s, message %q, detail %q", c.name, fe.Rule, fe.Message, fe.Detail)
		mustBind(t, dc, u.DN, u.Password, c.name+": old password after the refusal")
	}
	if strings.Contains(log.String(), "alllowercaseletters") {
		t.Fatalf("a refused password is in the log:\n%s", log)
	}
}

// TestADHistoryOnReset records whether the domain's password history holds
// for a reset by the service account. Windows Server (with the policy
// hints control, which it lists in supportedControl) and Samba 4.24 and
// later refuse a recent password; Samba before 4.24 lists no such control
// and skips the history on every reset.
func TestADHistoryOnReset(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("history"))
	d, _ := adDirectory(t, adConfig(dc))
	fu := adLookup(t, d, u.Login)
	if err := d.SetPassword(context.Background(), fu, "Second-Passw0rd-2"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	err := d.SetPassword(context.Background(), fu, u.Password)

	admin := dc.Admin(t)
	defer admin.Close()
	res, serr := admin.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=*)", []string{"supportedControl"}, nil))
	if serr != nil {
		t.Fatal(serr)
	}
	hints := false
	for _, oid := range res.Entries[0].GetAttributeValues("supportedControl") {
		hints = hints || oid == "1.2.840.113556.1.4.2239" || oid == "1.2.840.113556.1.4.2066"
	}
	t.Logf("policy hints control listed: %v; reset to a password in the history: %v", hints, err)
	if hints {
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Reason != flow.ReasonDirectoryRefused {
			t.Fatalf("the server lists the policy hints control, yet a reset to a password in the history gave %v", err)
		}
		mustBind(t, dc, u.DN, "Second-Passw0rd-2", "password after the history refusal")
		return
	}
	if err != nil {
		t.Fatalf("no policy hints control, yet the reset to an old password failed: %v", err)
	}
	mustBind(t, dc, u.DN, u.Password, "old password set again")
}

func TestADDisabledAndLockedAccounts(t *testing.T) {
	dc := samba.Shared(t)
	dis := samba.NewUser("disabled")
	dis.Disabled = true
	dis = dc.AddUser(t, dis)
	locked := dc.AddUser(t, samba.NewUser("locked"))
	dc.LockOut(t, locked)
	d, _ := adDirectory(t, adConfig(dc))

	if got := adLookup(t, d, dis.Login); !got.Disabled || got.Locked {
		t.Errorf("disabled user: Disabled=%v Locked=%v, want true false", got.Disabled, got.Locked)
	}
	if got := adLookup(t, d, locked.Login); got.Disabled || !got.Locked {
		t.Errorf("locked user: Disabled=%v Locked=%v, want false true", got.Disabled, got.Locked)
	}
	// Unlock refuses a disabled account: enabling it is for an administrator.
	fu := adLookup(t, d, dis.Login)
	if err := d.Unlock(context.Background(), fu); err == nil {
		t.Error("Unlock of a disabled account worked")
	}
	mustNotBind(t, dc, dis.DN, dis.Password, "533", "disabled user")
}

func TestADResetLiftsTheLockout(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("resetlock"))
	dc.LockOut(t, u)
	d, _ := adDirectory(t, adConfig(dc))
	fu := adLookup(t, d, u.Login)
	if !fu.Locked {
		t.Fatal("not seen as locked")
	}
	const newPassword = "Unlocked-Passw0rd-8"
	if err := d.SetPassword(context.Background(), fu, newPassword); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if dc.Locked(t, u) {
		t.Fatalf("still locked after the reset (lockoutTime %s)", dc.Attr(t, u.DN, "lockoutTime"))
	}
	mustBind(t, dc, u.DN, newPassword, "new password after the reset of a locked account")
	if adLookup(t, d, u.Login).Locked {
		t.Fatal("lookup still says locked")
	}
}

func TestADResetWithoutUnlock(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("keeplock"))
	dc.LockOut(t, u)
	cfg := adConfig(dc)
	cfg.UnlockOnReset = false
	d, _ := adDirectory(t, cfg)
	fu := adLookup(t, d, u.Login)
	const newPassword = "Still-Locked-Passw0rd-4"
	if err := d.SetPassword(context.Background(), fu, newPassword); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if !dc.Locked(t, u) {
		t.Fatal("unlock_on_reset is off, yet the lockout was lifted")
	}
	mustNotBind(t, dc, u.DN, newPassword, "775", "new password while still locked")
}

func TestADUnlockKeepsThePassword(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("unlock"))
	dc.LockOut(t, u)
	mustNotBind(t, dc, u.DN, u.Password, "775", "right password while locked")
	d, _ := adDirectory(t, adConfig(dc))
	fu := adLookup(t, d, u.Login)
	if err := d.Unlock(context.Background(), fu); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if dc.Locked(t, u) {
		t.Fatal("still locked after Unlock")
	}
	if n := dc.Attr(t, u.DN, "badPwdCount"); n != "0" {
		t.Fatalf("badPwdCount after Unlock: %q, want 0", n)
	}
	mustBind(t, dc, u.DN, u.Password, "password after Unlock")
	// Unlocking an account that is not locked is no error.
	if err := d.Unlock(context.Background(), adLookup(t, d, u.Login)); err != nil {
		t.Fatalf("Unlock of an unlocked account: %v", err)
	}
}

func TestADServiceAccountCannotResetOutsideItsOU(t *testing.T) {
	dc := samba.Shared(t)
	cfg := adConfig(dc)
	cfg.BaseDN = samba.BaseDN // wide enough to find Administrator
	d, _ := adDirectory(t, cfg)
	admin := adLookup(t, d, "Administrator")
	err := d.SetPassword(context.Background(), admin, "Taken-Over-Passw0rd-1")
	if err == nil {
		t.Fatal("the service account reset Administrator's password")
	}
	t.Logf("reset without the right: %v", err)
	if flow.ReasonOf(err) == flow.ReasonDirectoryRefused {
		t.Fatalf("no right to reset is not a policy refusal: %v", err)
	}
	if !strings.Contains(err.Error(), "Insufficient Access Rights") {
		t.Fatalf("error %v does not say access was refused", err)
	}
	mustBind(t, dc, samba.AdminUPN, samba.AdminPassword, "Administrator after the refused reset")
}

// blackhole accepts connections and never answers, as a host whose LDAP
// server hangs would.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestADFailoverToTheSecondURL(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("failover"))
	for _, first := range []struct{ name, url string }{
		{"refused", "ldaps://" + closedPort(t)},
		{"hanging", "ldaps://" + blackhole(t)},
	} {
		t.Run(first.name, func(t *testing.T) {
			cfg := adConfig(dc)
			cfg.URLs = []string{first.url, dc.LDAPSURL()}
			cfg.ConnectTimeout = time.Second // the least connect_timeout allows
			d, _ := adDirectory(t, cfg)
			start := time.Now()
			fu := adLookup(t, d, u.Login)
			took := time.Since(start)
			t.Logf("lookup with the first URL %s: %v", first.name, took)
			if took > 3*time.Second {
				t.Errorf("failover took %v", took)
			}
			password := "Failover-Passw0rd-" + first.name
			if err := d.SetPassword(context.Background(), fu, password); err != nil {
				t.Fatalf("SetPassword via the second URL: %v", err)
			}
			mustBind(t, dc, u.DN, password, "password set via the second URL")
		})
	}
}

func TestADServerKilledAndRestarted(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("restart"))
	d, _ := adDirectory(t, adConfig(dc))
	fu := adLookup(t, d, u.Login) // a pooled, bound connection now exists

	dc.Kill()
	restarted := false
	defer func() {
		if !restarted {
			if err := dc.Restart(); err != nil {
				t.Errorf("restart samba: %v", err)
			}
		}
	}()
	for _, op := range []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"lookup", func(ctx context.Context) error { _, err := d.LookupUser(ctx, u.Login); return err }},
		{"set password", func(ctx context.Context) error { return d.SetPassword(ctx, fu, "While-Down-Passw0rd-1") }},
	} {
		start := time.Now()
		err := op.fn(context.Background())
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s with Samba killed worked", op.name)
		}
		if flow.ReasonOf(err) == flow.ReasonDirectoryRefused || errors.Is(err, flow.ErrUnknownUser) {
			t.Fatalf("%s with Samba killed: %v, want an unavailability error", op.name, err)
		}
		t.Logf("%s with Samba killed: %v after %v", op.name, err, took)
		if took > 3*time.Second {
			t.Errorf("%s took %v to fail", op.name, took)
		}
	}

	if err := dc.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	got := adLookup(t, d, u.Login)
	if !strings.EqualFold(got.ID, u.DN) {
		t.Fatalf("lookup after restart: %+v", got)
	}
	const newPassword = "After-Restart-Passw0rd-3"
	if err := d.SetPassword(context.Background(), got, newPassword); err != nil {
		t.Fatalf("SetPassword after restart: %v", err)
	}
	mustBind(t, dc, u.DN, newPassword, "password set after the restart")
}

// TestADResetTime measures a lookup plus a reset against Samba, the way a
// session does them, on a warm pool.
func TestADResetTime(t *testing.T) {
	dc := samba.Shared(t)
	const n = 20
	users := make([]samba.User, n)
	for i := range users {
		users[i] = dc.AddUser(t, samba.NewUser("timed"))
	}
	d, _ := adDirectory(t, adConfig(dc))
	adLookup(t, d, users[0].Login) // warm the pool
	var lookups, resets time.Duration
	var worst time.Duration
	for i, u := range users {
		start := time.Now()
		fu := adLookup(t, d, u.Login)
		mid := time.Now()
		if err := d.SetPassword(context.Background(), fu, "Timed-Passw0rd-"+u.Login); err != nil {
			t.Fatalf("SetPassword %d: %v", i, err)
		}
		end := time.Now()
		lookups += mid.Sub(start)
		resets += end.Sub(mid)
		worst = max(worst, end.Sub(mid))
	}
	t.Logf("against Samba AD over LDAPS: lookup %v, reset %v on average, slowest reset %v (%d users)",
		lookups/n, resets/n, worst, n)
	mustBind(t, dc, users[n-1].DN, "Timed-Passw0rd-"+users[n-1].Login, "last timed reset")
	if avg := resets / n; avg > 2*time.Second {
		t.Fatalf("a reset takes %v on average", avg)
	}
}

func TestADCheck(t *testing.T) {
	dc := samba.Shared(t)
	u := dc.AddUser(t, samba.NewUser("check"))
	cfg := adConfig(dc)
	cfg.URLs = []string{dc.LDAPSURL(), "ldaps://" + closedPort(t)}
	d, _ := adDirectory(t, cfg)
	var out strings.Builder
	err := d.Check(context.Background(), u.Login, &out)
	t.Logf("sspr check output:\n%s", out.String())
	// The second URL is down: Check says so and fails, the rest is ok.
	if err == nil {
		t.Fatal("Check passed with one URL down")
	}
	for _, want := range []string{
		"ok    connect " + dc.LDAPSURL(),
		"FAIL  connect ldaps://127.0.0.1:",
		"ok    bind as " + samba.ServiceDN,
		"ok    password change (unicodePwd)",
		"ok    lookup \"" + u.Login + "\"",
		"mobile (mobile)",
		"office phone (telephoneNumber)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), samba.ServicePassword) {
		t.Fatal("check output shows the service account's password")
	}

	// A wrong service password is one FAIL line with the server's words.
	cfg = adConfig(dc)
	cfg.BindPassword = config.InlineSecret("Wrong-Passw0rd-1")
	d2, _ := adDirectory(t, cfg)
	out.Reset()
	if err := d2.Check(context.Background(), "", &out); err == nil {
		t.Fatal("Check passed with a wrong service password")
	}
	if !strings.Contains(out.String(), "FAIL  bind as "+samba.ServiceDN) || !strings.Contains(out.String(), "52e") {
		t.Fatalf("check output for a wrong service password:\n%s", out.String())
	}
	if strings.Contains(out.String(), "Wrong-Passw0rd-1") {
		t.Fatal("check output shows the password")
	}
	t.Logf("sspr check with a wrong service password:\n%s", out.String())

	// A CA that did not issue the DC's certificate: the TLS step fails.
	cfg = adConfig(dc)
	cfg.CAFile = writeOtherCA(t)
	d3, _ := adDirectory(t, cfg)
	out.Reset()
	if err := d3.Check(context.Background(), "", &out); err == nil {
		t.Fatal("Check passed with a CA that did not issue the certificate")
	}
	if !strings.Contains(out.String(), "FAIL  connect "+dc.LDAPSURL()) || !strings.Contains(out.String(), "certificate") {
		t.Fatalf("check output for an unknown CA:\n%s", out.String())
	}
	t.Logf("sspr check with the wrong CA:\n%s", out.String())
}

// writeOtherCA writes a self-signed CA certificate that issued nothing.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
