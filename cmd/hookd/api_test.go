package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAPIEndToEnd boots the real binary's Main and calls every route of the
// canonical API, then checks that the OpenAPI document lists exactly the
// routes the test called: a route missing from the document, or one the
// test forgot, fails here.
func TestAPIEndToEnd(t *testing.T) {
	t.Parallel()
	var received atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	in := startHookd(t, "--allow-cidr", "127.0.0.0/8")
	if !strings.HasPrefix(in.liveKey, "sk_live_") || !strings.HasPrefix(in.testKey, "sk_test_") {
		t.Fatalf("first start did not print a live and a test key: %q", in.stdout.String())
	}
	c := in.client(t, in.liveKey)

	c.must(200, "GET", "/healthz", nil)
	c.must(200, "GET", "/readyz", nil)

	// Event types.
	for _, name := range []string{"CallBroadcast.started", "CallBroadcast.finished", "CALL_LOGGED", "Temp.gone"} {
		et := c.must(201, "POST", "/v1/event-types", map[string]any{"name": name, "description": "about " + name}).data(t)
		if et["name"] != name || et["description"] != "about "+name {
			t.Fatalf("created event type = %v", et)
		}
	}
	if got := c.must(200, "GET", "/v1/event-types/{name}", nil, "CALL_LOGGED").data(t)["name"]; got != "CALL_LOGGED" {
		t.Fatalf("get event type name = %v", got)
	}
	if got := c.must(200, "PATCH", "/v1/event-types/{name}", map[string]any{"description": "new"}, "CALL_LOGGED").data(t)["description"]; got != "new" {
		t.Fatalf("updated description = %v", got)
	}
	c.must(204, "DELETE", "/v1/event-types/{name}", nil, "Temp.gone")
	c.must(404, "GET", "/v1/event-types/{name}", nil, "Temp.gone")
	names := []string{}
	for _, et := range c.must(200, "GET", "/v1/event-types", nil).list(t) {
		names = append(names, str(et.(map[string]any)["name"]))
	}
	if diff := cmp.Diff([]string{"CALL_LOGGED", "CallBroadcast.finished", "CallBroadcast.started"}, names); diff != "" {
		t.Fatalf("event types (-want +got):\n%s", diff)
	}
	res := c.must(200, "GET", "/v1/webhooks/resources", nil).list(t)
	var gotRes []string
	for _, r := range res {
		m := r.(map[string]any)
		gotRes = append(gotRes, str(m["resource"])+":"+str(m["events"]))
	}
	if diff := cmp.Diff([]string{"CALL_LOGGED:[]", "CallBroadcast:[finished started]"}, gotRes); diff != "" {
		t.Fatalf("resources (-want +got):\n%s", diff)
	}

	// Webhooks: every field round-trips.
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	full := map[string]any{
		"name": "crm", "description": "CRM sync", "url": recv.URL + "/hook",
		"event_types": []string{"CallBroadcast.*", "CALL_LOGGED"},
		"filter":      map[string]any{"data.disposition": map[string]any{"$in": []int{1, 4}}},
		"fields":      []string{"id", "contact.name"}, "enabled": true, "single_use": false,
		"expires_at": expires.Format(time.RFC3339), "tls_verify": false,
		"headers": map[string]string{"X-Tenant": "acme"}, "rate_limit": 50,
		"metadata": map[string]string{"team": "sales"},
	}
	created := c.must(201, "POST", "/v1/webhooks", full).data(t)
	id := str(created["id"])
	if !strings.HasPrefix(id, "wh_") || !strings.HasPrefix(str(created["secret"]), "whsec_") {
		t.Fatalf("create answered id %q secret %q", id, created["secret"])
	}
	got := c.must(200, "GET", "/v1/webhooks/{id}", nil, id).data(t)
	if _, ok := got["secret"]; ok {
		t.Fatalf("GET webhook shows the secret: %v", got)
	}
	for _, k := range []string{"name", "description", "url", "enabled", "single_use", "tls_verify", "rate_limit"} {
		if str(got[k]) != str(full[k]) {
			t.Errorf("%s = %v, want %v", k, got[k], full[k])
		}
	}
	wantJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, k := range []string{"event_types", "filter", "fields", "headers", "metadata"} {
		if wantJSON(got[k]) != wantJSON(full[k]) {
			t.Errorf("%s = %s, want %s", k, wantJSON(got[k]), wantJSON(full[k]))
		}
	}
	if got["status"] != "active" || got["expires_at"] != expires.Format(time.RFC3339) || got["created_at"] == nil || got["updated_at"] == nil {
		t.Errorf("status/expires_at/created_at/updated_at = %v %v %v %v", got["status"], got["expires_at"], got["created_at"], got["updated_at"])
	}

	// A second webhook for the list filters.
	other := c.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/other", "name": "other", "enabled": false}).data(t)
	otherID := str(other["id"])
	listIDs := func(query string) []string {
		t.Helper()
		var ids []string
		for _, w := range c.must(200, "GET", "/v1/webhooks"+query, nil).list(t) {
			ids = append(ids, str(w.(map[string]any)["id"]))
		}
		sort.Strings(ids)
		return ids
	}
	both := []string{id, otherID}
	sort.Strings(both)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", both},
		{"?url=" + recv.URL + "/hook", []string{id}},
		{"?enabled=false", []string{otherID}},
		{"?event_type=CallBroadcast.started", []string{id, otherID}}, // other subscribes to everything
		{"?name=crm", []string{id}},
		{"?resource=CALL_LOGGED", []string{id, otherID}},
		{"?status=disabled", []string{otherID}},
		{"?status=active&enabled=true", []string{id}},
	} {
		if diff := cmp.Diff(tc.want, listIDs(tc.query)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tc.query, diff)
		}
	}
	page1 := c.must(200, "GET", "/v1/webhooks?limit=1", nil).json(t)
	cursor, _ := page1["next_cursor"].(string)
	if cursor == "" || page1["total"] != float64(2) {
		t.Fatalf("first page: %v", page1)
	}
	page2 := c.must(200, "GET", "/v1/webhooks?limit=1&cursor="+cursor, nil).list(t)
	page2b := c.must(200, "GET", "/v1/webhooks?limit=1&offset=1", nil).list(t)
	if len(page2) != 1 || str(page2[0].(map[string]any)["id"]) == cursor || wantJSON(page2) != wantJSON(page2b) {
		t.Fatalf("second page by cursor %v, by offset %v", page2, page2b)
	}
	proj := c.must(200, "GET", "/v1/webhooks?fields=url,enabled", nil).list(t)[0].(map[string]any)
	if len(proj) != 3 || proj["id"] == nil || proj["url"] == nil || proj["enabled"] == nil {
		t.Fatalf("fields=url,enabled gave %v", proj)
	}
	if one := c.must(200, "GET", "/v1/webhooks/{id}?fields=name", nil, id).data(t); len(one) != 2 || one["name"] != "crm" {
		t.Fatalf("get with fields=name gave %v", one)
	}

	// PATCH: set, clear with null, disable.
	patched := c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"name": "crm2", "expires_at": nil, "rate_limit": nil, "enabled": false}, id).data(t)
	if patched["name"] != "crm2" || patched["expires_at"] != nil || patched["rate_limit"] != nil || patched["status"] != "disabled" || patched["description"] != "CRM sync" {
		t.Fatalf("patched = %v", patched)
	}
	patched = c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"enabled": true}, id).data(t)
	if patched["status"] != "active" {
		t.Fatalf("re-enabled status = %v", patched["status"])
	}

	// Secrets.
	sec := c.must(200, "GET", "/v1/webhooks/{id}/secret", nil, id).data(t)
	if sec["secret"] != created["secret"] {
		t.Fatalf("secret = %v, want the one from create", sec["secret"])
	}
	rot := c.must(200, "POST", "/v1/webhooks/{id}/secret/rotate", nil, id).data(t)
	if rot["secret"] == created["secret"] || !strings.HasPrefix(str(rot["secret"]), "whsec_") || rot["previous_secret_expires_at"] == nil {
		t.Fatalf("rotate = %v", rot)
	}

	// Events, deliveries, replay.
	c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"filter": nil, "fields": []string{}}, id)
	ev := map[string]any{"type": "CallBroadcast.started", "data": map[string]any{"disposition": 1}, "id": "evt-1"}
	pub := c.must(202, "POST", "/v1/events", ev).data(t)
	if pub["id"] != "evt-1" || pub["deliveries"] != float64(1) {
		t.Fatalf("publish = %v (the enabled webhook matches; the disabled one does not)", pub)
	}
	if again := c.must(202, "POST", "/v1/events", ev).data(t); wantJSON(again) != wantJSON(pub) {
		t.Fatalf("replay = %v, want %v", again, pub)
	}
	ev["data"] = map[string]any{"disposition": 2}
	if code := c.must(409, "POST", "/v1/events", ev).errorCode(t); code != "conflict" {
		t.Fatalf("reuse of an id with another body: code %q", code)
	}
	if evs := c.must(200, "GET", "/v1/events", nil).list(t); len(evs) != 1 || evs[0].(map[string]any)["id"] != "evt-1" {
		t.Fatalf("events = %v", evs)
	}
	evGot := c.must(200, "GET", "/v1/events/{id}", nil, "evt-1").data(t)
	dels, _ := evGot["deliveries"].([]any)
	if len(dels) != 1 {
		t.Fatalf("event deliveries = %v", evGot)
	}
	delID := str(dels[0].(map[string]any)["id"])
	waitFor(t, "delivery to succeed", func() bool {
		return c.must(200, "GET", "/v1/deliveries/{id}", nil, delID).data(t)["status"] == "succeeded"
	})
	d := c.must(200, "GET", "/v1/deliveries/{id}", nil, delID).data(t)
	if atts, _ := d["attempt_log"].([]any); len(atts) != 1 || atts[0].(map[string]any)["status_code"] != float64(204) {
		t.Fatalf("delivery attempts = %v", d["attempt_log"])
	}
	if ds := c.must(200, "GET", "/v1/deliveries?webhook_id="+id+"&status=succeeded", nil).list(t); len(ds) != 1 {
		t.Fatalf("deliveries by webhook and status = %v", ds)
	}
	c.must(202, "POST", "/v1/deliveries/{id}/retry", nil, delID)
	waitFor(t, "manual retry to be attempted", func() bool {
		d := c.must(200, "GET", "/v1/deliveries/{id}", nil, delID).data(t)
		return d["attempts"] == float64(2) && d["status"] == "succeeded"
	})
	rec := c.must(202, "POST", "/v1/webhooks/{id}/recover", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}, id).data(t)
	if rec["recovered"] != float64(0) {
		t.Fatalf("recover with nothing failed = %v", rec)
	}
	tst := c.must(200, "POST", "/v1/webhooks/test", nil).data(t)
	if tst["success"] != true || str(tst["message_id"]) == "" || tst["webhooks"] != float64(1) {
		t.Fatalf("test all = %v", tst)
	}
	if one := c.must(200, "POST", "/v1/webhooks/{id}/test", nil, id).data(t); one["success"] != true || one["webhooks"] != float64(1) {
		t.Fatalf("test one = %v", one)
	}
	waitFor(t, "4 requests at the receiver", func() bool { return received.Load() >= 4 })

	c.must(204, "DELETE", "/v1/webhooks/{id}", nil, otherID)
	c.must(404, "GET", "/v1/webhooks/{id}", nil, otherID)

	// The OpenAPI document lists exactly the routes called above (the
	// operator's are TestTenancy's).
	doc := c.must(200, "GET", "/openapi.json", nil).json(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi version = %v", doc["openapi"])
	}
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if !operatorRoute(path) {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	called := map[string]bool{}
	for k := range c.seen {
		if k != "GET /openapi.json" {
			called[k] = true
		}
	}
	if diff := cmp.Diff(documented, called); diff != "" {
		t.Fatalf("routes documented in /openapi.json vs called by this test (-documented +called):\n%s", diff)
	}
}

// waitFor polls cond until it holds or a generous deadline passes: a bound
// against hanging, not a speed assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// operatorRoute reports whether path is one of the routes only an operator
// key may call (TestTenancy covers them).
func operatorRoute(path string) bool {
	return strings.HasPrefix(path, "/v1/tenants") || path == "/v1/events/batch"
}
