package flow

import (
	"net"
	"net/netip"
)

// SourceKey is the unit that per-source limits count, here and at the SSH
// front alike: an IPv4 address, or the /64 of an IPv6 address, since one
// host commonly holds a whole /64 and may take a new address for every
// try. An IPv4-mapped IPv6 address is its IPv4 address; a zone is
// dropped.
func SourceKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// SourcePrefix is the wider network ip belongs to, for the limits that
// count a whole network (one customer's allocation): the /v4Bits of an
// IPv4 address or the /v6Bits of an IPv6 one, as a CIDR prefix. Bits out
// of range are clamped to the address's length.
func SourcePrefix(ip netip.Addr, v4Bits, v6Bits int) string {
	ip = ip.Unmap().WithZone("")
	bits := v6Bits
	if ip.Is4() {
		bits = v4Bits
	}
	bits = max(0, min(bits, ip.BitLen()))
	p, _ := ip.Prefix(bits)
	return p.String()
}

// sourceAddr is the address of an SSH origin without its port, or the
// kiosk's or local user's name.
func sourceAddr(o Origin) string {
	if o.Channel == SSH {
		if host, _, err := net.SplitHostPort(o.Remote); err == nil {
			return host
		}
	}
	return o.Remote
}

// sourceOf is what the per-source limits count: SourceKey of an SSH
// origin's address, the kiosk's name, or the local user.
func sourceOf(o Origin) string {
	a := sourceAddr(o)
	if o.Channel == SSH {
		if ip, err := netip.ParseAddr(a); err == nil {
			return SourceKey(ip)
		}
	}
	return a
}
