package ldap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/internal/testenv/slapd"
	"github.com/sspr-project/sspr/internal/testenv/testserver"
	"github.com/sspr-project/sspr/providers/ldap"
)

// These tests run against a real slapd with the ppolicy overlay, started
// by internal/testenv/slapd on a loopback port.

// slapdConfig is the provider's config for srv, as the service account.
func slapdConfig(srv *slapd.Server) ldap.Config {
	c := ldap.Default()
	c.URLs = []string{srv.URL}
	c.BindDN = slapd.ServiceDN
	c.BindPassword = config.InlineSecret(slapd.ServicePassword)
	c.BaseDN = slapd.PeopleDN
	c.Flavor = ldap.FlavorOpenLDAP
	c.Attributes = ldap.Attributes{TOTPSecret: "employeeNumber"}
	c.ConnectTimeout = time.Second
	c.Timeout = 2 * time.Second
	return c
}

// slapdDirectory opens the provider on cfg and returns it with its log.
func slapdDirectory(t *testing.T, cfg ldap.Config) (*ldap.Directory, *testserver.SyncBuffer) {
	t.Helper()
	log := &testserver.SyncBuffer{}
	d, err := ldap.New(cfg, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatalf("ldap.New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, log
}

func slapdLookup(t *testing.T, d *ldap.Directory, login string) flow.User {
	t.Helper()
	u, err := d.LookupUser(context.Background(), login)
	if err != nil {
		t.Fatalf("LookupUser(%q): %v", login, err)
	}
	return u
}

func TestOpenLDAPLookupMapsAttributes(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	want := flow.User{
		ID: slapd.UserDN("alice"), Login: "alice", DisplayName: "Alice Archer", Email: "alice@example.com",
		Mobile: "+1 212 555 0101", Office: "+1 212 555 0191", TOTPSecret: "JBSWY3DPEHPK3PXP", Groups: []string{slapd.GroupDN},
	}
	for _, login := range []string{"alice", "alice@example.com", "ALICE"} {
		got := slapdLookup(t, d, login)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("LookupUser(%q) = %+v, want %+v", login, got, want)
		}
	}
}

func TestOpenLDAPLookupUsesTheFilterTemplate(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	cfg.UserFilter = "(&(objectClass=inetOrgPerson)(uid={login}))"
	d, _ := slapdDirectory(t, cfg)
	if u := slapdLookup(t, d, "bob"); u.ID != slapd.UserDN("bob") || u.Mobile != "+1 212 555 0102" {
		t.Fatalf("bob = %+v", u)
	}
	// The template has no mail clause: a mail address finds nobody.
	if _, err := d.LookupUser(context.Background(), "bob@example.com"); !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("lookup by mail with a uid-only filter: %v, want ErrUnknownUser", err)
	}
}

func TestOpenLDAPInjectionInTheLoginFindsNobody(t *testing.T) {
	srv := slapd.Start(t)
	d, log := slapdDirectory(t, slapdConfig(srv))
	for _, login := range []string{
		"*", ")(", "\x00", "*)(uid=*", "alice)(uid=*", "*)(|(uid=*", "al*", "alice\x00", "(uid=alice)", `\2a`, "alice*",
		"*@example.com", "twin*", "", strings.Repeat("a", 600),
	} {
		u, err := d.LookupUser(context.Background(), login)
		if !errors.Is(err, flow.ErrUnknownUser) {
			t.Errorf("LookupUser(%q) = %+v, %v; want ErrUnknownUser", login, u, err)
		}
	}
	// Escaped, they are plain (non-matching) values, not several matches.
	if strings.Contains(log.String(), "several entries") {
		t.Fatalf("an injected login matched several entries:\n%s", log)
	}
}

