package webhook_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/webhook"
)

// addressRE matches what an attempt error must never show: an IPv4 or IPv6
// address, with or without a port.
var addressRE = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[?[0-9a-fA-F]{0,4}::[0-9a-fA-F:.]*\]?|:\d{2,5}\b`)

// resolverAddresses are the name servers of this machine, which a failed
// lookup's own error names.
func resolverAddresses(t *testing.T) []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}

// TestAttemptErrorsShowNoInternals makes attempts fail in each way the
// network can, to names that resolve to loopback, and checks that the
// error the tenant reads names no address: not the resolved one, not the
// resolver's, not hookd's own end of the connection.
func TestAttemptErrorsShowNoInternals(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// A receiver that resets every connection after reading the request.
	reset := serveConns(t, func(c net.Conn) {
		c.Read(make([]byte, 4096))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	port := func(s *httptest.Server) string { return s.URL[strings.LastIndexByte(s.URL, ':'):] }

	allowed := hookd.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, tc := range []struct {
		name   string
		policy hookd.NetPolicy
		url    string
		class  hookd.ErrorClass
	}{
		{"blocked by name", hookd.NetPolicy{}, "http://localhost" + port(plain) + "/hook", hookd.ClassDestinationBlocked},
		{"blocked literal", hookd.NetPolicy{}, plain.URL + "/hook", hookd.ClassDestinationBlocked},
		{"refused", allowed, "http://localhost:" + strconv.Itoa(closedPort) + "/hook", hookd.ClassConnection},
		{"reset", allowed, "http://localhost" + reset[strings.LastIndexByte(reset, ':'):] + "/hook", hookd.ClassConnection},
		{"no such host", allowed, "http://no-such-host.invalid/hook", hookd.ClassConnection},
		{"self-signed certificate", allowed, "https://localhost" + port(tlsSrv) + "/hook", hookd.ClassConnection},
		{"https to plain HTTP", allowed, "https://localhost" + port(plain) + "/hook", hookd.ClassConnection},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, webhook.Config{Policy: tc.policy})
			res := c.Send(context.Background(), newJob(tc.url))
			msg := res.Attempt.Error
			if res.Attempt.ErrorClass != tc.class || msg == "" {
				t.Fatalf("Send = %+v, want class %s with a message", res.Attempt, tc.class)
			}
			if m := addressRE.FindString(msg); m != "" {
				t.Errorf("the error %q shows the address %q", msg, m)
			}
			for _, ns := range resolverAddresses(t) {
				if strings.Contains(msg, ns) {
					t.Errorf("the error %q shows the resolver %s", msg, ns)
				}
			}
			for _, word := range []string{"dial tcp", "lookup", "read tcp", "write tcp"} {
				if strings.Contains(msg, word) {
					t.Errorf("the error %q shows %q", msg, word)
				}
			}
		})
	}
}
