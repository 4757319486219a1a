package ldap

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
)

func goodConfig() Config {
	c := Default()
	c.URLs = []string{"ldap://dc1.example.com"}
	c.BindDN = "cn=sspr,dc=example,dc=com"
	c.BindPassword = config.InlineSecret("x")
	c.BaseDN = "dc=example,dc=com"
	return c
}

func TestConfigValidateNamesTheField(t *testing.T) {
	good := goodConfig()
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.pem")
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.URLs = nil }, "urls: at least one"},
		{func(c *Config) { c.URLs = []string{"http://x"} }, `urls[0]: "http://x" is not an ldap://`},
		{func(c *Config) { c.URLs = []string{"ldap://a", "ldaps://b"}; c.StartTLS = true }, "urls[1]"},
		{func(c *Config) { c.Flavor = "ad" }, "urls[0]: \"ldap://dc1.example.com\": Active Directory sets passwords only over an encrypted connection"},
		{func(c *Config) { c.Flavor = "novell" }, `flavor: "novell"`},
		{func(c *Config) { c.BindDN = "" }, "bind_dn: the service account's DN is needed"},
		{func(c *Config) { c.BindDN = "not a dn" }, `bind_dn: "not a dn" is not a DN`},
		{func(c *Config) { c.BindPassword = config.Secret{} }, "bind_password: is missing (bind_password, bind_password_file or bind_password_env)"},
		{func(c *Config) { c.BaseDN = "" }, "base_dn"},
		{func(c *Config) { c.UserFilter = "(uid=alice)" }, "user_filter: \"(uid=alice)\" has no {login}"},
		{func(c *Config) { c.UserFilter = "(uid={login}" }, "user_filter: \"(uid={login}\" is not a valid filter"},
		{func(c *Config) { c.CertFile = "c.pem" }, "key_file: is missing: cert_file is given"},
		{func(c *Config) { c.KeyFile = "k.pem" }, "cert_file: is missing: key_file is given"},
		{func(c *Config) { c.CAFile = missing }, `ca_file: "` + missing + `" is not a readable file (no such file or directory)`},
		{func(c *Config) { c.TOTPKeyFile = t.TempDir() }, "totp_key_file: "},
	} {
		c := good
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}

// Validate reports every wrong key, each at its path in the block.
func TestConfigValidateCollectsEveryError(t *testing.T) {
	c := goodConfig()
	c.URLs = []string{"ldaps://a", "ftp://b"}
	c.BindDN = ""
	c.BindPassword = config.Secret{}
	c.UserFilter = "(uid=x)"
	var es config.Errors
	if !errors.As(c.Validate(), &es) {
		t.Fatalf("Validate() = %v, want config.Errors", c.Validate())
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
	}
	if got, want := strings.Join(paths, " "), "urls[1] bind_dn bind_password user_filter"; got != want {
		t.Fatalf("paths %q, want %q:\n%v", got, want, es)
	}
}

// New checks the ranges too, and refuses an empty bind password.
func TestNewChecksRangesAndPassword(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.PoolSize = 1000 }, "pool_size: 1000 is not allowed (1 to 100)"},
		{func(c *Config) { c.Timeout = time.Hour }, "timeout: 1h is not allowed (1s to 5m)"},
		{func(c *Config) { c.ConnectTimeout = -time.Second }, "connect_timeout: -1s is not allowed (1s to 1m)"},
		{func(c *Config) { c.BindPassword = config.InlineSecret(" ") }, "bind_password: is empty"},
	} {
		c := goodConfig()
		tc.mod(&c)
		if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New() = %v, want %q", err, tc.want)
		}
	}
	// A Config built in Go may leave the timeouts and the pool size zero.
	c := goodConfig()
	c.ConnectTimeout, c.Timeout, c.PoolSize = 0, 0, 0
	d, err := New(c, nil)
	if err != nil {
		t.Fatalf("New with zero timeouts: %v", err)
	}
	defer d.Close()
	if d.cfg.ConnectTimeout != 5*time.Second || d.cfg.Timeout != 10*time.Second || d.cfg.PoolSize != 4 {
		t.Fatalf("zero values not defaulted: %v %v %d", d.cfg.ConnectTimeout, d.cfg.Timeout, d.cfg.PoolSize)
	}
}