func TestOpenLDAPSeveralMatchesAreRefusedAndLogged(t *testing.T) {
	srv := slapd.Start(t)
	d, log := slapdDirectory(t, slapdConfig(srv))
	_, err := d.LookupUser(context.Background(), "twins@example.com")
	if !errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("two entries with one mail: %v, want ErrUnknownUser", err)
	}
	l := log.String()
	if !strings.Contains(l, "several entries") || !strings.Contains(l, slapd.UserDN("twin1")) || !strings.Contains(l, slapd.UserDN("twin2")) {
		t.Fatalf("the log does not name the entries:\n%s", l)
	}
}

func TestOpenLDAPDisabledAndLockedAccounts(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	if u := slapdLookup(t, d, "carol"); !u.Disabled || u.Locked {
		t.Fatalf("carol (pwdAccountLockedTime %s) = %+v, want Disabled", slapd.DisabledTime, u)
	}
	if u := slapdLookup(t, d, "dave"); u.Disabled || !u.Locked {
		t.Fatalf("dave (pwdAccountLockedTime %s) = %+v, want Locked", slapd.LockedTime, u)
	}
	if u := slapdLookup(t, d, "bob"); u.Disabled || u.Locked {
		t.Fatalf("bob = %+v, want neither", u)
	}
	// A disabled account is never unlocked.
	if err := d.Unlock(context.Background(), slapdLookup(t, d, "carol")); err == nil {
		t.Fatal("Unlock of a disabled account succeeded")
	}
	if got := srv.Attr(slapd.UserDN("carol"), "pwdAccountLockedTime"); len(got) != 1 || got[0] != slapd.DisabledTime {
		t.Fatalf("carol's pwdAccountLockedTime is now %v", got)
	}
}

// A lockout made by the server itself (failed binds) is seen and lifted.
func TestOpenLDAPLockoutAfterFailedBindsIsSeen(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	for range slapd.MaxFailure {
		if srv.CanBind(slapd.UserDN("bob"), "Wrong-Passw0rd-Guess") {
			t.Fatal("a wrong password binds")
		}
	}
	u := slapdLookup(t, d, "bob")
	if !u.Locked || u.Disabled {
		t.Fatalf("bob after %d failed binds = %+v, want Locked", slapd.MaxFailure, u)
	}
	if srv.CanBind(u.ID, slapd.InitialPassword) {
		t.Fatal("a locked account binds")
	}
	if err := d.Unlock(context.Background(), u); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := srv.Bind(u.ID, slapd.InitialPassword); err != nil {
		t.Fatalf("bind after Unlock: %v", err)
	}
}

func TestOpenLDAPResetThenBind(t *testing.T) {
	srv := slapd.Start(t)
	for _, tc := range []struct {
		name string
		mod  func(*ldap.Config)
	}{
		{"ldap", func(*ldap.Config) {}},
		{"starttls", func(c *ldap.Config) { c.StartTLS, c.CAFile = true, srv.CAFile }},
		{"ldaps", func(c *ldap.Config) { c.URLs, c.CAFile = []string{srv.LDAPSURL}, srv.CAFile }},
		{"ldaps with a client certificate", func(c *ldap.Config) {
			c.URLs, c.CAFile, c.CertFile, c.KeyFile = []string{srv.LDAPSURL}, srv.CAFile, srv.ClientCertFile, srv.ClientKeyFile
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := slapdConfig(srv)
			tc.mod(&cfg)
			d, log := slapdDirectory(t, cfg)
			u := slapdLookup(t, d, "alice")
			newPW := "Reset-Over-" + strings.ReplaceAll(tc.name, " ", "-") + "-1"
			if err := d.SetPassword(context.Background(), u, newPW); err != nil {
				t.Fatalf("SetPassword: %v", err)
			}
			if err := srv.Bind(u.ID, newPW); err != nil {
				t.Fatalf("bind with the new password: %v", err)
			}
			if srv.CanBind(u.ID, slapd.InitialPassword) {
				t.Fatal("the initial password still binds")
			}
			if v := srv.Attr(u.ID, "userPassword"); len(v) != 1 || !strings.HasPrefix(v[0], "{SSHA}") {
				t.Fatalf("the password is not stored hashed: %d values", len(v))
			}
			if strings.Contains(log.String(), newPW) {
				t.Fatal("the log holds the password")
			}
		})
	}
}

