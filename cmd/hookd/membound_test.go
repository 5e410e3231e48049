package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBodyMemoryBound holds two publishes whose bodies are still arriving,
// which take the whole --max-body-memory: a third publish is 503 with
// Retry-After and the envelope before its body is read, and nothing of it
// is stored; once the two are answered, publishes are taken again.
func TestBodyMemoryBound(t *testing.T) {
	t.Parallel()
	onEachStore(t, []string{"--max-event-body", "1MiB", "--max-body-memory", "2MiB"}, func(t *testing.T, in *instance) {
		c := in.client(t, in.liveKey)
		body := func(i int) string {
			b := fmt.Sprintf(`{"type":"Load.test","id":"held-%d","data":{"x":"`, i)
			return b + strings.Repeat("x", 1<<20-len(b)-4) + `"}}`
		}
		// Two publishes send their headers and half of their body.
		hold := func() []net.Conn {
			var held []net.Conn
			for i := range 2 {
				b := body(i)
				conn, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", in.liveKey, len(b), b[:len(b)/2])
				held = append(held, conn)
			}
			return held
		}
		// A publish that would be 400 once read is 503 while the two
		// hold the memory (the wait is for the server to read their
		// headers). A probe can take its few bytes just as the second
		// held body is charged, which is then the one refused: the
		// probes never see 503, and the two are held again.
		var (
			held []net.Conn
			r    response
		)
		for try := 1; ; try++ {
			held = hold()
			refused := false
			for deadline := time.Now().Add(10 * time.Second); !refused && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				r = send(t, in.base, "POST", "/v1/events", in.liveKey, "application/json", `{"type":"Load.test","data":`)
				refused = r.status == http.StatusServiceUnavailable
			}
			if refused {
				break
			}
			for _, conn := range held {
				conn.Close()
			}
			if try == 3 {
				t.Fatal("timed out waiting for a publish to be refused for memory")
			}
		}
		if r.header.Get("Retry-After") == "" || r.errorCode(t) != "unavailable" || !strings.Contains(string(r.body), "2097152") {
			t.Fatalf("over the bound: %d %v %s", r.status, r.header, r.body)
		}
		full := send(t, in.base, "POST", "/v1/events", in.liveKey, "application/json", body(9))
		if full.status != http.StatusServiceUnavailable {
			t.Fatalf("a whole publish over the bound: %d %s", full.status, full.body)
		}
		// The two finish and are accepted.
		for i, conn := range held {
			b := body(i)
			io.WriteString(conn, b[len(b)/2:])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil || resp.StatusCode != http.StatusAccepted {
				t.Fatalf("held publish %d: %v %v", i, resp, err)
			}
		}
		c.must(202, "POST", "/v1/events", map[string]any{"type": "Load.test", "id": "after", "data": map[string]any{}})
		var ids []string
		for _, e := range c.must(200, "GET", "/v1/events", nil).list(t) {
			ids = append(ids, str(e.(map[string]any)["id"]))
		}
		slices.Sort(ids)
		if strings.Join(ids, ",") != "after,held-0,held-1" {
			t.Errorf("stored events %v, want the two held and the one after", ids)
		}
	})
}
