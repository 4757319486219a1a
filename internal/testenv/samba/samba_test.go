package samba

import (
	"crypto/tls"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The OIDs of the password policy hints control (Windows Server 2016+)
// and of its older twin (Windows Server 2008 R2 SP1).
const (
	oidPolicyHints           = "1.2.840.113556.1.4.2239"
	oidPolicyHintsDeprecated = "1.2.840.113556.1.4.2066"
)

// hintsValue is the value MS-ADTS 3.1.1.3.4.1.27 gives the control:
// SEQUENCE { INTEGER 1 } ("enforce the policy on a reset").
var hintsValue = string([]byte{0x30, 0x03, 0x02, 0x01, 0x01})

// policyHints is the control as go-ldap encodes it. go-ldap writes a
// criticality of TRUE as the byte 0x01, which BER allows, but Samba reads
// only 0xFF as TRUE: to Samba, every critical control go-ldap sends is
// non-critical.
func policyHints(oid string, critical bool) ldap.Control {
	return ldap.NewControlString(oid, critical, hintsValue)
}

// derCritical is a control whose criticality is encoded as DER wants it
// (0xFF), which Samba does read as TRUE.
type derCritical struct{ oid, value string }

func (c derCritical) GetControlType() string { return c.oid }
func (c derCritical) String() string         { return c.oid + " (critical, DER)" }
func (c derCritical) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.oid, "Control Type"))
	b := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, nil, "Criticality")
	b.Value = true
	b.Data.WriteByte(0xFF)
	p.AppendChild(b)
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.value, "Control Value"))
	return p
}