func TestOpenLDAPClientCertificate(t *testing.T) {
	srv := slapd.StartWith(t, slapd.Options{RequireClientCert: true})
	cfg := slapdConfig(srv)
	cfg.URLs, cfg.CAFile = []string{srv.LDAPSURL}, srv.CAFile
	d, _ := slapdDirectory(t, cfg)
	if _, err := d.LookupUser(context.Background(), "alice"); err == nil || errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("no client certificate where slapd demands one: %v, want a connection error", err)
	}
	cfg.CertFile, cfg.KeyFile = srv.ClientCertFile, srv.ClientKeyFile
	d, _ = slapdDirectory(t, cfg)
	slapdLookup(t, d, "alice")
	// A server certificate from an unknown CA is refused by sspr.
	cfg = slapdConfig(srv)
	cfg.URLs = []string{srv.LDAPSURL}
	d, _ = slapdDirectory(t, cfg)
	if _, err := d.LookupUser(context.Background(), "alice"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a server certificate from an unknown CA: %v, want a certificate error", err)
	}
}

func TestOpenLDAPPolicyRefusals(t *testing.T) {
	srv := slapd.Start(t)
	d, log := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	u := slapdLookup(t, d, "alice")
	// One password in alice's history besides the current one.
	const used = "Used-Before-Passw0rd-1"
	if err := d.SetPassword(ctx, u, used); err != nil {
		t.Fatal(err)
	}
	const current = "Current-Passw0rd-2"
	if err := d.SetPassword(ctx, u, current); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, password string
		rule           flow.DirectoryRule
		detail         string
	}{
		{"too short", "Sh0rt-1", flow.DirRuleQuality, "Password fails quality checking policy"},
		{"in history", used, flow.DirRuleHistory, "Password is in history of old passwords"},
		{"initial, in history", slapd.InitialPassword, flow.DirRuleHistory, "Password is in history of old passwords"},
		{"unchanged", current, flow.DirRuleUnchanged, "Password is not being changed from existing value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.SetPassword(ctx, u, tc.password)
			var fe *flow.Error
			if !errors.As(err, &fe) {
				t.Fatalf("SetPassword: %v, want a *flow.Error", err)
			}
			if fe.Reason != flow.ReasonDirectoryRefused || fe.Final || fe.Rule != tc.rule || fe.Detail != tc.detail ||
				fe.Message != flow.DirectoryRefusal(tc.rule, "").Message {
				t.Fatalf("refusal = %+v\nwant rule %q, detail %q", fe, tc.rule, tc.detail)
			}
			if strings.Contains(fe.Error(), tc.password) || strings.Contains(fe.Detail, tc.password) {
				t.Fatal("the refusal carries the password")
			}
			if err := srv.Bind(u.ID, current); err != nil {
				t.Fatalf("the current password no longer binds: %v", err)
			}
			if tc.password != current && srv.CanBind(u.ID, tc.password) {
				t.Fatal("the refused password binds")
			}
		})
	}
	if strings.Contains(log.String(), current) || strings.Contains(log.String(), used) {
		t.Fatal("the log holds a password")
	}
}

func TestOpenLDAPResetLiftsTheLockout(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	u := slapdLookup(t, d, "dave")
	if !u.Locked {
		t.Fatalf("dave = %+v, want Locked", u)
	}
	const pw = "Dave-Unlocked-Passw0rd"
	if err := d.SetPassword(context.Background(), u, pw); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if got := srv.Attr(u.ID, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("pwdAccountLockedTime after the reset = %v", got)
	}
	if err := srv.Bind(u.ID, pw); err != nil {
		t.Fatalf("bind after the reset: %v", err)
	}
	if u := slapdLookup(t, d, "dave"); u.Locked {
		t.Fatal("dave is still Locked")
	}
}

