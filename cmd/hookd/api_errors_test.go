package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// TestAPIBadInput sends each route the inputs a careless or hostile client
// would, and checks the status and error code of the envelope.
func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--allow-cidr", "127.0.0.0/8")
	c := in.client(t, in.liveKey)
	c.must(201, "POST", "/v1/event-types", map[string]any{"name": "CallBroadcast.started"})
	wh := c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hook"}).data(t)
	id := str(wh["id"])
	url := "https://example.com/hook"
	past := time.Now().Add(-time.Hour).Format(time.RFC3339)

	for _, tc := range []struct {
		name        string
		key         string // "" = the live key; "none" = no key
		method      string
		path        string
		contentType string
		body        any
		status      int
		code        string
		mentions    string // the message must mention this
	}{
		{"no key", "none", "GET", "/v1/webhooks", "", nil, 401, "unauthorized", "API key"},
		{"bad key", "sk_live_nope", "GET", "/v1/webhooks", "", nil, 401, "unauthorized", "invalid"},
		{"malformed JSON", "", "POST", "/v1/webhooks", "", `{"url": `, 400, "malformed", "line 1"},
		{"not JSON", "", "POST", "/v1/webhooks", "text/plain", `url=x`, 415, "unsupported_type", ""},
		{"form body", "", "POST", "/v1/webhooks", "application/x-www-form-urlencoded", `url=x`, 415, "unsupported_type", ""},
		{"too large", "", "POST", "/v1/webhooks", "", `{"url":"` + url + `","description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large", "limit"},
		{"empty body", "", "POST", "/v1/webhooks", "", ``, 400, "malformed", "body"},
		{"missing url", "", "POST", "/v1/webhooks", "", map[string]any{"name": "x"}, 422, "invalid", "url"},
		{"ftp url", "", "POST", "/v1/webhooks", "", map[string]any{"url": "ftp://example.com"}, 422, "invalid", "url"},
		{"relative url", "", "POST", "/v1/webhooks", "", map[string]any{"url": "/hook"}, 422, "invalid", "url"},
		{"not a url", "", "POST", "/v1/webhooks", "", map[string]any{"url": "not a url"}, 422, "invalid", "url"},
		{"user-info", "", "POST", "/v1/webhooks", "", map[string]any{"url": "https://u:p@example.com/"}, 422, "invalid", "user-info"},
		{"non-ASCII host", "", "POST", "/v1/webhooks", "", map[string]any{"url": "https://bücher.example/"}, 422, "invalid", "xn--"},
		{"NUL in a name", "", "POST", "/v1/webhooks", "", `{"url":"` + url + `","name":"a\u0000b"}`, 422, "invalid", "UTF-8"},
		{"NUL in an event id", "", "POST", "/v1/events", "", `{"type":"CallBroadcast.started","id":"e\u0000","data":{}}`, 422, "invalid", "UTF-8"},
		{"connection header", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "headers": map[string]string{"Connection": "close"}}, 422, "invalid", "Connection"},
		{"long url", "", "POST", "/v1/webhooks", "", map[string]any{"url": "https://example.com/" + strings.Repeat("a", 2100)}, 422, "invalid", "2048"},
		{"private literal IP", "", "POST", "/v1/webhooks", "", map[string]any{"url": "http://10.0.0.1/hook"}, 422, "invalid", "10.0.0.1"},
		{"metadata IP", "", "POST", "/v1/webhooks", "", map[string]any{"url": "http://169.254.169.254/"}, 422, "invalid", "169.254.169.254"},
		{"mapped loopback-ish", "", "POST", "/v1/webhooks", "", map[string]any{"url": "http://[::ffff:10.0.0.1]/"}, 422, "invalid", "url"},
		{"unknown event type", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "event_types": []string{"Nope.never"}}, 422, "invalid", "Nope.never"},
		{"bad event pattern", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "event_types": []string{"a b"}}, 422, "invalid", "event_types[0]"},
		{"past expiry", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "expires_at": past}, 422, "invalid", "expires_at"},
		{"bad filter op", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "filter": map[string]any{"data.x": map[string]any{"$bogus": 1}}}, 422, "invalid", "$bogus"},
		{"filter not object", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "filter": []int{1}}, 422, "invalid", "filter"},
		{"reserved header", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "headers": map[string]string{"webhook-id": "x"}}, 422, "invalid", "webhook-id"},
		{"content-type header", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "headers": map[string]string{"Content-Type": "text/plain"}}, 422, "invalid", "Content-Type"},
		{"host header", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "headers": map[string]string{"host": "evil"}}, 422, "invalid", "host"},
		{"rate limit zero", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "rate_limit": 0}, 422, "invalid", "rate_limit"},
		{"wrong type", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "enabled": "yes"}, 422, "invalid", "enabled"},
		{"unknown field", "", "POST", "/v1/webhooks", "", map[string]any{"url": url, "colour": "red"}, 422, "invalid", "colour"},
		{"limit zero", "", "GET", "/v1/webhooks?limit=0", "", nil, 422, "invalid", "limit"},
		{"limit huge", "", "GET", "/v1/webhooks?limit=5000", "", nil, 422, "invalid", "limit"},
		{"enabled maybe", "", "GET", "/v1/webhooks?enabled=maybe", "", nil, 422, "invalid", "enabled"},
		{"bad status", "", "GET", "/v1/webhooks?status=sleepy", "", nil, 422, "invalid", "status"},
		{"unknown projection", "", "GET", "/v1/webhooks?fields=colour", "", nil, 422, "invalid", "colour"},
		{"missing webhook", "", "GET", "/v1/webhooks/wh_nope", "", nil, 404, "not_found", "wh_nope"},
		{"patch missing", "", "PATCH", "/v1/webhooks/wh_nope", "", map[string]any{"name": "x"}, 404, "not_found", ""},
		{"patch null url", "", "PATCH", "/v1/webhooks/" + id, "", map[string]any{"url": nil}, 422, "invalid", "url"},
		{"patch bad url", "", "PATCH", "/v1/webhooks/" + id, "", map[string]any{"url": "gopher://x"}, 422, "invalid", "url"},
		{"patch past expiry", "", "PATCH", "/v1/webhooks/" + id, "", map[string]any{"expires_at": past}, 422, "invalid", "expires_at"},
		{"delete missing", "", "DELETE", "/v1/webhooks/wh_nope", "", nil, 404, "not_found", ""},
		{"secret of missing", "", "GET", "/v1/webhooks/wh_nope/secret", "", nil, 404, "not_found", ""},
		{"rotate missing", "", "POST", "/v1/webhooks/wh_nope/secret/rotate", "", nil, 404, "not_found", ""},
		{"duplicate event type", "", "POST", "/v1/event-types", "", map[string]any{"name": "CallBroadcast.started"}, 409, "conflict", "CallBroadcast.started"},
		{"bad event type name", "", "POST", "/v1/event-types", "", map[string]any{"name": "has space"}, 422, "invalid", "has space"},
		{"event type missing", "", "GET", "/v1/event-types/Nope.x", "", nil, 404, "not_found", ""},
		{"publish no type", "", "POST", "/v1/events", "", map[string]any{"data": map[string]any{}}, 422, "invalid", "type"},
		{"publish data array", "", "POST", "/v1/events", "", map[string]any{"type": "A.b", "data": []int{1}}, 422, "invalid", "data"},
		{"publish no data", "", "POST", "/v1/events", "", map[string]any{"type": "A.b"}, 422, "invalid", "data"},
		{"publish malformed", "", "POST", "/v1/events", "", `{"type": "A.b", "data": {]}`, 400, "malformed", "line 1"},
		{"publish too large", "", "POST", "/v1/events", "", `{"type":"A.b","data":{"x":"` + strings.Repeat("x", 1<<20) + `"}}`, 413, "too_large", ""},
		{"event missing", "", "GET", "/v1/events/msg_nope", "", nil, 404, "not_found", ""},
		{"delivery missing", "", "GET", "/v1/deliveries/dlv_nope", "", nil, 404, "not_found", ""},
		{"retry missing", "", "POST", "/v1/deliveries/dlv_nope/retry", "", nil, 404, "not_found", ""},
		{"bad delivery status", "", "GET", "/v1/deliveries?status=lost", "", nil, 422, "invalid", "status"},
		{"recover until<since", "", "POST", "/v1/webhooks/" + id + "/recover", "", map[string]any{"since": time.Now().Format(time.RFC3339), "until": past}, 422, "invalid", "until"},
		{"recover missing", "", "POST", "/v1/webhooks/wh_nope/recover", "", map[string]any{"since": past}, 404, "not_found", ""},
		{"recover bad time", "", "POST", "/v1/webhooks/" + id + "/recover", "", map[string]any{"since": "yesterday"}, 422, "invalid", "since"},
		{"test missing", "", "POST", "/v1/webhooks/wh_nope/test", "", nil, 404, "not_found", ""},
		{"no route", "", "GET", "/v1/nothing-here", "", nil, 404, "not_found", "/v1/nothing-here"},
		{"wrong method", "", "PUT", "/v1/webhooks", "", nil, 405, "method_not_allowed", "PUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := in.liveKey
			switch tc.key {
			case "none":
				key = ""
			case "":
			default:
				key = tc.key
			}
			r := rawRequest(t, in.base, tc.method, tc.path, key, tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code := r.errorCode(t); code != tc.code {
				t.Fatalf("code %q, want %q: %s", code, tc.code, r.body)
			}
			msg := r.json(t)["error"].(map[string]any)["message"].(string)
			if tc.mentions != "" && !strings.Contains(msg, tc.mentions) {
				t.Fatalf("message %q does not mention %q", msg, tc.mentions)
			}
			if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "json") {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

// TestAPIIsolation checks the walls between tenants and between modes:
// another scope's id answers 404 exactly like a missing one, and lists
// never show another scope's rows.
func TestAPIIsolation(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	live := in.client(t, in.liveKey)
	test := in.client(t, in.testKey)
	acme := in.client(t, in.newKey(t, "acme", "live"))

	wh := str(live.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/live"}).data(t)["id"])
	live.must(201, "POST", "/v1/event-types", map[string]any{"name": "Secret.thing"})
	live.must(202, "POST", "/v1/events", map[string]any{"type": "Secret.thing", "data": map[string]any{}, "id": "evt-live"})
	missing := live.must(404, "GET", "/v1/webhooks/{id}", nil, "wh_doesnotexist").body

	for name, other := range map[string]*client{"test mode": test, "other tenant": acme} {
		for _, p := range []string{"/v1/webhooks/" + wh, "/v1/webhooks/" + wh + "/secret", "/v1/event-types/Secret.thing", "/v1/events/evt-live"} {
			r := other.do("GET", p, nil)
			if r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
				t.Errorf("%s GET %s: %d %s", name, p, r.status, r.body)
			}
		}
		if r := other.do("GET", "/v1/webhooks/{id}", nil, wh); strings.ReplaceAll(string(r.body), wh, "wh_doesnotexist") != string(missing) {
			t.Errorf("%s: another scope's id answers %s, a missing id %s", name, r.body, missing)
		}
		other.must(404, "PATCH", "/v1/webhooks/{id}", map[string]any{"name": "pwned"}, wh)
		other.must(404, "DELETE", "/v1/webhooks/{id}", nil, wh)
		other.must(404, "POST", "/v1/webhooks/{id}/secret/rotate", nil, wh)
		for _, p := range []string{"/v1/webhooks", "/v1/event-types", "/v1/events", "/v1/deliveries"} {
			if l := other.must(200, "GET", p, nil).list(t); len(l) != 0 {
				t.Errorf("%s sees %d rows of %s", name, len(l), p)
			}
		}
		// the same event id in another scope is a new event, not a conflict
		other.must(202, "POST", "/v1/events", map[string]any{"type": "Secret.thing", "data": map[string]any{"x": 1}, "id": "evt-live"})
	}
	if got := live.must(200, "GET", "/v1/webhooks/{id}", nil, wh).data(t)["name"]; got != "" {
		t.Fatalf("another scope changed the webhook: name %v", got)
	}
	// a revoked key stops working
	out := in.run(t, "key", "list", "--tenant", "acme")
	keyID := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])[0]
	in.run(t, "key", "revoke", keyID)
	// The CLI wrote the database behind the server's back: the server's
	// cache trusts the key for hookd.DefaultAuthCacheTTL at most.
	for deadline := time.Now().Add(hookd.DefaultAuthCacheTTL + 30*time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := acme.do("GET", "/v1/webhooks", nil)
		if r.status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still answers %d: %s", r.status, r.body)
		}
	}
}

// rawRequest sends a request with full control of the content type.
func rawRequest(t *testing.T, base, method, path, key, contentType string, body any) response {
	t.Helper()
	c := &client{t: t, base: base, key: key, seen: map[string]bool{}}
	if contentType == "" {
		return c.do(method, path, body)
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body.(string)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
}