func asService(t *testing.T, dc *DC) *ldap.Conn {
	t.Helper()
	c, err := dc.dialAs(ServiceDN, ServicePassword, 10*time.Second)
	if err != nil {
		t.Fatalf("bind as the service account: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func reset(c *ldap.Conn, dn, password string, controls ...ldap.Control) error {
	m := ldap.NewModifyRequest(dn, controls)
	m.Replace("unicodePwd", []string{EncodePassword(password)})
	return c.Modify(m)
}

func TestDomainAnswersOverLDAPSAndStartTLSOnly(t *testing.T) {
	dc := Shared(t)
	if err := dc.Bind(AdminUPN, AdminPassword); err != nil {
		t.Fatalf("LDAPS bind: %v", err)
	}

	c, err := ldap.DialURL(dc.LDAPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Bind(ServiceDN, ServicePassword)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		t.Fatalf("simple bind on plain LDAP: got %v, want strongerAuthRequired", err)
	}

	c2, err := ldap.DialURL(dc.LDAPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.StartTLS(dc.TLSConfig()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := c2.Bind(ServiceDN, ServicePassword); err != nil {
		t.Fatalf("bind after StartTLS: %v", err)
	}

	// The certificate is checked: a client that does not trust the CA fails.
	_, err = ldap.DialURL(dc.LDAPSURL(), ldap.DialWithTLSConfig(&tls.Config{ServerName: dc.Addr}))
	if err == nil {
		t.Fatal("LDAPS without the harness CA worked")
	}
}

func TestServiceAccountHasOnlyResetAndLockoutRights(t *testing.T) {
	dc := Shared(t)
	u := dc.AddUser(t, NewUser("rights"))
	svc := asService(t, dc)

	// It reads what sspr needs.
	res, err := svc.Search(ldap.NewSearchRequest(UsersOU, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 10, false,
		"(sAMAccountName="+u.Login+")",
		[]string{"userPrincipalName", "mail", "mobile", "telephoneNumber", "displayName", "userAccountControl", "memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("search as the service account: %v %v", res, err)
	}
	e := res.Entries[0]
	if e.GetAttributeValue("mobile") != u.Mobile || e.GetAttributeValue("mail") != u.Mail ||
		e.GetAttributeValue("telephoneNumber") != u.Telephone || e.GetAttributeValue("userAccountControl") != "512" {
		t.Fatalf("attributes seen by the service account: %+v", e.Attributes)
	}

	// It resets a password in the OU; the user binds with it.
	if err := reset(svc, u.DN, "Reset-by-Svc-91"); err != nil {
		t.Fatalf("reset as the service account: %v", err)
	}
	if err := dc.Bind(u.UPN, "Reset-by-Svc-91"); err != nil {
		t.Fatalf("bind with the reset password: %v", err)
	}
	if err := dc.Bind(u.UPN, u.Password); BindError(err) != "52e" {
		t.Fatalf("bind with the password before the reset: %v, want data 52e", err)
	}
	// It writes lockoutTime.
	m := ldap.NewModifyRequest(u.DN, nil)
	m.Replace("lockoutTime", []string{"0"})
	if err := svc.Modify(m); err != nil {
		t.Fatalf("write lockoutTime as the service account: %v", err)
	}

	// It may change nothing else...
	m = ldap.NewModifyRequest(u.DN, nil)
	m.Replace("mobile", []string{"+1 212 555 9999"})
	if err := svc.Modify(m); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("write mobile as the service account: %v, want insufficientAccessRights", err)
	}
	m = ldap.NewModifyRequest(u.DN, nil)
	m.Replace("userAccountControl", []string{"512"})
	if err := svc.Modify(m); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("write userAccountControl as the service account: %v, want insufficientAccessRights", err)
	}
	// ...and reset no password outside the OU.
	if err := reset(svc, "CN=Administrator,CN=Users,"+BaseDN, "Not-Allowed-77"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("reset of Administrator as the service account: %v, want insufficientAccessRights", err)
	}
}

func TestDisabledAndLockedUsers(t *testing.T) {
	dc := Shared(t)
	d := NewUser("disabled")
	d.Disabled = true
	d = dc.AddUser(t, d)
	if got := dc.Attr(t, d.DN, "userAccountControl"); got != "514" {
		t.Fatalf("userAccountControl of a disabled user: %s", got)
	}
	if err := dc.Bind(d.UPN, d.Password); err == nil || BindError(err) != "533" {
		t.Fatalf("bind of a disabled user: %v (data %q), want data 533", err, BindError(err))
	}

	l := dc.AddUser(t, NewUser("locked"))
	if dc.Locked(t, l) {
		t.Fatal("a new user is locked")
	}
	dc.LockOut(t, l)
	if err := dc.Bind(l.UPN, l.Password); err == nil || BindError(err) != "775" {
		t.Fatalf("bind of a locked user with the right password: %v (data %q), want data 775", err, BindError(err))
	}

	// The service account sees the lockout in lockoutTime and in the
	// constructed msDS-User-Account-Control-Computed (UF_LOCKOUT, 0x10),
	// which unlike lockoutTime also ends when the lockout duration does.
	svc := asService(t, dc)
	res, err := svc.Search(ldap.NewSearchRequest(l.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"lockoutTime", "msDS-User-Account-Control-Computed"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	e := res.Entries[0]
	computed, _ := strconv.Atoi(e.GetAttributeValue("msDS-User-Account-Control-Computed"))
	if e.GetAttributeValue("lockoutTime") == "" || computed&0x10 == 0 {
		t.Fatalf("the service account reads lockoutTime %q and msDS-User-Account-Control-Computed %d for a locked user",
			e.GetAttributeValue("lockoutTime"), computed)
	}
}

// TestPolicyHintsOnSamba records what this Samba does with the password
// policy hints controls; docs/ACTIVE-DIRECTORY.md quotes the outcome.
func TestPolicyHintsOnSamba(t *testing.T) {
	dc := Shared(t)
	c := dc.Admin(t)
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=*)", []string{"supportedControl"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	supported := res.Entries[0].GetAttributeValues("supportedControl")
	advertised := slices.Contains(supported, oidPolicyHints) || slices.Contains(supported, oidPolicyHintsDeprecated)
	t.Logf("policy hints advertised in supportedControl: %v", advertised)

	svc := asService(t, dc)
	for _, oid := range []string{oidPolicyHints, oidPolicyHintsDeprecated} {
		u := dc.AddUser(t, NewUser("hints"))
		// Non-critical: is the password history enforced on the reset?
		if err := reset(svc, u.DN, "Second-Passw0rd-1", policyHints(oid, false)); err != nil {
			t.Fatalf("%s: reset: %v", oid, err)
		}
		errRepeat := reset(svc, u.DN, u.Password, policyHints(oid, false))
		t.Logf("%s non-critical: reset to a password in the history: %v", oid, errRepeat)
		// Critical as go-ldap sends it, and critical as DER encodes it:
		// does the server accept the control at all?
		errCritical := reset(svc, u.DN, "Third-Passw0rd-3", policyHints(oid, true))
		t.Logf("%s critical (go-ldap, 0x01): %v", oid, errCritical)
		errDER := reset(svc, u.DN, "Fourth-Passw0rd-4", derCritical{oid, hintsValue})
		t.Logf("%s critical (DER, 0xFF): %v", oid, errDER)

		if advertised {
			// A Samba that knows the control (4.24 and later) enforces the
			// history with it.
			if !ldap.IsErrorWithCode(errRepeat, ldap.LDAPResultConstraintViolation) {
				t.Errorf("%s: Samba advertises the control but a reset to an old password gave %v", oid, errRepeat)
			}
			continue
		}
		// Samba before 4.24 drops a non-critical control it does not know,
		// so the reset skips the history...
		if errRepeat != nil {
			t.Errorf("%s: Samba does not advertise the control, yet the reset to an old password failed: %v", oid, errRepeat)
		}
		// ...takes go-ldap's critical control for a non-critical one...
		if errCritical != nil {
			t.Errorf("%s critical (0x01): %v, want the reset to pass as with a non-critical control", oid, errCritical)
		}
		if dc.Bind(u.DN, "Third-Passw0rd-3") != nil {
			t.Errorf("%s critical (0x01): the reset did not take", oid)
		}
		// ...and refuses a truly critical one, with an ExtendedResponse
		// (result unavailableCriticalExtension) in place of a
		// ModifyResponse, which go-ldap reports as an unexpected response.
		if errDER == nil || !strings.Contains(errDER.Error(), "unexpected response: 24") {
			t.Errorf("%s critical (0xFF): got %v, want the unavailableCriticalExtension ExtendedResponse", oid, errDER)
		}
		if dc.Bind(u.DN, "Fourth-Passw0rd-4") == nil {
			t.Errorf("%s critical (0xFF): the refused reset took", oid)
		}
	}
}

func TestRestartKeepsTheDomain(t *testing.T) {
	dc := Shared(t)
	u := dc.AddUser(t, NewUser("restart"))
	dc.Kill()
	if dc.Running() {
		t.Fatal("still running after Kill")
	}
	if err := dc.Bind(u.UPN, u.Password); err == nil {
		t.Fatal("bind works with Samba killed")
	}
	start := time.Now()
	if err := dc.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %v", time.Since(start))
	if err := dc.Bind(u.UPN, u.Password); err != nil {
		var le *ldap.Error
		errors.As(err, &le)
		t.Fatalf("bind after restart: %v", err)
	}
}

// The guide gives administrators the commands the harness runs: the same
// access control entries and the same password settings.
func TestGuideHasTheHarnessCommands(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/ACTIVE-DIRECTORY.md")
	if err != nil {
		t.Fatal(err)
	}
	guide := strings.Join(strings.Fields(strings.ReplaceAll(string(doc), "\\\n", " ")), " ")
	for _, want := range []string{
		`--sddl="` + ServiceACEs("$SID") + `"`,
		"samba-tool domain passwordsettings set " + strings.Join(passwordSettings, " "),
		`dsacls "OU=People,DC=example,DC=com" /I:S /G "EXAMPLE\sspr-svc:CA;Reset Password;user"`,
		`dsacls "OU=People,DC=example,DC=com" /I:S /G "EXAMPLE\sspr-svc:RPWP;lockoutTime;user"`,
		"old password allowed period = 0",
	} {
		if !strings.Contains(guide, want) {
			t.Errorf("docs/ACTIVE-DIRECTORY.md lacks %s", want)
		}
	}
}

// When the lockout duration has passed, AD lets the person sign in again
// but keeps lockoutTime (until the next sign-in); only the constructed
// msDS-User-Account-Control-Computed (UF_LOCKOUT, 0x10) tells that the
// lockout is over. The domain's lockout duration is cut to two seconds for
// this test and put back after. Samba reads the duration for that
// attribute once, at start, so it is restarted after each change, as an
// administrator changing the policy would see after a restart.
func TestLockoutTimeOutlivesTheLockout(t *testing.T) {
	dc := Shared(t)
	setPolicy := func(duration, window string) {
		dc.Replace(t, BaseDN, "lockOutObservationWindow", window)
		dc.Replace(t, BaseDN, "lockoutDuration", duration)
		dc.Kill()
		if err := dc.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	duration, window := dc.Attr(t, BaseDN, "lockoutDuration"), dc.Attr(t, BaseDN, "lockOutObservationWindow")
	const twoSeconds = "-20000000" // 100 ns units, negative as AD stores it
	setPolicy(twoSeconds, twoSeconds)
	defer setPolicy(duration, window)

	u := dc.AddUser(t, NewUser("expired"))
	dc.LockOut(t, u)
	locked := time.Now()
	svc := asService(t, dc)
	// The lockout ends two seconds after the last failed bind; on a busy
	// machine the DC may see that a little later, so ask until it does.
	var e *ldap.Entry
	var computed int
	for {
		time.Sleep(500 * time.Millisecond)
		res, err := svc.Search(ldap.NewSearchRequest(u.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
			"(objectClass=*)", []string{"lockoutTime", "msDS-User-Account-Control-Computed"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		e = res.Entries[0]
		computed, _ = strconv.Atoi(e.GetAttributeValue("msDS-User-Account-Control-Computed"))
		if computed&0x10 == 0 {
			break
		}
		if time.Since(locked) > 20*time.Second {
			t.Fatal("msDS-User-Account-Control-Computed still has UF_LOCKOUT 20 s after a lockout of two seconds")
		}
	}
	t.Logf("lockout over after %v: lockoutTime %s, msDS-User-Account-Control-Computed %#x", time.Since(locked).Round(100*time.Millisecond), e.GetAttributeValue("lockoutTime"), computed)
	if lt := e.GetAttributeValue("lockoutTime"); lt == "" || lt == "0" {
		t.Fatalf("lockoutTime %q: expected AD to keep it after the lockout ended", lt)
	}
	if err := dc.Bind(u.UPN, u.Password); err != nil {
		t.Fatalf("bind after the lockout duration: %v", err)
	}
}
