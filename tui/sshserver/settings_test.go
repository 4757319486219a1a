package sshserver

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr-project/sspr/config"
)

// file is how sspr.yaml holds the block.
type file struct {
	SSH Settings `yaml:"ssh"`
}

func TestSettingsLoad(t *testing.T) {
	f := file{SSH: Default()}
	err := config.Load([]byte(`ssh:
  listen: 127.0.0.1:2022
  max_per_source: 0
  new_per_source_window: 1m
  shutdown_grace: 30s
  proxy_protocol:
    trusted: [10.0.0.5, 10.1.2.3/16, "2001:db8::1", "::ffff:192.0.2.1"]
`), &f)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen = "127.0.0.1:2022"
	want.MaxPerSource = 0
	want.NewPerSourceWindow = time.Minute
	want.ShutdownGrace = 30 * time.Second
	got := f.SSH
	trusted := got.ProxyProtocol.Trusted
	got.ProxyProtocol.Trusted = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	var ps []string
	for _, p := range trusted {
		ps = append(ps, p.String())
	}
	if s := strings.Join(ps, " "); s != "10.0.0.5/32 10.1.0.0/16 2001:db8::1/128 192.0.2.1/32" {
		t.Errorf("trusted: %s", s)
	}
	if !trusted[0].Contains(netip.MustParseAddr("10.0.0.5")) || trusted[0].Contains(netip.MustParseAddr("10.0.0.6")) {
		t.Error("10.0.0.5 is not its own /32")
	}
}

func TestSettingsErrorsCarryTheirPaths(t *testing.T) {
	f := file{SSH: Default()}
	err := config.Load([]byte(`ssh:
  listen: 2222
  max_sesions: 10
  max_per_source: -1
  new_per_source_window: 0s
  fps: 500
  proxy_protocol:
    trusted: [10.0.0.5, 10.0.0.x, 10.0.0.0/33]
`), &f)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		`line 2: ssh.listen: "2222" is not allowed (host:port, e.g. :2222 or 127.0.0.1:2222)`,
		"line 3: ssh.max_sesions: unknown key (did you mean max_sessions?)",
		"line 4: ssh.max_per_source: -1 is not allowed (0 to 1000)",
		"line 5: ssh.new_per_source_window: 0s is not allowed (1s to 1h)",
		"line 6: ssh.fps: 500 is not allowed (10 to 120)",
		`line 8: ssh.proxy_protocol.trusted[1]: "10.0.0.x" is not allowed (an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24)`,
		`line 8: ssh.proxy_protocol.trusted[2]: "10.0.0.0/33" is not allowed (an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestSettingsValidate(t *testing.T) {
	s := Default()
	if err := s.Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	s.Listen = ""
	s.ProxyProtocol.Trusted = []Prefix{MustPrefix("10.0.0.1"), {}}
	want := `listen: "" is not allowed (host:port, e.g. :2222 or 127.0.0.1:2222)` + "\n" +
		"proxy_protocol.trusted[1]: is not allowed (an IP address or a CIDR prefix, e.g. 10.0.0.5 or 10.0.0.0/24)"
	if err := s.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestNewRefusesNegativeCaps(t *testing.T) {
	cfg := Config{Settings: Default(), NewModel: (&probe{}).newModel}
	cfg.HostKey = t.TempDir() + "/host_ed25519"
	cfg.MaxPerSource = -1
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "0: no cap") {
		t.Errorf("New with max per source -1: %v", err)
	}
	cfg.MaxPerSource, cfg.NewPerSource = 0, 0
	if _, err := New(cfg); err != nil {
		t.Errorf("New with no caps: %v", err)
	}
}

func TestZeroIsNoCap(t *testing.T) {
	now := time.Now()
	open := newSourceTable(0, 0, time.Minute)
	for i := range 50 {
		if r := open.admit("192.0.2.1", now); r != "" {
			t.Fatalf("connection %d refused (%s) with no caps", i+1, r)
		}
	}
	capped := newSourceTable(2, 0, time.Minute)
	for range 2 {
		capped.admit("192.0.2.1", now)
	}
	if r := capped.admit("192.0.2.1", now); r != refusedPerSource {
		t.Errorf("third connection: %q, want %s", r, refusedPerSource)
	}
}
