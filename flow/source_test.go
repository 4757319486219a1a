package flow_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/sspr-project/sspr/flow"
)

// TestIdentifyPerSourceCountsIPv6By64: a client that takes a new address
// of its /64 for every try (behind the PROXY protocol each is a new
// remote) is still one source: 25 attempts from 25 addresses of one /64
// meet the limit of 20 like 25 from one address.
func TestIdentifyPerSourceCountsIPv6By64(t *testing.T) {
	r := newRig(t, func(c *flow.Config) {
		c.Limits = flow.Limits{SessionsPerSource: flow.Rate{Count: 100, Per: time.Second},
			TrustedSources: []string{"2001:db8:9::/48"}}
	})
	identify := func(remote string) error {
		s := mustBegin(t, r.eng, flow.Origin{Channel: flow.SSH, Remote: remote})
		return s.Identify(bg, "alice", flow.CaptchaAnswer(s))
	}
	got := 0
	for i := 1; i <= 25; i++ {
		err := identify(fmt.Sprintf("[2001:db8:1:2::%x]:50022", i))
		switch flow.ReasonOf(err) {
		case "":
			got++
		case flow.ReasonRateLimited:
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if got != 20 {
		t.Errorf("%d of 25 attempts from one /64 went through, want 20", got)
	}
	// Another /64 is another source; a trusted range is matched by the
	// address, not by its /64.
	mustOK(t, identify("[2001:db8:1:3::1]:50022"))
	for i := 0; i < 25; i++ {
		mustOK(t, identify(fmt.Sprintf("[2001:db8:9:1::%x]:50022", i+1)))
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ addr, key, wide string }{
		{"192.0.2.7", "192.0.2.7", "192.0.2.0/24"},
		{"::ffff:192.0.2.7", "192.0.2.7", "192.0.2.0/24"},
		{"2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"2001:db8:1:ff::1", "2001:db8:1:ff::/64", "2001:db8:1::/48"},
		{"fe80::1%eth0", "fe80::/64", "fe80::/48"},
	} {
		ip := netip.MustParseAddr(tc.addr)
		if got := flow.SourceKey(ip); got != tc.key {
			t.Errorf("SourceKey(%s) = %q, want %q", tc.addr, got, tc.key)
		}
		if got := flow.SourcePrefix(ip, 24, 48); got != tc.wide {
			t.Errorf("SourcePrefix(%s, 24, 48) = %q, want %q", tc.addr, got, tc.wide)
		}
	}
	// A /56 is 256 sources but one prefix.
	keys, prefixes := map[string]bool{}, map[string]bool{}
	for i := range 256 {
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:%x::1", 0x100+i))
		keys[flow.SourceKey(ip)] = true
		prefixes[flow.SourcePrefix(ip, 24, 48)] = true
	}
	if len(keys) != 256 || len(prefixes) != 1 {
		t.Errorf("a /56: %d sources, %d prefixes; want 256 and 1", len(keys), len(prefixes))
	}
}
