package hookd

import (
	"net/netip"
	"net/url"
)

// NetPolicy decides which destination addresses deliveries may connect to.
// By default every non-public range is refused, so that a webhook cannot make
// hookd reach its own network (SSRF). The check runs at connect time on the
// resolved address; creating a webhook whose URL is a literal refused address
// is refused too.
type NetPolicy struct {
	AllowPrivate bool           // allow everything (local development and tests)
	Allow        []netip.Prefix // allow these ranges even though blocked
}

// blockedPrefixes are refused unless allowed. IPv4-mapped, NAT64, 6to4 and
// Teredo forms are reduced to their IPv4 address first (see embeddedIPv4).
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"255.255.255.255/32",
	"::/96", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	"2001:db8::/32", "100::/64", "2001:2::/48", "2001:10::/28", "2001:20::/28",
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for in the
// IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo forms.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4In6() {
		return a.Unmap(), true
	}
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64WellKnown.Contains(a), nat64Local.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case teredo.Contains(a):
		// the client's address is the last 32 bits, inverted
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	// IPv4-compatible ::a.b.c.d (deprecated) — but not :: and ::1 themselves
	var zero [12]byte
	if [12]byte(b[:12]) == zero && (b[12]|b[13]) != 0 {
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	}
	return netip.Addr{}, false
}

// Permits reports whether a connection to a may be made.
func (p NetPolicy) Permits(a netip.Addr) bool {
	if p.AllowPrivate {
		return true
	}
	a = a.WithZone("")
	for _, pr := range p.Allow {
		if pr.Contains(a) || (a.Is4In6() && pr.Contains(a.Unmap())) {
			return true
		}
	}
	if blocked(a) {
		return false
	}
	if v4, ok := embeddedIPv4(a); ok {
		for _, pr := range p.Allow {
			if pr.Contains(v4) {
				return true
			}
		}
		return !blocked(v4)
	}
	return true
}

func blocked(a netip.Addr) bool {
	for _, pr := range blockedPrefixes {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// CheckURL returns EINVALID when rawURL's host is a literal IP address the
// policy refuses. Names are checked at connect time, when they resolve.
func (p NetPolicy) CheckURL(field, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil // ValidateURL reports malformed URLs
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	if !p.Permits(a) {
		return Errorf(EINVALID, "%s points to %s, a private or reserved address that hookd does not deliver to (the operator can allow it with --allow-cidr)", field, a)
	}
	return nil
}