func TestOpenLDAPUnlockKeepsThePassword(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	u := slapdLookup(t, d, "dave")
	if srv.CanBind(u.ID, slapd.InitialPassword) {
		t.Fatal("locked dave binds")
	}
	if err := d.Unlock(context.Background(), u); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := srv.Bind(u.ID, slapd.InitialPassword); err != nil {
		t.Fatalf("bind with the unchanged password after Unlock: %v", err)
	}
	if got := slapdLookup(t, d, "dave"); got.Locked {
		t.Fatal("dave is still Locked")
	}
	// Unlocking an account that is not locked is not an error.
	if err := d.Unlock(context.Background(), u); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
}

// The service account may do only what a reset needs.
func TestOpenLDAPServiceAccountIsLimited(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	u := slapdLookup(t, d, "alice")
	// It cannot read password hashes (the provider never asks; a direct
	// search shows the ACL).
	c := serviceConn(t, srv)
	res, err := c.Search(goldap.NewSearchRequest(u.ID, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 5, false,
		"(objectClass=*)", []string{"userPassword", "mail"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("service search: %v", err)
	}
	if v := res.Entries[0].GetAttributeValues("userPassword"); len(v) != 0 {
		t.Fatal("the service account reads password hashes")
	}
	if v := res.Entries[0].GetAttributeValue("mail"); v != "alice@example.com" {
		t.Fatalf("the service account cannot read mail: %q", v)
	}
	m := goldap.NewModifyRequest(u.ID, nil)
	m.Replace("mobile", []string{"+1 999 555 0000"})
	if err := c.Modify(m); !goldap.IsErrorWithCode(err, goldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("the service account changing a mobile number: %v, want Insufficient Access Rights", err)
	}
}

// serviceConn is a connection bound as the service account.
func serviceConn(t *testing.T, srv *slapd.Server) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetTimeout(5 * time.Second)
	if err := c.Bind(slapd.ServiceDN, slapd.ServicePassword); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenLDAPFailoverToTheSecondURL(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	down := fmt.Sprintf("ldap://127.0.0.1:%d", slapd.FreePort(t)) // nothing listens
	cfg.URLs = []string{down, srv.URL}
	d, _ := slapdDirectory(t, cfg)
	u := slapdLookup(t, d, "bob")
	if err := d.SetPassword(context.Background(), u, "Bob-Failover-Passw0rd"); err != nil {
		t.Fatalf("SetPassword through the second URL: %v", err)
	}
	if !srv.CanBind(u.ID, "Bob-Failover-Passw0rd") {
		t.Fatal("the new password does not bind")
	}
	// Both down: the error names both URLs.
	srv.Kill()
	cfg.URLs = []string{down, srv.URL}
	d2, _ := slapdDirectory(t, cfg)
	_, err := d2.LookupUser(context.Background(), "bob")
	if err == nil || !strings.Contains(err.Error(), down) || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("both down: %v", err)
	}
}

// slapd killed while sspr runs: operations fail fast with an error (never
// ErrUnknownUser, which would walk the decoy path), and the same Directory
// works again once slapd is back on its port.
func TestOpenLDAPServerKilledAndRestarted(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	cfg.PoolSize = 2
	d, log := slapdDirectory(t, cfg)
	ctx := context.Background()
	// Fill the pool with connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { slapdLookup(t, d, "alice") })
	}
	wg.Wait()

	// A restart between two uses: the pooled connections are dead, and the
	// very next lookup works all the same.
	srv.Kill()
	srv.Restart()
	slapdLookup(t, d, "alice")

	srv.Kill()
	start := time.Now()
	_, err := d.LookupUser(ctx, "alice")
	if err == nil || errors.Is(err, flow.ErrUnknownUser) {
		t.Fatalf("lookup with slapd down: %v, want a connection error", err)
	}
	u := flow.User{ID: slapd.UserDN("alice")}
	if err := d.SetPassword(ctx, u, "While-Down-Passw0rd"); err == nil || flow.ReasonOf(err) != "" {
		t.Fatalf("SetPassword with slapd down: %v, want a plain error", err)
	}
	if took := time.Since(start); took > 2*cfg.ConnectTimeout {
		t.Fatalf("the failures took %v", took)
	}

	srv.Restart()
	u = slapdLookup(t, d, "alice")
	if err := d.SetPassword(ctx, u, "After-Restart-Passw0rd"); err != nil {
		t.Fatalf("SetPassword after the restart: %v", err)
	}
	if !srv.CanBind(u.ID, "After-Restart-Passw0rd") {
		t.Fatal("the new password does not bind")
	}
	if strings.Contains(log.String(), "Passw0rd") {
		t.Fatal("the log holds a password")
	}
}

