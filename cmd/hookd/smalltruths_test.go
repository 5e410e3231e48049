package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestListPaging walks every list of the canonical API one row at a time,
// on both stores: next_cursor leads to the next row and is null on the
// last page, a full one included; a cursor the API did not give is 400.
func TestListPaging(t *testing.T) {
	t.Parallel()
	onEachStore(t, nil, func(t *testing.T, in *instance) {
		c := in.client(t, in.liveKey)
		c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.created"})
		c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.paid"})
		c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/a", "event_types": []string{"Order.created"}})
		c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/b", "event_types": []string{"Order.paid"}})
		c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}})
		c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.paid", "data": map[string]any{}})
		for _, list := range []string{"/v1/webhooks", "/v1/event-types", "/v1/events", "/v1/deliveries"} {
			t.Run(list, func(t *testing.T) {
				if r := c.must(200, "GET", list+"?limit=2", nil).json(t); r["next_cursor"] != nil || len(r["data"].([]any)) != 2 {
					t.Errorf("a full last page: %v", r)
				}
				first := c.must(200, "GET", list+"?limit=1", nil).json(t)
				cursor, _ := first["next_cursor"].(string)
				if cursor == "" {
					t.Fatalf("first of two pages has no next_cursor: %v", first)
				}
				second := c.must(200, "GET", list+"?limit=1&cursor="+cursor, nil).json(t)
				if second["next_cursor"] != nil || len(second["data"].([]any)) != 1 || fmt.Sprint(second["data"]) == fmt.Sprint(first["data"]) {
					t.Errorf("second and last page: %v after %v", second, first)
				}
				for _, bad := range []string{"not%20a%20cursor!", "%2B%2F%2B%2F"} {
					r := c.do("GET", list+"?cursor="+bad, nil)
					if r.status != 400 || r.errorCode(t) != "malformed" || !strings.Contains(string(r.body), "cursor") {
						t.Errorf("cursor %s: %d %s", bad, r.status, r.body)
					}
				}
			})
		}
	})
}

// TestListenIgnoresHookdAddr runs `hookd listen` with the HOOKD_ADDR that
// `hookd serve` beside it would use: listen keeps its own default.
func TestListenIgnoresHookdAddr(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"listen"}, []string{"HOOKD_ADDR=" + taken.Addr().String()}, out, out)
	}()
	// Either it listens on its default, or that port is taken on this
	// machine and it says so; never the serve address.
	waitFor(t, "hookd listen to start or fail", func() bool {
		select {
		case code := <-done:
			done <- code
			return true
		default:
			return strings.Contains(out.String(), "listening")
		}
	})
	cancel()
	<-done
	if got := out.String(); strings.Contains(got, taken.Addr().String()) || !strings.Contains(got, "127.0.0.1:9000") {
		t.Errorf("hookd listen with HOOKD_ADDR=%s: %s", taken.Addr(), got)
	}
}

// TestConfigurationDocDefaults checks each default that docs/configuration.md
// states against the flag's own.
func TestConfigurationDocDefaults(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	c := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serveFlags(fs, &c)
	checked := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
		f := fs.Lookup(name)
		if f == nil || f.DefValue == "" {
			continue // not a serve flag, or one whose default only the doc spells out
		}
		documented, _, _ := strings.Cut(strings.TrimSpace(cells[2]), " ")
		documented = strings.Trim(documented, "`")
		if !sameDefault(documented, f.DefValue) {
			t.Errorf("--%s: docs/configuration.md says %q, the flag %q", name, documented, f.DefValue)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d defaults found in docs/configuration.md", checked)
	}
}

// sameDefault compares a documented default with a flag's, as durations
// when both are.
func sameDefault(doc, def string) bool {
	if doc == def {
		return true
	}
	a, errA := time.ParseDuration(doc)
	b, errB := time.ParseDuration(def)
	return errA == nil && errB == nil && a == b
}
