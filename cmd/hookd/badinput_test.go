package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

// onEachStore runs test on SQLite and on PostgreSQL, each in a `hookd
// serve` of its own started with extra flags.
func onEachStore(t *testing.T, extra []string, test func(t *testing.T, in *instance)) {
	t.Helper()
	for name, flags := range map[string]func(t *testing.T) []string{
		"sqlite":   func(t *testing.T) []string { return nil },
		"postgres": func(t *testing.T) []string { return []string{"--database-url", pgtest.NewDatabase(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, startHookd(t, append(flags(t), extra...)...))
		})
	}
}

// send makes one request exactly as given: no Content-Type unless ct is
// set, redirects not followed.
func send(t *testing.T, base, method, path, key, ct, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestBadInputBothStores sends what a careless or hostile client would, on
// SQLite and on PostgreSQL, and checks that each store's answer is the same
// refusal, in the error envelope (or the compatibility API's own shape),
// never a 500 and never a silently changed value.
func TestBadInputBothStores(t *testing.T) {
	t.Parallel()
	const json = "application/json"
	onEachStore(t, nil, func(t *testing.T, in *instance) {
		c := in.client(t, in.liveKey)
		id := str(c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook"}).data(t)["id"])
		for _, tc := range []struct {
			name, method, path, ct, body string
			status                       int
			code                         string // "" for a compatibility API's own error shape
			mentions                     string
		}{
			{"NUL in a webhook id", "GET", "/v1/webhooks/wh_%00x", "", "", 400, "malformed", "path"},
			{"invalid UTF-8 in a webhook id", "GET", "/v1/webhooks/%ff", "", "", 400, "malformed", "path"},
			{"invalid UTF-8 in a secret's webhook id", "GET", "/v1/webhooks/%c3/secret", "", "", 400, "malformed", "path"},
			{"invalid UTF-8 in an update's id", "PATCH", "/v1/webhooks/%ff", json, `{"name":"x"}`, 400, "malformed", "path"},
			{"NUL in a delete's id", "DELETE", "/v1/webhooks/%00", "", "", 400, "malformed", "path"},
			{"invalid UTF-8 in an event id", "GET", "/v1/events/msg_%fe", "", "", 400, "malformed", "path"},
			{"NUL in a delivery id", "GET", "/v1/deliveries/dlv_%00", "", "", 400, "malformed", "path"},
			{"NUL in a retry's id", "POST", "/v1/deliveries/%00/retry", "", "", 400, "malformed", "path"},
			{"invalid UTF-8 in an event type", "GET", "/v1/event-types/A.%ff", "", "", 400, "malformed", "path"},
			{"NUL in ?url=", "GET", "/v1/webhooks?url=%00", "", "", 422, "invalid", "url"},
			{"invalid UTF-8 in ?name=", "GET", "/v1/webhooks?name=%ff", "", "", 422, "invalid", "name"},
			{"invalid UTF-8 in ?type=", "GET", "/v1/events?type=%ff", "", "", 422, "invalid", "type"},
			{"NUL in ?webhook_id=", "GET", "/v1/deliveries?webhook_id=%00", "", "", 422, "invalid", "webhook_id"},
			{"NUL in ?resource=", "GET", "/v1/event-types?resource=%00", "", "", 422, "invalid", "resource"},
			{"CallFire: invalid UTF-8 in an id", "GET", "/compat/callfire/v2/webhooks/%ff", "", "", 400, "", ""},
			{"CallFire: NUL in ?name=", "GET", "/compat/callfire/v2/webhooks?name=%00", "", "", 400, "", ""},
			{"Salesfinity: invalid UTF-8 in an id", "GET", "/compat/salesfinity/v1/webhooks/%ff", "", "", 400, "", ""},
			{"backend: NUL in an id", "GET", "/v1/backend/webhooks/%00", "", "", 400, "malformed", "path"},
			{"backend: invalid UTF-8 in a secret's id", "GET", "/v1/backend/webhooks/%ff/secret", "", "", 400, "malformed", "path"},

			{"lone surrogate in a name", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","name":"a\ud800"}`, 422, "invalid", "name"},
			{"invalid UTF-8 in a description", "POST", "/v1/webhooks", json, "{\"url\":\"https://example.com/a\",\"description\":\"\xff\"}", 422, "invalid", "description"},
			{"lone surrogate in a metadata value", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","metadata":{"k":"\udc00"}}`, 422, "invalid", "metadata.k"},
			{"lone surrogate in a filter", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","filter":{"data.x":"\ud800"}}`, 422, "invalid", "filter.data.x"},
			{"lone surrogate in an update", "PATCH", "/v1/webhooks/" + id, json, `{"name":"\ud83d"}`, 422, "invalid", "name"},
			{"lone surrogate in an event type", "POST", "/v1/event-types", json, `{"name":"A.b","description":"\ud800"}`, 422, "invalid", "description"},
			{"lone surrogate in an event's type", "POST", "/v1/events", json, `{"type":"A.\ud800","data":{}}`, 422, "invalid", "type"},
			{"lone surrogate in an event's data", "POST", "/v1/events", json, `{"type":"A.b","data":{"x":["\ud800"]}}`, 400, "malformed", "data.x[0]"},
			{"invalid UTF-8 in an event's data", "POST", "/v1/events", json, "{\"type\":\"A.b\",\"data\":{\"x\":\"\xc3\"}}", 400, "malformed", "data.x"},
			{"invalid UTF-8 in a key of data", "POST", "/v1/events", json, "{\"type\":\"A.b\",\"data\":{\"\xff\":1}}", 400, "malformed", "data"},
			{"CallFire: lone surrogate in a name", "POST", "/compat/callfire/v2/webhooks", json, `{"name":"\ud800","resource":"CallBroadcast","callback":"https://example.com/cf"}`, 400, "", ""},

			{"publish without a content type", "POST", "/v1/events", "", `{"type":"A.b","data":{}}`, 415, "unsupported_type", "Content-Type"},
			{"create without a content type", "POST", "/v1/webhooks", "", `{"url":"https://example.com/a"}`, 415, "unsupported_type", "Content-Type"},
			{"update as text", "PATCH", "/v1/webhooks/" + id, "text/plain", `{"name":"x"}`, 415, "unsupported_type", "text/plain"},
			{"publish over the limit", "POST", "/v1/events", json, `{"type":"A.b","data":{"x":"` + strings.Repeat("x", 1<<20) + `"}}`, 413, "too_large", "1048576 bytes"},
			{"create over the limit", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large", "65536 bytes"},

			{"port 0", "POST", "/v1/webhooks", json, `{"url":"https://example.com:0/a"}`, 422, "invalid", "port"},
			{"port 65536", "POST", "/v1/webhooks", json, `{"url":"https://example.com:65536/a"}`, 422, "invalid", "port"},
			{"port 99999999999", "POST", "/v1/webhooks", json, `{"url":"http://example.com:99999999999/"}`, 422, "invalid", "port"},
			{"update to port 70000", "PATCH", "/v1/webhooks/" + id, json, `{"url":"https://example.com:70000/"}`, 422, "invalid", "port"},
			{"CallFire: port 0", "POST", "/compat/callfire/v2/webhooks", json, `{"name":"x","resource":"CallBroadcast","callback":"https://example.com:0/cf"}`, 400, "", ""},

			{"plain secret", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","secret":"plain-secret-of-mine"}`, 422, "invalid", "whsec_"},
			{"whsec_ secret of a short key", "POST", "/v1/webhooks", json, `{"url":"https://example.com/a","secret":"whsec_AAAA"}`, 422, "invalid", "whsec_"},

			{"double slash", "GET", "/v1//webhooks", "", "", 307, "temporary_redirect", "/v1/webhooks"},
			{"dot segment", "POST", "/v1/./events", json, `{"type":"A.b","data":{}}`, 307, "temporary_redirect", "/v1/events"},
			{"CallFire without its slash", "GET", "/compat/callfire/v2", "", "", 307, "temporary_redirect", "/compat/callfire/v2/"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := send(t, in.base, tc.method, tc.path, in.liveKey, tc.ct, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "json") {
					t.Fatalf("content type %q: %s", ct, r.body)
				}
				if tc.code == "" {
					if msg, _ := r.json(t)["message"].(string); msg == "" {
						t.Fatalf("no message in the API's error: %s", r.body)
					}
					return
				}
				if code := r.errorCode(t); code != tc.code {
					t.Fatalf("code %q, want %q: %s", code, tc.code, r.body)
				}
				if msg := r.json(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, tc.mentions) {
					t.Fatalf("message %q does not mention %q", msg, tc.mentions)
				}
			})
		}
		// Nothing refused was stored: the one webhook is as it was made.
		if l := c.must(200, "GET", "/v1/webhooks", nil).list(t); len(l) != 1 || l[0].(map[string]any)["name"] != "" {
			t.Errorf("after the refusals the webhooks are %v", l)
		}
		if l := c.must(200, "GET", "/v1/events", nil).list(t); len(l) != 0 {
			t.Errorf("after the refusals the events are %v", l)
		}
	})
}

// rawExchange writes a request on a new connection and reads the answer.
// The read deadline only keeps a broken server from hanging the test.
func rawExchange(t *testing.T, base, request string) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestDeclaredLengthOverLimit sends only the headers of a request whose
// Content-Length is over the limit: the 413 comes without the body.
func TestDeclaredLengthOverLimit(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	for _, tc := range []struct{ path, mentions string }{
		{"/v1/events", "1048576"},
		{"/v1/webhooks", "65536"},
		{"/compat/callfire/v2/webhooks", "65536"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			r := rawExchange(t, in.base, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n", tc.path, in.liveKey))
			if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), tc.mentions) {
				t.Fatalf("answer %d %s, want 413 naming the limit %s", r.status, r.body, tc.mentions)
			}
		})
	}
}

// TestServerErrorsCarryEnvelope checks the answers net/http makes before a
// handler runs.
func TestServerErrorsCarryEnvelope(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	big := strings.Repeat("x", 2<<20)
	r := rawExchange(t, in.base, "GET /v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n")
	if r.status != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(r.header.Get("Content-Type"), "json") {
		t.Fatalf("oversized headers: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if code := r.errorCode(t); code != "request_header_fields_too_large" {
		t.Errorf("code %q", code)
	}
}