// A hung slapd (it accepts connections and never answers) costs at most
// the operation timeout, and the pool recovers when it answers again.
func TestOpenLDAPHungServerTimesOut(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	cfg.Timeout = time.Second // the least timeout allows
	d, _ := slapdDirectory(t, cfg)
	slapdLookup(t, d, "alice")
	srv.Freeze()
	thawed := false
	defer func() {
		if !thawed {
			srv.Thaw()
		}
	}()
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"lookup", func() error { _, err := d.LookupUser(context.Background(), "alice"); return err }},
		{"set password", func() error {
			return d.SetPassword(context.Background(), flow.User{ID: slapd.UserDN("alice")}, "Hung-Server-Passw0rd")
		}},
	} {
		start := time.Now()
		err := op.run()
		took := time.Since(start)
		if err == nil || errors.Is(err, flow.ErrUnknownUser) || flow.ReasonOf(err) != "" {
			t.Fatalf("%s on a hung server: %v, want a plain error", op.name, err)
		}
		// A pooled connection times out (Timeout); a new one may also wait
		// for the bind (ConnectTimeout + Timeout).
		if limit := cfg.ConnectTimeout + 2*cfg.Timeout + time.Second; took > limit {
			t.Fatalf("%s on a hung server took %v (limit %v)", op.name, took, limit)
		}
		t.Logf("%s on a hung server failed after %v: %v", op.name, took, err)
	}
	// A context deadline shorter than the timeout wins.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := d.LookupUser(ctx, "alice"); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lookup with a short deadline: %v", err)
	}
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Fatalf("the deadline of 100ms took %v", took)
	}
	srv.Thaw()
	thawed = true
	slapdLookup(t, d, "alice")
}

