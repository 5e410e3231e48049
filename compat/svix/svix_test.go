package svix_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat/internal/compattest"
	"github.com/hookd/hookd/compat/svix"
)

const base = "/api/v1"

type fixture struct {
	env   *compattest.Env
	h     http.Handler
	opKey string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := compattest.New(t, hookd.NetPolicy{AllowPrivate: true})
	mux := http.NewServeMux()
	mux.Handle(base+"/", http.StripPrefix(base, svix.New(env.Services, svix.Options{})))
	_, op, err := env.Services.Tenants.CreateOperatorKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, h: mux, opKey: op}
}

// do sends a request with the operator key (or the key given as a header).
func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) compattest.Response {
	t.Helper()
	hs := []string{"Authorization: Bearer " + f.opKey}
	for _, h := range headers {
		if strings.HasPrefix(h, "Authorization:") {
			hs = hs[:0]
		}
	}
	return compattest.Do(t, f.h, method, base+path, body, append(hs, headers...)...)
}

func (f *fixture) must(t *testing.T, status int, method, path, body string, headers ...string) map[string]any {
	t.Helper()
	r := f.do(t, method, path, body, headers...)
	if r.Status != status {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, status)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.Map(t)
}

// svixError checks Svix's error shapes: {code, detail} with code, or a
// 422's {detail: [{loc, msg, type}]} whose msg contains code.
func svixError(t *testing.T, r compattest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %s, want %d", r.Status, r.Body, status)
	}
	if status == http.StatusUnprocessableEntity {
		var v struct {
			Detail []struct {
				Loc  []string `json:"loc"`
				Msg  string   `json:"msg"`
				Type string   `json:"type"`
			} `json:"detail"`
		}
		r.JSON(t, &v)
		if len(v.Detail) != 1 || len(v.Detail[0].Loc) == 0 || v.Detail[0].Type == "" || !strings.Contains(v.Detail[0].Msg, code) {
			t.Errorf("422 body %s, want Svix's validation error mentioning %q", r.Body, code)
		}
		return
	}
	var v struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	r.JSON(t, &v)
	if v.Code != code || v.Detail == "" {
		t.Errorf("error body %s, want code %q and a detail", r.Body, code)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.must(t, 201, "POST", "/app", `{"name": "Acme", "uid": "acme"}`)
	f.must(t, 201, "POST", "/event-type", `{"name": "a.b", "description": "x"}`)
	ep := f.must(t, 201, "POST", "/app/acme/endpoint", `{"url": "https://example.com/h"}`)["id"].(string)
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"app without name", "POST", "/app", `{}`, 422, "name"},
		{"app bad uid", "POST", "/app", `{"name": "x", "uid": "has space"}`, 422, "uid"},
		{"app reserved metadata", "POST", "/app", `{"name": "x", "metadata": {"svix.name": "y"}}`, 422, "reserved"},
		{"malformed JSON", "POST", "/app", `{"name": `, 400, "generic_error"},
		{"wrong type", "POST", "/app", `{"name": 5}`, 422, "name"},
		{"limit 0", "GET", "/app?limit=0", ``, 422, "limit"},
		{"limit 251", "GET", "/app?limit=251", ``, 422, "limit"},
		{"bad order", "GET", "/app/acme/endpoint?order=sideways", ``, 422, "order"},
		{"event type without description", "POST", "/event-type", `{"name": "c.d"}`, 422, "description"},
		{"event type bad name", "POST", "/event-type", `{"name": "c d", "description": ""}`, 422, "event type name"},
		{"event type bad schemas", "POST", "/event-type", `{"name": "c.d", "description": "", "schemas": [1]}`, 422, "schemas"},
		{"event type exists", "POST", "/event-type", `{"name": "a.b", "description": ""}`, 409, "conflict"},
		{"endpoint without url", "POST", "/app/acme/endpoint", `{}`, 422, "url"},
		{"endpoint bad url", "POST", "/app/acme/endpoint", `{"url": "ftp://example.com"}`, 422, "url"},
		{"endpoint unknown filter type", "POST", "/app/acme/endpoint", `{"url": "https://example.com", "filterTypes": ["x.y"]}`, 422, "filterTypes[0]"},
		{"endpoint bad channel", "POST", "/app/acme/endpoint", `{"url": "https://example.com", "channels": ["a b"]}`, 422, "channels[0]"},
		{"endpoint too many channels", "POST", "/app/acme/endpoint", `{"url": "https://example.com", "channels": ["1","2","3","4","5","6","7","8","9","10","11"]}`, 422, "channels"},
		{"endpoint bad rate", "POST", "/app/acme/endpoint", `{"url": "https://example.com", "rateLimit": 0}`, 422, "rate_limit"},
		{"endpoint bad secret", "POST", "/app/acme/endpoint", `{"url": "https://example.com", "secret": "whsec_%%%"}`, 422, "secret"},
		{"endpoint reserved header", "PUT", "/app/acme/endpoint/" + ep + "/headers", `{"headers": {"svix-id": "x"}}`, 422, "svix-id"},
		{"headers missing", "PUT", "/app/acme/endpoint/" + ep + "/headers", `{}`, 422, "headers"},
		{"recover without since", "POST", "/app/acme/endpoint/" + ep + "/recover", `{}`, 422, "since"},
		{"stats bad since", "GET", "/app/acme/endpoint/" + ep + "/stats?since=yesterday", ``, 422, "since"},
		{"message without type", "POST", "/app/acme/msg", `{"payload": {}}`, 422, "eventType"},
		{"message payload not an object", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": [1]}`, 422, "payload"},
		{"message bad eventId", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": {}, "eventId": "a b"}`, 422, "eventId"},
		{"attempt status", "GET", "/app/acme/attempt/endpoint/" + ep + "?status=9", ``, 422, "status"},
		{"unknown app", "GET", "/app/app_nope", ``, 404, "not_found"},
		{"unknown endpoint", "GET", "/app/acme/endpoint/ep_nope", ``, 404, "not_found"},
		{"unknown message", "GET", "/app/acme/msg/msg_nope", ``, 404, "not_found"},
		{"unknown path", "GET", "/nope", ``, 404, "not_found"},
		{"operational endpoint bad type", "POST", "/operational-webhook/endpoint", `{"url": "https://example.com/o", "filterTypes": ["order.created"]}`, 422, "operational event type"},
		{"operational endpoint channels", "POST", "/operational-webhook/endpoint", `{"url": "https://example.com/o", "channels": ["a"]}`, 422, "no channels"},
		{"message too many channels", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": {}, "channels": ["1", "2", "3", "4", "5", "6"]}`, 422, "channels"},
		{"message bad channel", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": {}, "channels": ["a b"]}`, 422, "channels[0]"},
		{"message too many tags", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": {}, "tags": ["1", "2", "3", "4", "5", "6"]}`, 422, "tags"},
		{"message bad tag", "POST", "/app/acme/msg", `{"eventType": "a.b", "payload": {}, "tags": ["a:b"]}`, 422, "tags[0]"},
		{"message list by bad tag", "GET", "/app/acme/msg?tag=a%20b", ``, 422, "tag"},
		{"message list by empty channel", "GET", "/app/acme/msg?channel=", ``, 422, "channel"},
		{"attempts by bad channel", "GET", "/app/acme/attempt/endpoint/" + ep + "?channel=a%20b", ``, 422, "channel"},
		{"attempts by bad tag", "GET", "/app/acme/attempt/msg/nope?tag=" + strings.Repeat("t", 129), ``, 422, "tag"},
		{"endpoint messages by tag", "GET", "/app/acme/endpoint/" + ep + "/msg?tag=x", ``, 422, "tag"},
		{"unserved", "GET", "/app/acme/integration", ``, 404, "not_found"},
		{"no token", "GET", "/app", ``, 401, "authentication_failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r compattest.Response
			if c.name == "no token" {
				r = compattest.Do(t, f.h, c.method, base+c.path, c.body)
			} else {
				r = f.do(t, c.method, c.path, c.body)
			}
			svixError(t, r, c.status, c.code)
		})
	}
}

// A tenant key reaches its own application's endpoints and messages and
// nothing else; another application's rows answer 404 as missing ones do.
func TestIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.must(t, 201, "POST", "/app", `{"name": "A", "uid": "a"}`)
	f.must(t, 201, "POST", "/app", `{"name": "B", "uid": "b"}`)
	epB := f.must(t, 201, "POST", "/app/b/endpoint", `{"url": "https://example.com/b"}`)["id"].(string)
	ten, err := f.env.Services.Tenants.FindTenant(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	_, keyA, err := f.env.Services.Tenants.CreateAPIKey(context.Background(), ten.ID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	asA := "Authorization: Bearer " + keyA
	f.must(t, 201, "POST", "/app/"+a["id"].(string)+"/endpoint", `{"url": "https://example.com/a"}`, asA)
	f.must(t, 200, "GET", "/app/a/endpoint", ``, asA)
	svixError(t, f.do(t, "GET", "/app/b/endpoint", ``, asA), 403, "insufficient access")
	svixError(t, f.do(t, "GET", "/app", ``, asA), 403, "insufficient access")
	svixError(t, f.do(t, "POST", "/event-type", `{"name": "x", "description": ""}`, asA), 403, "insufficient access")
	svixError(t, f.do(t, "GET", "/app/a/endpoint/"+epB, ``), 404, "not_found")
	svixError(t, f.do(t, "DELETE", "/app/a/endpoint/"+epB, ``), 404, "not_found")
	// The test mode is another scope.
	svixError(t, f.do(t, "GET", "/app/a/endpoint/"+epB, ``, "Hookd-Mode: test"), 404, "not_found")
}

// Svix answers 409 for an eventId used before, and the first answer again
// for a request repeated with the same idempotency-key.
func TestMessageEventID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.must(t, 201, "POST", "/app", `{"name": "A", "uid": "a"}`)
	body := `{"eventType": "order.created", "payload": {"n": 1}, "eventId": "ord-1"}`
	first := f.must(t, 202, "POST", "/app/a/msg", body, "idempotency-key: k1")
	if id, _ := first["id"].(string); !strings.HasPrefix(id, "msg_") || first["eventId"] != "ord-1" {
		t.Fatalf("message = %v; want a msg_ id of its own and eventId ord-1", first)
	}
	if got := f.must(t, 200, "GET", "/app/a/msg/ord-1", ``); got["id"] != first["id"] {
		t.Fatalf("GET by eventId = %v, want %v", got, first)
	}
	again := f.must(t, 202, "POST", "/app/a/msg", body, "idempotency-key: k1")
	if again["id"] != first["id"] {
		t.Fatalf("replay = %v, want %v", again, first)
	}
	svixError(t, f.do(t, "POST", "/app/a/msg", body), 409, "conflict")
	svixError(t, f.do(t, "POST", "/app/a/msg", body, "idempotency-key: k2"), 409, "conflict")
	// An eventId is unique in its application only.
	f.must(t, 201, "POST", "/app", `{"name": "B", "uid": "b"}`)
	f.must(t, 202, "POST", "/app/b/msg", body)
	// Without an eventId the id is hookd's msg_ one, and eventId is absent.
	m := f.must(t, 202, "POST", "/app/a/msg", `{"eventType": "order.created", "payload": {"n": 2}}`)
	if id, _ := m["id"].(string); !strings.HasPrefix(id, "msg_") || m["eventId"] != nil {
		t.Fatalf("message = %v", m)
	}
	// A message may create its application, as Svix's "application" does.
	f.must(t, 202, "POST", "/app/newcomer/msg", `{"eventType": "order.created", "payload": {}, "application": {"name": "Newcomer"}}`)
	if app := f.must(t, 200, "GET", "/app/newcomer", ``); app["name"] != "Newcomer" || app["uid"] != "newcomer" {
		t.Fatalf("application made by a message = %v", app)
	}
}

// Applications: Svix's names need not be unique, PUT creates by uid, a
// patch leaves what it does not name, and metadata keeps this API's keys
// hidden.
func TestApplications(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.must(t, 201, "POST", "/app", `{"name": "Same", "uid": "one", "metadata": {"k": "v"}}`)
	b := f.must(t, 201, "POST", "/app", `{"name": "Same"}`)
	if b["name"] != "Same" || b["id"] == a["id"] {
		t.Fatalf("second app = %v", b)
	}
	if m, _ := b["metadata"].(map[string]any); len(m) != 0 {
		t.Errorf("metadata shows this API's keys: %v", m)
	}
	f.must(t, 200, "POST", "/app?get_if_exists=true", `{"name": "Other", "uid": "one"}`)
	created := f.must(t, 201, "PUT", "/app/two", `{"name": "Two"}`)
	if created["uid"] != "two" {
		t.Fatalf("PUT by uid = %v", created)
	}
	p := f.must(t, 200, "PATCH", "/app/one", `{"name": "Renamed"}`)
	if p["name"] != "Renamed" || p["uid"] != "one" || p["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("patched = %v", p)
	}
	var l struct {
		Data     []map[string]any `json:"data"`
		Iterator *string          `json:"iterator"`
		Done     bool             `json:"done"`
	}
	r := f.do(t, "GET", "/app?limit=2", ``)
	r.JSON(t, &l)
	if len(l.Data) != 2 || l.Done || l.Iterator == nil {
		t.Fatalf("first page = %s", r.Body)
	}
	r = f.do(t, "GET", "/app?limit=2&iterator="+*l.Iterator, ``)
	r.JSON(t, &l)
	if len(l.Data) != 1 || !l.Done {
		t.Fatalf("second page = %s", r.Body)
	}
	f.must(t, 204, "DELETE", "/app/one", ``)
	svixError(t, f.do(t, "GET", "/app/one", ``), 404, "not_found")
}

// Translate makes Svix's operational webhook of an operator event, with
// what it can still look up, and nothing when no operational endpoint
// names the type.
func TestTranslate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.env.Services.Tenants.EnsureOperatorTenant(ctx); err != nil {
		t.Fatal(err)
	}
	app := f.must(t, 201, "POST", "/app", `{"name": "A", "uid": "a"}`)["id"].(string)
	ep := f.must(t, 201, "POST", "/app/a/endpoint", `{"url": "https://example.com/h", "uid": "e1"}`)["id"].(string)
	ten, wh := "ten_"+strings.TrimPrefix(app, "app_"), "wh_"+strings.TrimPrefix(ep, "ep_")
	tr := svix.Translate(f.env.Services)
	entry := func(typ, data string) hookd.OutboxEntry {
		return hookd.OutboxEntry{Seq: 7, CreatedAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Announcement: hookd.Announcement{TenantID: ten, Mode: hookd.ModeLive, Type: typ, Data: json.RawMessage(data)}}
	}
	hook := func(id, reason string) string {
		return `{"tenant_id": "` + ten + `", "mode": "live", "webhook": {"id": "` + id + `"}, "reason": "` + reason + `"}`
	}
	cases := []struct {
		name string
		e    hookd.OutboxEntry
		want string // the event's data, "" for none
	}{
		{"created", entry(hookd.EventWebhookCreated, hook(wh, "")),
			`{"type":"endpoint.created","data":{"appId":"` + app + `","appUid":"a","endpointId":"` + ep + `","endpointUid":"e1"}}`},
		{"deleted, gone", entry(hookd.EventWebhookDeleted, hook("wh_gone", "")),
			`{"type":"endpoint.deleted","data":{"appId":"` + app + `","appUid":"a","endpointId":"ep_gone"}}`},
		{"disabled by hand", entry(hookd.EventWebhookDisabled, hook(wh, hookd.ReasonDisabledByAPI)),
			`{"type":"endpoint.disabled","data":{"appId":"` + app + `","appUid":"a","endpointId":"` + ep + `","endpointUid":"e1","trigger":"manual"}}`},
		{"disabled by a 410", entry(hookd.EventWebhookDisabled, hook(wh, "its receiver answered 410 Gone")),
			`{"type":"endpoint.disabled","data":{"appId":"` + app + `","appUid":"a","endpointId":"` + ep + `","endpointUid":"e1","trigger":"automatic"}}`},
		{"enabled: no Svix name", entry(hookd.EventWebhookEnabled, hook(wh, "")), ""},
		{"exhausted, pruned", entry(hookd.EventDeliveryExhausted, `{"tenant_id": "`+ten+`", "mode": "live", "delivery_id": "dlv_gone", "webhook_id": "`+wh+`", "event_id": "msg_gone", "status_code": 503}`),
			`{"type":"message.attempt.exhausted","data":{"appId":"` + app + `","appUid":"a","msgId":"msg_gone","endpointId":"` + ep + `","lastAttempt":{"id":"","responseStatusCode":503,"timestamp":"2026-11-30T12:00:00.000Z"}}}`},
	}
	check := func(t *testing.T, e hookd.OutboxEntry, want string) {
		t.Helper()
		evs, err := tr(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" {
			if len(evs) != 0 {
				t.Fatalf("Translate = %s, want nothing", evs[0].Data)
			}
			return
		}
		if len(evs) != 1 || evs[0].ID != "msg_opev7" || string(evs[0].Data) != want || !strings.Contains(want, `"type":"`+evs[0].Type+`"`) {
			t.Fatalf("Translate = %+v\nwant data %s", evs, want)
		}
	}
	for _, c := range cases {
		t.Run(c.name+", no operational endpoint", func(t *testing.T) { check(t, c.e, "") })
	}
	f.must(t, 201, "POST", "/operational-webhook/endpoint", `{"url": "https://example.com/ops"}`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.e, c.want) })
	}
}