type root struct {
	LDAP *Config `yaml:"ldap"`
}

func TestConfigLoad(t *testing.T) {
	t.Setenv("SSPR_TEST_LDAP_PASSWORD", "s3cret")
	var r root
	err := config.Load([]byte(`ldap:
  urls: [ldaps://dc1.example.com, ldaps://dc2.example.com]
  bind_dn: cn=sspr,ou=Service,dc=example,dc=com
  bind_password_env: SSPR_TEST_LDAP_PASSWORD
  base_dn: ou=People,dc=example,dc=com
  flavor: ad
  timeout: 30s
  unlock_on_reset: false
  attributes:
    mobile: otherMobile
    office: "-"
`), &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.LDAP == nil {
		t.Fatal("no ldap block")
	}
	if got := r.LDAP.BindPassword.Value(); got != "s3cret" {
		t.Fatalf("bind password %q", got)
	}
	want := Default()
	want.URLs = []string{"ldaps://dc1.example.com", "ldaps://dc2.example.com"}
	want.BindDN = "cn=sspr,ou=Service,dc=example,dc=com"
	want.BaseDN = "ou=People,dc=example,dc=com"
	want.Flavor = FlavorAD
	want.Timeout = 30 * time.Second
	want.UnlockOnReset = false
	want.Attributes = Attributes{Mobile: "otherMobile", Office: "-"}
	got := *r.LDAP
	got.BindPassword = config.Secret{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", got, want)
	}
	if want.ConnectTimeout != 5*time.Second || want.PoolSize != 4 || !Default().UnlockOnReset {
		t.Fatalf("defaults changed: %+v", Default())
	}
}

func TestConfigLoadReportsEveryWrongKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.pem")
	var r root
	err := config.Load([]byte(`ldap:
  urls: [http://dc1.example.com]
  connect_timeout: 2m
  pool_size: 0
  bind_dn: cn=sspr,dc=example,dc=com
  base_dn: dc=example,dc=com
  user_filter: (uid=alice)
  ca_file: `+missing+`
  flavour: ad
`), &r)
	want := []string{
		"line 1: ldap.bind_password: is missing (bind_password, bind_password_file or bind_password_env)",
		`line 2: ldap.urls[0]: "http://dc1.example.com" is not an ldap:// or ldaps:// URL with a host`,
		"line 3: ldap.connect_timeout: 2m is not allowed (1s to 1m)",
		"line 4: ldap.pool_size: 0 is not allowed (1 to 100)",
		`line 7: ldap.user_filter: "(uid=alice)" has no {login}`,
		`line 8: ldap.ca_file: "` + missing + `" is not a readable file (no such file or directory)`,
		"line 9: ldap.flavour: unknown key (did you mean flavor?)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestConfigReference(t *testing.T) {
	md := config.Markdown(config.Reference(&root{}))
	for _, want := range []string{
		"| `ldap.connect_timeout` | `5s` | connecting (TCP and TLS) to one URL (1s to 1m) |",
		"| `ldap.pool_size` | `4` | service-account connections kept and used at once (1 to 100) |",
		"| `ldap.unlock_on_reset` | `true` |",
		"| `ldap.bind_password`, `bind_password_file`, `bind_password_env` | none |",
		"| `ldap.attributes.login` | the flavor's |",
		"| `ldap.totp_key_file` | none |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("reference lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "totp_key`") || strings.Contains(md, "TOTPKey") {
		t.Errorf("the runtime key is in the reference:\n%s", md)
	}
}

func TestDefaultsPerFlavor(t *testing.T) {
	c := Config{Flavor: FlavorAD}.withDefaults()
	if c.Attributes.Login != "sAMAccountName" || !strings.Contains(c.UserFilter, "userPrincipalName={login}") {
		t.Fatalf("AD defaults: %+v", c)
	}
	c = Config{Attributes: Attributes{Office: "-", TOTPSecret: "employeeNumber"}}.withDefaults()
	if c.Flavor != FlavorOpenLDAP || c.Attributes.Login != "uid" || c.Attributes.Office != "" || c.Attributes.TOTPSecret != "employeeNumber" {
		t.Fatalf("OpenLDAP defaults: %+v", c)
	}
}