// TestOpenLDAPResetTime measures the directory's share of one reset: the
// lookup and the Password Modify through the pool.
func TestOpenLDAPResetTime(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	ctx := context.Background()
	const n = 30
	start := time.Now()
	for i := range n {
		u := slapdLookup(t, d, "bob")
		if err := d.SetPassword(ctx, u, fmt.Sprintf("Timing-Passw0rd-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / n
	t.Logf("lookup + Password Modify against slapd: %v per reset (%d resets)", per, n)
	if per > time.Second {
		t.Fatalf("a reset took %v", per)
	}
}

func TestOpenLDAPConcurrentResetsShareThePool(t *testing.T) {
	srv := slapd.Start(t)
	cfg := slapdConfig(srv)
	cfg.PoolSize = 2
	d, _ := slapdDirectory(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	// One reset per account at a time: slapd refuses two concurrent
	// changes of one entry's password history.
	logins := []string{"alice", "bob", "dave", "twin1", "twin2"}
	for i, login := range logins {
		wg.Go(func() {
			u, err := d.LookupUser(context.Background(), login)
			if err == nil {
				err = d.SetPassword(context.Background(), u, fmt.Sprintf("Concurrent-Passw0rd-%d", i))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestOpenLDAPCheck(t *testing.T) {
	srv := slapd.Start(t)
	ctx := context.Background()
	t.Run("all good over StartTLS with a lookup", func(t *testing.T) {
		cfg := slapdConfig(srv)
		cfg.StartTLS, cfg.CAFile = true, srv.CAFile
		d, _ := slapdDirectory(t, cfg)
		var out bytes.Buffer
		if err := d.Check(ctx, "alice", &out); err != nil {
			t.Fatalf("Check: %v\n%s", err, out.String())
		}
		for _, want := range []string{
			"ok    connect " + srv.URL + " (TLS 1.",
			"ok    bind as " + slapd.ServiceDN,
			"ok    password change (Password Modify extended operation)",
			"ok    lookup \"alice\"", slapd.UserDN("alice") + ", active",
			"mobile (mobile)", "authenticator app (employeeNumber)", "1 group (memberOf)",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("no %q in:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "JBSWY3DPEHPK3PXP") || strings.Contains(out.String(), slapd.ServicePassword) {
			t.Fatalf("Check shows a secret:\n%s", out.String())
		}
	})
	t.Run("no login", func(t *testing.T) {
		d, _ := slapdDirectory(t, slapdConfig(srv))
		var out bytes.Buffer
		if err := d.Check(ctx, "", &out); err != nil {
			t.Fatalf("Check: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "skip  lookup") || !strings.Contains(out.String(), "(not encrypted)") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
	t.Run("every URL is bound", func(t *testing.T) {
		// Wrong passwords here would lock the service account (ppolicy).
		cfg := slapdConfig(srv)
		cfg.URLs = []string{"ldap://127.0.0.1:1", srv.URL, srv.URL}
		d, _ := slapdDirectory(t, cfg)
		var out bytes.Buffer
		if err := d.Check(ctx, "alice", &out); err == nil {
			t.Fatalf("Check passed with a URL down:\n%s", out.String())
		}
		got := out.String()
		if n := strings.Count(got, "ok    bind as "+slapd.ServiceDN+" on "+srv.URL+"\n"); n != 2 {
			t.Errorf("%d binds, want one per reachable URL:\n%s", n, got)
		}
		for _, want := range []string{"FAIL  connect ldap://127.0.0.1:1:", "ok    password change", "ok    lookup \"alice\""} {
			if !strings.Contains(got, want) {
				t.Errorf("no %q in:\n%s", want, got)
			}
		}
	})
	for _, tc := range []struct {
		name  string
		mod   func(*ldap.Config)
		login string
		want  string
	}{
		{"wrong bind password", func(c *ldap.Config) { c.BindPassword = config.InlineSecret("Not-The-Password") }, "alice",
			"FAIL  bind as " + slapd.ServiceDN + ": LDAP Result Code 49 \"Invalid Credentials\""},
		{"unknown login", func(*ldap.Config) {}, "nobody", "no entry matches"},
		{"two matches", func(*ldap.Config) {}, "twins@example.com", "several entries match"},
		{"a URL down", func(c *ldap.Config) { c.URLs = []string{"ldap://127.0.0.1:1", srv.URL} }, "alice",
			"FAIL  connect ldap://127.0.0.1:1: connect: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"bad base DN", func(c *ldap.Config) { c.BaseDN = "dc=nowhere,dc=test" }, "alice", "No Such Object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := slapdConfig(srv)
			tc.mod(&cfg)
			d, _ := slapdDirectory(t, cfg)
			var out bytes.Buffer
			if err := d.Check(ctx, tc.login, &out); err == nil {
				t.Fatalf("Check passed:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("no %q in:\n%s", tc.want, out.String())
			}
			if strings.Contains(out.String(), "Not-The-Password") {
				t.Fatal("Check shows the bind password")
			}
		})
	}
}

// Ping answers on a bound pooled connection, and fails, naming the
// directory, when the service account cannot bind.
func TestOpenLDAPPing(t *testing.T) {
	srv := slapd.Start(t)
	d, _ := slapdDirectory(t, slapdConfig(srv))
	for range 3 {
		if err := d.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	bad := slapdConfig(srv)
	bad.BindPassword = config.InlineSecret("not-the-password")
	bd, _ := slapdDirectory(t, bad)
	if err := bd.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "ldap: ping") {
		t.Fatalf("Ping with a wrong bind password: %v", err)
	}
}
