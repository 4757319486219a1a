package samba

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// User is an account a test created in UsersOU.
type User struct {
	// Login is the sAMAccountName; UPN is Login@sspr.test.
	Login, UPN, DN string
	// Password is the password the account was created with.
	Password  string
	Given     string
	Surname   string
	Mail      string
	Mobile    string
	Telephone string
	// Disabled creates the account disabled (userAccountControl bit 2).
	Disabled bool
}

// The userAccountControl flags the harness uses.
const (
	uacAccountDisable = 0x2
	uacNormalAccount  = 0x200
)

var userSeq atomic.Int64

// NewUser returns a user with a login unique in this test binary (prefix
// plus a number), a mail, a mobile and an office number, and a password
// the domain policy accepts. Nothing is created yet: see AddUser.
func NewUser(prefix string) User {
	n := userSeq.Add(1)
	login := fmt.Sprintf("%s%d", prefix, n)
	return User{
		Login:     login,
		UPN:       login + "@sspr.test",
		DN:        "CN=" + login + "," + UsersOU,
		Password:  fmt.Sprintf("Initial-Passw0rd-%d", n),
		Given:     strings.ToUpper(prefix[:1]) + prefix[1:],
		Surname:   "Tester",
		Mail:      login + "@mail.sspr.test",
		Mobile:    fmt.Sprintf("+1 212 555 %04d", n%10000),
		Telephone: fmt.Sprintf("+1 212 555 %04d", (n+5000)%10000),
	}
}

// AddUser creates u in UsersOU as Administrator (fill it with NewUser and
// adjust) and returns it. The test fails if the domain refuses it.
func (dc *DC) AddUser(t testing.TB, u User) User {
	t.Helper()
	c := dc.Admin(t)
	defer c.Close()
	uac := uacNormalAccount
	if u.Disabled {
		uac |= uacAccountDisable
	}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{u.Login})
	req.Attribute("userPrincipalName", []string{u.UPN})
	req.Attribute("displayName", []string{strings.TrimSpace(u.Given + " " + u.Surname)})
	add := func(attr, v string) {
		if v != "" {
			req.Attribute(attr, []string{v})
		}
	}
	add("givenName", u.Given)
	add("sn", u.Surname)
	add("mail", u.Mail)
	add("mobile", u.Mobile)
	add("telephoneNumber", u.Telephone)
	req.Attribute("unicodePwd", []string{EncodePassword(u.Password)})
	req.Attribute("userAccountControl", []string{strconv.Itoa(uac)})
	if err := c.Add(req); err != nil {
		t.Fatalf("add user %s: %v", u.Login, err)
	}
	return u
}

// EncodePassword is the unicodePwd value AD expects: the password in
// double quotes, as UTF-16LE.
func EncodePassword(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}

// Attr reads one attribute of dn as Administrator ("" when absent).
func (dc *DC) Attr(t testing.TB, dn, attr string) string {
	t.Helper()
	c := dc.Admin(t)
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{attr}, nil))
	if err != nil {
		t.Fatalf("read %s of %s: %v", attr, dn, err)
	}
	return res.Entries[0].GetAttributeValue(attr)
}

// Replace sets attr of dn to values as Administrator.
func (dc *DC) Replace(t testing.TB, dn, attr string, values ...string) {
	t.Helper()
	c := dc.Admin(t)
	defer c.Close()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, values)
	if err := c.Modify(m); err != nil {
		t.Fatalf("set %s of %s: %v", attr, dn, err)
	}
}

// Locked reports whether u is locked out now (lockoutTime set and not 0).
// AD keeps lockoutTime after the lockout duration ends; the harness sets
// a 30-minute duration, far longer than a test.
func (dc *DC) Locked(t testing.TB, u User) bool {
	t.Helper()
	v := dc.Attr(t, u.DN, "lockoutTime")
	return v != "" && v != "0"
}

// LockOut makes the domain lock u out the way it happens in real life:
// binds with a wrong password until the lockout threshold is reached.
func (dc *DC) LockOut(t testing.TB, u User) {
	t.Helper()
	for i := 0; i < LockoutThreshold; i++ {
		err := dc.Bind(u.DN, "Wrong-Passw0rd-"+strconv.Itoa(i))
		if err == nil {
			t.Fatalf("bind of %s with a wrong password worked", u.Login)
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("wrong-password bind of %s: %v", u.Login, err)
		}
	}
	if !dc.Locked(t, u) {
		t.Fatalf("%s not locked after %d failed binds (lockoutTime %q)", u.Login, LockoutThreshold, dc.Attr(t, u.DN, "lockoutTime"))
	}
}

// BindError is the AD "data" code of a refused bind (the NT status in the
// diagnostic message: 52e wrong password, 775 locked out, 533 disabled),
// or "" when the bind worked or the code is not there.
func BindError(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) || le.Err == nil {
		return ""
	}
	msg := le.Err.Error()
	if i := strings.Index(msg, "data "); i >= 0 {
		rest := msg[i+5:]
		if j := strings.IndexAny(rest, ", "); j > 0 {
			return rest[:j]
		}
	}
	return ""
}

// WaitBind waits until who binds with password, for after a restart.
func (dc *DC) WaitBind(who, password string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := dc.Bind(who, password)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
