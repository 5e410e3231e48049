package hookd_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// refused holds an address in every range the default policy blocks, and
// the IPv6 forms that embed a blocked IPv4 address.
var refused = []string{
	"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3",
	"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
	"192.168.0.1", "192.168.255.255", "100.64.0.1", "100.127.255.255",
	"169.254.169.254", "169.254.0.1", "192.0.0.1", "192.0.2.1", "192.88.99.1",
	"198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1",
	"224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255",
	"::1", "::", "fc00::1", "fd00::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1",
	"2001:db8::1", "100::1", "2001:2::1", "2001:10::1", "2001:20::1",
	"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
	"64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
	"64:ff9b::a00:1",                       // NAT64 of 10.0.0.1
	"64:ff9b:1::a9fe:a9fe",                 // local-use NAT64 of 169.254.169.254
	"2002:7f00:1::",                        // 6to4 of 127.0.0.1
	"2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
	"2002:c0a8:101::1",                     // 6to4 of 192.168.1.1
	"2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1 (bits inverted)
	"2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo, client 10.0.0.1
	"::127.0.0.1",                          // IPv4-compatible
	"::10.0.0.1",
}

var permitted = []string{
	"8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1111", "2a00:1450:4001::200e",
	"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	"2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, client 8.8.8.8
}

func TestNetPolicyDefault(t *testing.T) {
	t.Parallel()
	var p hookd.NetPolicy
	for _, s := range refused {
		if p.Permits(netip.MustParseAddr(s)) {
			t.Errorf("Permits(%s) = true, want refused", s)
		}
	}
	for _, s := range permitted {
		if !p.Permits(netip.MustParseAddr(s)) {
			t.Errorf("Permits(%s) = false, want permitted", s)
		}
	}
}

func TestNetPolicyAllowPrivate(t *testing.T) {
	t.Parallel()
	p := hookd.NetPolicy{AllowPrivate: true}
	for _, s := range append(refused, permitted...) {
		if !p.Permits(netip.MustParseAddr(s)) {
			t.Errorf("AllowPrivate: Permits(%s) = false", s)
		}
	}
}

func TestNetPolicyAllow(t *testing.T) {
	t.Parallel()
	p := hookd.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	tests := map[string]bool{
		"127.0.0.1":        true,
		"::ffff:127.0.0.1": true,
		"64:ff9b::7f00:1":  true,
		"2002:7f00:1::":    true,
		"fd00::1":          true,
		"fc00::1":          false,
		"10.0.0.1":         false,
		"::ffff:10.0.0.1":  false,
		"::1":              false,
		"169.254.169.254":  false,
		"8.8.8.8":          true,
	}
	for s, want := range tests {
		if got := p.Permits(netip.MustParseAddr(s)); got != want {
			t.Errorf("Allow 127.0.0.0/8, fd00::/8: Permits(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestNetPolicyCheckURL(t *testing.T) {
	t.Parallel()
	var p hookd.NetPolicy
	for _, u := range []string{
		"http://127.0.0.1/hook", "https://10.1.2.3:8443/x", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/",
		"http://169.254.169.254/latest/meta-data", "http://[64:ff9b::a00:1]/", "http://0.0.0.0:80/",
	} {
		err := p.CheckURL("url", u)
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.HasPrefix(hookd.ErrorMessage(err), "url ") {
			t.Errorf("CheckURL(%q) = %v, want EINVALID naming url", u, err)
		}
	}
	// Names are judged at connect time, when they resolve; public literals pass.
	for _, u := range []string{"http://localhost/hook", "https://example.com/x", "http://8.8.8.8/", "https://[2606:4700::1111]/", "::not a url"} {
		if err := p.CheckURL("url", u); err != nil {
			t.Errorf("CheckURL(%q) = %v, want nil", u, err)
		}
	}
	open := hookd.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if err := open.CheckURL("url", "http://10.1.2.3/"); err != nil {
		t.Errorf("CheckURL with 10.0.0.0/8 allowed = %v", err)
	}
}
