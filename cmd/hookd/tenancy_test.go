package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTenancy drives the operator's API on the real binary: tenants by uid,
// their keys, acting as a tenant with the operator key (on /v1 and a compat
// API), portal links, deletion, and what a tenant key may not do.
func TestTenancy(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--allow-cidr", "127.0.0.0/8")
	if in.opKey == "" {
		t.Fatalf("the first start printed no operator key:\n%s", in.stdout.String())
	}
	op := in.client(t, in.opKey)

	// Create or get by uid: one idempotent call.
	body := map[string]any{"uid": "cust-42", "name": "Acme Corp", "metadata": map[string]string{"plan": "pro"}}
	created := op.must(201, "POST", "/v1/tenants", body).data(t)
	again := op.must(200, "POST", "/v1/tenants", body).data(t)
	if created["id"] != again["id"] || created["uid"] != "cust-42" || created["name"] != "Acme Corp" {
		t.Fatalf("create %v, then again %v", created, again)
	}
	tenantID := str(created["id"])
	op.must(201, "POST", "/v1/tenants", map[string]any{"uid": "cust-43"}) // name defaults to the uid
	op.must(409, "POST", "/v1/tenants", map[string]any{"uid": "cust-44", "name": "Acme Corp"})
	for _, bad := range []map[string]any{
		{},
		{"uid": "has space"},
		{"uid": "ten_looks_like_an_id"},
		{"uid": "x", "limits": map[string]any{"publish_rate": 0}},
	} {
		if r := op.do("POST", "/v1/tenants", bad); r.status != 422 || r.errorCode(t) != "invalid" {
			t.Errorf("POST /v1/tenants %v: %d %s", bad, r.status, r.body)
		}
	}

	// Find it by id, by uid, by a search of its name.
	for _, ref := range []string{tenantID, "cust-42"} {
		if got := op.must(200, "GET", "/v1/tenants/{tenant}", nil, ref).data(t); got["id"] != tenantID {
			t.Errorf("GET /v1/tenants/%s = %v", ref, got)
		}
	}
	if l := op.must(200, "GET", "/v1/tenants?search=acme", nil).list(t); len(l) != 1 {
		t.Errorf("search acme: %d tenants", len(l))
	}
	if l := op.must(200, "GET", "/v1/tenants?uid=cust-43", nil).list(t); len(l) != 1 {
		t.Errorf("uid cust-43: %d tenants", len(l))
	}
	up := op.must(200, "PATCH", "/v1/tenants/{tenant}", map[string]any{"limits": map[string]any{"max_webhooks": 10}}, "cust-42").data(t)
	if lim := up["limits"].(map[string]any); lim["max_webhooks"] != float64(10) || up["name"] != "Acme Corp" {
		t.Errorf("PATCH limits: %v", up)
	}
	op.must(404, "GET", "/v1/tenants/{tenant}", nil, "cust-nobody")

	// A tenant key of its own, shown once, listed by prefix.
	k := op.must(201, "POST", "/v1/tenants/{tenant}/keys", map[string]any{"mode": "live"}, "cust-42").data(t)
	tenantKey := str(k["key"])
	if !strings.HasPrefix(tenantKey, "sk_live_") {
		t.Fatalf("tenant key = %v", k)
	}
	keys := op.must(200, "GET", "/v1/tenants/{tenant}/keys", nil, "cust-42").list(t)
	if len(keys) != 1 || keys[0].(map[string]any)["key"] != nil || keys[0].(map[string]any)["prefix"] == "" {
		t.Errorf("listed keys: %v", keys)
	}

	// The operator acts as the tenant: its webhooks and events are the tenant's.
	var received atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	as := in.client(t, in.opKey)
	as.header = http.Header{"Hookd-Tenant": {"cust-42"}}
	wh := as.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/hook"}).data(t)
	as.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{"n": 1}})
	own := in.client(t, tenantKey)
	if l := own.must(200, "GET", "/v1/webhooks", nil).list(t); len(l) != 1 || l[0].(map[string]any)["id"] != wh["id"] {
		t.Fatalf("the tenant's own key sees %v", l)
	}
	waitFor(t, "the delivery published by the operator", func() bool { return received.Load() >= 1 })
	if l := in.client(t, in.liveKey).must(200, "GET", "/v1/webhooks", nil).list(t); len(l) != 0 {
		t.Errorf("the default tenant sees %d of another tenant's webhooks", len(l))
	}
	test := in.client(t, in.opKey)
	test.header = http.Header{"Hookd-Tenant": {tenantID}, "Hookd-Mode": {"test"}}
	if l := test.must(200, "GET", "/v1/webhooks", nil).list(t); len(l) != 0 {
		t.Errorf("test mode sees %d live webhooks", len(l))
	}
	// … and on a compat API, with the same headers.
	sf := in.client(t, in.opKey)
	sf.header = http.Header{"Hookd-Tenant": {"cust-42"}, "X-Api-Key": {in.opKey}}
	sf.key = ""
	sf.must(201, "POST", "/compat/salesfinity/v1/webhooks", map[string]any{"name": "sf", "url": recv.URL + "/sf", "events": []string{"CALL_LOGGED"}})
	if l := own.must(200, "GET", "/v1/webhooks?name=sf", nil).list(t); len(l) != 1 {
		t.Errorf("a webhook the operator made through Salesfinity's API as the tenant: the tenant sees %d", len(l))
	}

	// A tenant over its publish rate gets 429 with Retry-After, and the
	// error envelope; one over its webhooks 403.
	op.must(200, "PATCH", "/v1/tenants/{tenant}", map[string]any{"limits": map[string]any{"publish_rate": 1, "max_webhooks": 0}}, "cust-43")
	slow := in.client(t, in.opKey)
	slow.header = http.Header{"Hookd-Tenant": {"cust-43"}}
	slow.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}})
	if r := slow.do("POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}}); r.status != 429 ||
		r.header.Get("Retry-After") != "1" || r.errorCode(t) != "rate_limited" {
		t.Errorf("over the publish rate: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := slow.do("POST", "/v1/webhooks", map[string]any{"url": recv.URL}); r.status != 403 || !strings.Contains(string(r.body), "max_webhooks") {
		t.Errorf("over max_webhooks: %d %s", r.status, r.body)
	}

	// A batch for several tenants commits whole, or not at all.
	ev := func(tenant, id string) map[string]any {
		return map[string]any{"tenant": tenant, "type": "Order.created", "data": map[string]any{"id": id}, "id": id}
	}
	op.must(201, "POST", "/v1/tenants", map[string]any{"uid": "cust-45"})
	done := op.must(202, "POST", "/v1/events/batch", map[string]any{"events": []any{ev("cust-42", "b1"), ev("cust-45", "b2"), ev(tenantID, "b3")}}).list(t)
	if len(done) != 3 || done[0].(map[string]any)["tenant_id"] != tenantID || done[0].(map[string]any)["deliveries"] != float64(1) {
		t.Errorf("batch: %v", done)
	}
	bad := ev("cust-42", "b1")
	bad["data"] = map[string]any{"id": "changed"}
	if r := op.do("POST", "/v1/events/batch", map[string]any{"events": []any{ev("cust-42", "b4"), bad}}); r.status != 409 ||
		!strings.Contains(string(r.body), "events[1]") {
		t.Errorf("batch with a conflict at 1: %d %s", r.status, r.body)
	}
	if r := op.do("POST", "/v1/events/batch", map[string]any{"events": []any{ev("cust-42", "b5"), ev("cust-nobody", "b6")}}); r.status != 422 ||
		!strings.Contains(string(r.body), "events[1].tenant") {
		t.Errorf("batch with an unknown tenant at 1: %d %s", r.status, r.body)
	}
	for _, id := range []string{"b4", "b5"} {
		if r := as.do("GET", "/v1/events/{id}", nil, id); r.status != 404 {
			t.Errorf("event %s of a refused batch: %d", id, r.status)
		}
	}
	if r := own.do("POST", "/v1/events/batch", map[string]any{"events": []any{ev("cust-42", "b7")}}); r.status != 403 {
		t.Errorf("batch with a tenant key: %d", r.status)
	}

	// What keys may not do.
	if r := op.do("GET", "/v1/webhooks", nil); r.status != 422 || !strings.Contains(string(r.body), "Hookd-Tenant") {
		t.Errorf("operator key naming no tenant: %d %s", r.status, r.body)
	}
	nobody := in.client(t, in.opKey)
	nobody.header = http.Header{"Hookd-Tenant": {"cust-nobody"}}
	if r := nobody.do("GET", "/v1/webhooks", nil); r.status != 404 {
		t.Errorf("operator key naming an unknown tenant: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/v1/tenants", "/v1/tenants/cust-42", "/v1/tenants/cust-42/keys"} {
		if r := own.do("GET", p, nil); r.status != 403 || r.errorCode(t) != "forbidden" {
			t.Errorf("tenant key GET %s: %d %s", p, r.status, r.body)
		}
	}
	other := in.client(t, tenantKey)
	other.header = http.Header{"Hookd-Tenant": {"default"}}
	if r := other.do("GET", "/v1/webhooks", nil); r.status != 403 {
		t.Errorf("tenant key naming another tenant: %d %s", r.status, r.body)
	}

	// A portal link opens once, and says so after.
	pl := op.must(201, "POST", "/v1/tenants/{tenant}/portal-links", map[string]any{"read_only": true, "expires_in": 300}, "cust-42").data(t)
	u, err := url.Parse(str(pl["url"]))
	if err != nil || u.Query().Get("token") == "" || pl["read_only"] != true {
		t.Fatalf("portal link = %v", pl)
	}
	op.must(422, "POST", "/v1/tenants/{tenant}/portal-links", map[string]any{"expires_in": 10}, "cust-42")

	// Revoking a key works at once; deleting the tenant takes everything.
	kid := str(k["id"])
	op.must(204, "DELETE", "/v1/tenants/{tenant}/keys/{key}", nil, "cust-42", kid)
	if r := own.do("GET", "/v1/webhooks", nil); r.status != 401 {
		t.Errorf("revoked tenant key: %d %s", r.status, r.body)
	}
	op.must(404, "DELETE", "/v1/tenants/{tenant}/keys/{key}", nil, "cust-43", kid)
	k2 := str(op.must(201, "POST", "/v1/tenants/{tenant}/keys", map[string]any{}, "cust-42").data(t)["key"])
	in.client(t, k2).must(200, "GET", "/v1/webhooks", nil)
	op.must(204, "DELETE", "/v1/tenants/{tenant}", nil, "cust-42")
	if r := in.client(t, k2).do("GET", "/v1/webhooks", nil); r.status != 401 {
		t.Errorf("a deleted tenant's key: %d %s", r.status, r.body)
	}
	op.must(404, "GET", "/v1/tenants/{tenant}", nil, "cust-42")
	if r := as.do("GET", "/v1/webhooks", nil); r.status != 404 {
		t.Errorf("acting as a deleted tenant: %d %s", r.status, r.body)
	}

	// Every operator route is in the OpenAPI document and was called above.
	doc := op.must(200, "GET", "/openapi.json", nil).json(t)
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if operatorRoute(path) {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	called := map[string]bool{}
	for k := range op.seen {
		if method, path, _ := strings.Cut(k, " "); operatorRoute(path) {
			called[method+" "+path] = true
		}
	}
	if diff := cmp.Diff(documented, called); diff != "" {
		t.Errorf("operator routes documented vs called (-documented +called):\n%s", diff)
	}
}

// TestCLIOverAPI runs the tenant and key commands against a running hookd
// with --url and --key: no access to its database.
func TestCLIOverAPI(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	remote := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--url", in.base, "--key", in.opKey)
		if code := Main(context.Background(), args, nil, &out, &errb); code != 0 {
			t.Fatalf("hookd %s exited with %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	if out := remote("tenant", "create", "Remote Co"); !strings.Contains(out, "created tenant Remote Co (ten_") {
		t.Fatalf("tenant create: %q", out)
	}
	if out := remote("tenant", "list"); !strings.Contains(out, "Remote Co") || !strings.Contains(out, "default") {
		t.Errorf("tenant list: %q", out)
	}
	key := regexp.MustCompile(`sk_live_\S+`).FindString(remote("key", "create", "--tenant", "Remote Co", "--mode", "live"))
	if key == "" {
		t.Fatal("key create printed no key")
	}
	in.client(t, key).must(200, "GET", "/v1/webhooks", nil)
	list := remote("key", "list", "--tenant", "Remote Co")
	keyID := regexp.MustCompile(`key_\S+`).FindString(list)
	if keyID == "" || !strings.Contains(list, "LAST USED") {
		t.Fatalf("key list: %q", list)
	}
	remote("key", "revoke", "--tenant", "Remote Co", keyID)
	if r := in.client(t, key).do("GET", "/v1/webhooks", nil); r.status != 401 {
		t.Errorf("a key revoked over the API: %d", r.status)
	}
	// A tenant key, or no tenant for a revoke, is refused with a message.
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"tenant", "list", "--url", in.base, "--key", in.liveKey}, nil, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "operator key") {
		t.Errorf("with a tenant key: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"key", "revoke", keyID, "--url", in.base, "--key", in.opKey}, nil, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "--tenant") {
		t.Errorf("revoke without --tenant over the API: exit %d: %s", code, errb.String())
	}
}

// TestOperatorEvents: the operator's endpoint (a webhook of the operator
// tenant) hears webhook.created, webhook.disabled … of every tenant; a
// tenant's catch-all webhook never does, and its webhook that names
// webhook.disabled hears of its own.
func TestOperatorEvents(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--allow-private-networks")
	type heard struct {
		Type string `json:"type"`
		Data struct {
			TenantID string `json:"tenant_id"`
			Webhook  struct {
				ID string `json:"id"`
			} `json:"webhook"`
		} `json:"data"`
	}
	var mu sync.Mutex
	got := map[string][]heard{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h heard
		_ = json.NewDecoder(r.Body).Decode(&h)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], h)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	op := in.client(t, in.opKey)
	op.header = http.Header{"Hookd-Tenant": {"ten_operator"}}
	op.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/operator"})

	c := in.client(t, in.liveKey)
	c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.created"})
	c.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/catch-all"})
	c.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/watcher", "event_types": []string{"webhook.disabled"}})
	target := str(c.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + "/target", "event_types": []string{"Order.created"}}).data(t)["id"])
	c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"enabled": false}, target)

	types := func(path string) []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, h := range got[path] {
			out = append(out, h.Type)
		}
		return out
	}
	// Deliveries carry no order (docs/delivery.md): the disable may arrive
	// before the creations do.
	created := func() int { return strings.Count(strings.Join(types("/operator"), " "), "webhook.created") }
	waitFor(t, "the operator to hear of the disable", func() bool { return slices.Contains(types("/operator"), "webhook.disabled") })
	waitFor(t, "the operator to hear of the three creations", func() bool { return created() >= 3 })
	waitFor(t, "the tenant's watcher to hear of it", func() bool { return len(types("/watcher")) == 1 })
	mu.Lock()
	w := got["/watcher"][0]
	mu.Unlock()
	if w.Type != "webhook.disabled" || w.Data.Webhook.ID != target {
		t.Errorf("the watcher heard %+v; want webhook.disabled of %s", w, target)
	}
	// Give stray events time to arrive before checking none did.
	c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}})
	waitFor(t, "the catch-all's own event", func() bool { return len(types("/catch-all")) == 1 })
	if got := types("/catch-all"); !cmp.Equal(got, []string{"Order.created"}) {
		t.Errorf("the catch-all heard %v; want its own event only", got)
	}
	if n := created(); n != 3 {
		t.Errorf("the operator heard %d webhook.created, want 3: %v", n, types("/operator"))
	}
}
