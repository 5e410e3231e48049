package callfire_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat/callfire"
	"github.com/hookd/hookd/compat/internal/compattest"
	"github.com/hookd/hookd/verify"
)

const base = "/compat/callfire/v2"

type fixture struct {
	env   *compattest.Env
	h     http.Handler
	auth  string
	key   string
	scope hookd.Scope
}

// newFixture mounts the API as cmd/hookd does and makes one tenant.
func newFixture(t *testing.T, opts callfire.Options) *fixture {
	t.Helper()
	env := compattest.New(t, hookd.NetPolicy{AllowPrivate: true})
	return mount(t, env, opts)
}

func mount(t *testing.T, env *compattest.Env, opts callfire.Options) *fixture {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(base+"/", http.StripPrefix(base, callfire.New(env.Services, opts)))
	key, s := env.Key(t)
	return &fixture{env: env, h: mux, auth: basic("account", key), key: key, scope: s}
}

func basic(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) compattest.Response {
	t.Helper()
	return compattest.Do(t, f.h, method, base+path, body, append([]string{f.auth}, headers...)...)
}

// create posts a webhook and returns its numeric id.
func (f *fixture) create(t *testing.T, body string) int64 {
	t.Helper()
	res := f.do(t, "POST", "/webhooks", body)
	if res.Status != http.StatusOK {
		t.Fatalf("POST /webhooks = %d %s, want 200", res.Status, res.Body)
	}
	var out struct{ ID int64 }
	res.JSON(t, &out)
	if out.ID <= 0 {
		t.Fatalf("POST /webhooks answered id %d: %s", out.ID, res.Body)
	}
	return out.ID
}

func TestCreateAndGetWebhookObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	expires := time.Now().Add(48 * time.Hour).UnixMilli()
	before := time.Now().Add(-time.Second).UnixMilli()
	body := fmt.Sprintf(`{"name": "API hook", "resource": "CallBroadcast", "events": ["Started", "FINISHED"],
		"callback": "https://example.com/callfire", "enabled": true, "secret": "s3cr3t-token",
		"singleUse": true, "nonStrictSsl": true, "fields": "id,toNumber,contact(id,homePhone)", "expiresAt": %d}`, expires)
	id := f.create(t, body)

	res := f.do(t, "GET", fmt.Sprintf("/webhooks/%d", id), "")
	if res.Status != http.StatusOK {
		t.Fatalf("GET = %d %s", res.Status, res.Body)
	}
	got := res.Map(t)
	created, _ := got["createdAt"].(float64)
	if int64(created) < before || int64(created) > time.Now().Add(time.Second).UnixMilli() {
		t.Errorf("createdAt = %v, want unix milliseconds of now", got["createdAt"])
	}
	if got["updatedAt"] != got["createdAt"] {
		t.Errorf("updatedAt = %v, want createdAt %v", got["updatedAt"], got["createdAt"])
	}
	delete(got, "createdAt")
	delete(got, "updatedAt")
	want := map[string]any{
		"id": float64(id), "name": "API hook", "resource": "CallBroadcast",
		"events": []any{"Started", "Finished"}, "callback": "https://example.com/callfire",
		"enabled": true, "secret": "s3cr3t-token", "singleUse": true, "nonStrictSsl": true,
		"fields": "id,toNumber,contact(id,homePhone)", "expiresAt": float64(expires),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /webhooks/%d (-want +got):\n%s", id, diff)
	}

	// The domain webhook behind it.
	w, err := f.env.DB.FindWebhookByNumber(context.Background(), f.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CallBroadcast.started", "CallBroadcast.finished"}, w.EventTypes); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	if w.Source != callfire.Source || w.TLSVerify || !w.SingleUse || w.URL != "https://example.com/callfire" {
		t.Errorf("domain webhook = source %q tls_verify %v single_use %v url %q", w.Source, w.TLSVerify, w.SingleUse, w.URL)
	}
	if diff := cmp.Diff([]string{"id", "toNumber", "contact.id", "contact.homePhone"}, w.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestEventsAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	for _, ev := range []string{"Finished", "finished", "FINISHED", " finished "} {
		id := f.create(t, fmt.Sprintf(`{"resource": "callbroadcast", "events": [%q], "callback": "https://example.com/"}`, ev))
		w, err := f.env.DB.FindWebhookByNumber(context.Background(), f.scope, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"CallBroadcast.finished"}, w.EventTypes); diff != "" {
			t.Errorf("events [%q] (-want +got):\n%s", ev, diff)
		}
	}
	// The "comma separated list" of the property's description.
	id := f.create(t, `{"resource": "ContactList", "events": "VALIDATIONFINISHED, validationFailed", "callback": "https://example.com/"}`)
	w, _ := f.env.DB.FindWebhookByNumber(context.Background(), f.scope, id)
	if diff := cmp.Diff([]string{"ContactList.validationFinished", "ContactList.validationFailed"}, w.EventTypes); diff != "" {
		t.Errorf("comma-separated events (-want +got):\n%s", diff)
	}
}

func TestResourceWithoutEventsSubscribesToAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	id := f.create(t, `{"name": "all", "resource": "InboundText", "callback": "https://example.com/in"}`)
	w, _ := f.env.DB.FindWebhookByNumber(context.Background(), f.scope, id)
	if diff := cmp.Diff([]string{"InboundText.*"}, w.EventTypes); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	got := f.do(t, "GET", fmt.Sprintf("/webhooks/%d", id), "").Map(t)
	if got["resource"] != "InboundText" || got["events"] != nil {
		t.Errorf("GET = resource %v events %v, want InboundText and no events", got["resource"], got["events"])
	}
	if got["enabled"] != true || got["nonStrictSsl"] != false {
		t.Errorf("defaults: enabled %v nonStrictSsl %v, want true and false", got["enabled"], got["nonStrictSsl"])
	}
}

// TestResources replays CallFire's answer to GET /webhooks/resources as
// its Java and C# clients record it (findWebhookResources.json): the same
// resources in the same order with the same events, then ContactList and
// OutboundTextDeliveryReport, which the clients' models name.
func TestResources(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	res := f.do(t, "GET", "/webhooks/resources", "")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /webhooks/resources = %d %s", res.Status, res.Body)
	}
	three := []any{"Started", "Stopped", "Finished"}
	item := func(r string, events ...any) any { return map[string]any{"resource": r, "supportedEvents": events} }
	want := map[string]any{"items": []any{
		item("MonthlyRenewal", "Finished", "Failed"),
		item("LowBalance", "Finished", "Failed"),
		item("CccCampaign", three...),
		item("CallBroadcast", three...),
		item("TextBroadcast", three...),
		item("OutboundCall", "Finished"),
		item("InboundCall", "Finished"),
		item("OutboundText", "Finished"),
		item("InboundText", "Finished"),
		item("ContactList", "ValidationFinished", "ValidationFailed"),
		item("OutboundTextDeliveryReport", "Received"),
	}}
	if diff := cmp.Diff(want, res.Map(t)); diff != "" {
		t.Errorf("GET /webhooks/resources (-want +got):\n%s", diff)
	}

	// fields applies to the items, as in CallFire's integration test
	// (fields=items(resource) leaves supportedEvents out).
	for _, q := range []string{"resource", "items(resource)"} {
		res = f.do(t, "GET", "/webhooks/resources?fields="+q, "")
		var only struct{ Items []map[string]any }
		res.JSON(t, &only)
		if len(only.Items) != 11 || len(only.Items[0]) != 1 || only.Items[0]["resource"] != "MonthlyRenewal" {
			t.Errorf("fields=%s answered %s", q, res.Body)
		}
	}

	// A tenant's own event types of the form Resource.event follow,
	// resources and events by name.
	if err := f.env.DB.EnsureEventTypes(context.Background(), f.scope, []*hookd.EventType{
		{Name: "order.shipped"}, {Name: "order.created"}, {Name: "CALL_LOGGED"},
	}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Items []map[string]any }
	f.do(t, "GET", "/webhooks/resources", "").JSON(t, &got)
	if n := len(got.Items); n != 12 || !cmp.Equal(got.Items[11], item("order", "Created", "Shipped")) {
		t.Errorf("with the tenant's own types: %d items, last %v", n, got.Items[n-1])
	}
}

// TestResource replays CallFire's answer to GET /webhooks/resources/{resource}
// (findSpecificWebhookResource.json), with the resource spelled as CallFire's
// clients, samples and spec send it.
func TestResource(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	want := map[string]any{"resource": "CallBroadcast", "supportedEvents": []any{"Started", "Stopped", "Finished"}}
	for _, name := range []string{"CallBroadcast", "CALL_BROADCAST", "call-broadcast", "callbroadcast"} {
		res := f.do(t, "GET", "/webhooks/resources/"+name, "")
		if diff := cmp.Diff(want, res.Map(t)); res.Status != http.StatusOK || diff != "" {
			t.Errorf("GET /webhooks/resources/%s = %d (-want +got):\n%s", name, res.Status, diff)
		}
	}
	tests := []struct{ query, want string }{
		{"fields=resource", `{"resource":"CallBroadcast"}`},
		{"fields=resource,supportedEvents", `{"resource":"CallBroadcast","supportedEvents":["Started","Stopped","Finished"]}`},
		{"fields=resource,events", `{"resource":"CallBroadcast"}`}, // CallFire's samples ask for events, which it does not have
	}
	for _, tt := range tests {
		res := f.do(t, "GET", "/webhooks/resources/CallBroadcast?"+tt.query, "")
		if got := strings.TrimSpace(string(res.Body)); res.Status != http.StatusOK || got != tt.want {
			t.Errorf("GET ?%s = %d %s, want %s", tt.query, res.Status, got, tt.want)
		}
	}
}

// TestFindWebhooksQueryParameters sends each query parameter seed 000
// documents for GET /webhooks.
func TestFindWebhooksQueryParameters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	a := f.create(t, `{"name": "a", "resource": "CallBroadcast", "events": ["started"], "callback": "https://example.com/a"}`)
	b := f.create(t, `{"name": "b", "resource": "CallBroadcast", "events": ["finished"], "callback": "https://example.com/b", "enabled": false}`)
	c := f.create(t, `{"name": "c", "resource": "OutboundCall", "callback": "https://example.com/a"}`)
	d := f.create(t, `{"name": "d", "resource": "TextBroadcast", "events": ["stopped"], "callback": "https://example.com/d"}`)

	tests := []struct {
		query string
		want  []int64
		total int
	}{
		{"", []int64{a, b, c, d}, 4},
		{"callback=https://example.com/a", []int64{a, c}, 2},
		{"enabled=false", []int64{b}, 1},
		{"enabled=true", []int64{a, c, d}, 3},
		{"event=finished", []int64{b, c}, 2}, // CallBroadcast.finished, and OutboundCall.* covers OutboundCall.finished
		{"event=STOPPED", []int64{d}, 1},
		{"name=c", []int64{c}, 1},
		{"resource=CallBroadcast", []int64{a, b}, 2},
		{"resource=callbroadcast&event=Finished", []int64{b}, 1},
		{"event=finished&limit=1&offset=1", nil, 2}, // checked by size below
	}
	for _, tt := range tests {
		res := f.do(t, "GET", "/webhooks?"+tt.query, "")
		if res.Status != http.StatusOK {
			t.Errorf("GET /webhooks?%s = %d %s", tt.query, res.Status, res.Body)
			continue
		}
		var page struct {
			Items                     []struct{ ID int64 }
			Limit, Offset, TotalCount int
		}
		res.JSON(t, &page)
		var ids []int64
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		// The store orders by the string id, whose order within one
		// millisecond is random: compare sets.
		slices.Sort(ids)
		if tt.want == nil {
			tt.want = ids[:min(len(ids), 2)]
			if len(ids) != 1 {
				t.Errorf("GET /webhooks?%s: %d items, want 1", tt.query, len(ids))
			}
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" || page.TotalCount != tt.total {
			t.Errorf("GET /webhooks?%s: totalCount %d, want %d; ids (-want +got):\n%s", tt.query, page.TotalCount, tt.total, diff)
		}
	}

	// Pages are disjoint and together hold every webhook.
	var all []int64
	for _, q := range []string{"limit=2", "limit=2&offset=2", "limit=2&offset=4"} {
		var page struct {
			Items      []struct{ ID int64 }
			TotalCount int
		}
		f.do(t, "GET", "/webhooks?"+q, "").JSON(t, &page)
		if page.TotalCount != 4 || len(page.Items) > 2 {
			t.Errorf("GET /webhooks?%s: %d items, totalCount %d", q, len(page.Items), page.TotalCount)
		}
		for _, it := range page.Items {
			all = append(all, it.ID)
		}
	}
	slices.Sort(all)
	if diff := cmp.Diff([]int64{a, b, c, d}, all); diff != "" {
		t.Errorf("pages of 2 (-want +got):\n%s", diff)
	}

	// Paging properties.
	var page map[string]any
	f.do(t, "GET", "/webhooks?limit=2&offset=1", "").JSON(t, &page)
	if page["limit"] != float64(2) || page["offset"] != float64(1) || page["totalCount"] != float64(4) {
		t.Errorf("page = limit %v offset %v totalCount %v", page["limit"], page["offset"], page["totalCount"])
	}
	f.do(t, "GET", "/webhooks", "").JSON(t, &page)
	if page["limit"] != float64(100) {
		t.Errorf("default limit = %v, want 100", page["limit"])
	}
}

func TestFieldsSelection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	id := f.create(t, `{"name": "n", "resource": "CallBroadcast", "callback": "https://example.com/"}`)
	tests := []struct {
		path string
		want string
	}{
		{fmt.Sprintf("/webhooks/%d?fields=id,name,callback", id), fmt.Sprintf(`{"callback":"https://example.com/","id":%d,"name":"n"}`, id)},
		{"/webhooks?fields=items(id,name)", fmt.Sprintf(`{"items":[{"id":%d,"name":"n"}]}`, id)},
		{"/webhooks?fields=items(id),totalCount", fmt.Sprintf(`{"items":[{"id":%d}],"totalCount":1}`, id)},
		{"/webhooks?fields=id", fmt.Sprintf(`{"items":[{"id":%d}],"limit":100,"offset":0,"totalCount":1}`, id)},
		{"/webhooks?fields=totalCount", `{"totalCount":1}`},
	}
	for _, tt := range tests {
		res := f.do(t, "GET", tt.path, "")
		if got := strings.TrimSpace(string(res.Body)); res.Status != http.StatusOK || got != tt.want {
			t.Errorf("GET %s = %d %s, want %s", tt.path, res.Status, got, tt.want)
		}
	}
}

func TestUpdateWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	id := f.create(t, `{"name": "old", "resource": "CallBroadcast", "events": ["started"], "callback": "https://example.com/old", "secret": "first-secret"}`)
	path := fmt.Sprintf("/webhooks/%d", id)

	// A client sends back the whole object it read, with changes.
	obj := f.do(t, "GET", path, "").Map(t)
	obj["name"] = "new"
	obj["events"] = []string{"STOPPED", "finished"}
	obj["nonStrictSsl"] = true
	body, _ := json.Marshal(obj)
	if res := f.do(t, "PUT", path, string(body)); res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("PUT = %d %s, want 204 and no body", res.Status, res.Body)
	}
	got := f.do(t, "GET", path, "").Map(t)
	if got["name"] != "new" || got["nonStrictSsl"] != true || got["secret"] != "first-secret" ||
		!cmp.Equal(got["events"], []any{"Stopped", "Finished"}) || got["callback"] != "https://example.com/old" {
		t.Errorf("after PUT: %v", got)
	}

	// A partial object changes only what it names; a new resource without
	// events subscribes to all of its events.
	if res := f.do(t, "PUT", path, `{"resource": "TextBroadcast", "enabled": false}`); res.Status != http.StatusNoContent {
		t.Fatalf("PUT = %d %s", res.Status, res.Body)
	}
	w, _ := f.env.DB.FindWebhookByNumber(context.Background(), f.scope, id)
	if w.Name != "new" || w.Enabled || !cmp.Equal(w.EventTypes, []string{"TextBroadcast.*"}) {
		t.Errorf("after partial PUT: name %q enabled %v events %v", w.Name, w.Enabled, w.EventTypes)
	}
	// expiresAt null clears it.
	exp := time.Now().Add(time.Hour).UnixMilli()
	f.do(t, "PUT", path, fmt.Sprintf(`{"expiresAt": %d}`, exp))
	if got := f.do(t, "GET", path, "").Map(t); got["expiresAt"] != float64(exp) {
		t.Errorf("expiresAt = %v, want %d", got["expiresAt"], exp)
	}
	f.do(t, "PUT", path, `{"expiresAt": null}`)
	if got := f.do(t, "GET", path, "").Map(t); got["expiresAt"] != nil {
		t.Errorf("expiresAt after null = %v, want absent", got["expiresAt"])
	}
}

func TestDeleteWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	id := f.create(t, `{"resource": "CallBroadcast", "callback": "https://example.com/"}`)
	path := fmt.Sprintf("/webhooks/%d", id)
	if res := f.do(t, "DELETE", path, ""); res.Status != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s, want 204", res.Status, res.Body)
	}
	res := f.do(t, "GET", path, "")
	msg := fmt.Sprintf("webhook %d not found", id)
	want := map[string]any{"httpStatusCode": float64(404), "internalCode": float64(0), "message": msg, "developerMessage": "hookd error code not_found: " + msg}
	if diff := cmp.Diff(want, res.Map(t)); res.Status != http.StatusNotFound || diff != "" {
		t.Errorf("GET after DELETE = %d (-want +got):\n%s", res.Status, diff)
	}
	if res := f.do(t, "DELETE", path, ""); res.Status != http.StatusNotFound {
		t.Errorf("DELETE twice = %d, want 404", res.Status)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	key := strings.TrimPrefix(strings.TrimPrefix(f.auth, "Authorization: Basic "), "")
	raw, _ := base64.StdEncoding.DecodeString(key)
	_, plain, _ := strings.Cut(string(raw), ":")

	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong key", basic("account", "sk_live_nope"), http.StatusUnauthorized},
		{"key as password", basic("anything", plain), http.StatusOK},
		{"key as username", basic(plain, ""), http.StatusOK},
		{"bearer", "Authorization: Bearer " + plain, http.StatusOK},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.header != "" {
			hdr = append(hdr, tt.header)
		}
		res := compattest.Do(t, f.h, "GET", base+"/webhooks", "", hdr...)
		if res.Status != tt.want {
			t.Errorf("%s: status %d %s, want %d", tt.name, res.Status, res.Body, tt.want)
			continue
		}
		if tt.want == http.StatusUnauthorized {
			m := res.Map(t)
			if m["httpStatusCode"] != float64(401) || m["internalCode"] != float64(0) || m["message"] == "" {
				t.Errorf("%s: error body %s", tt.name, res.Body)
			}
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: WWW-Authenticate = %q", tt.name, res.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	id := f.create(t, `{"resource": "CallBroadcast", "callback": "https://example.com/"}`)
	valid := `"resource": "CallBroadcast", "callback": "https://example.com/"`
	tests := []struct {
		name, method, path, body string
		header                   string
		status                   int
		mention                  string // the message must contain this
	}{
		{"malformed JSON", "POST", "/webhooks", "{\"resource\": \"CallBroadcast\",\n \"callback\": }", "", 400, "line 2"},
		{"truncated JSON", "POST", "/webhooks", `{"resource": "CallBroadcast"`, "", 400, "malformed JSON"},
		{"not an object", "POST", "/webhooks", `[1, 2]`, "", 400, "JSON object"},
		{"empty body", "POST", "/webhooks", "", "", 400, "empty"},
		{"trailing data", "POST", "/webhooks", `{` + valid + `} {}`, "", 400, "after the object"},
		{"missing callback", "POST", "/webhooks", `{"resource": "CallBroadcast"}`, "", 400, "callback is required"},
		{"relative callback", "POST", "/webhooks", `{"resource": "CallBroadcast", "callback": "/hook"}`, "", 400, "callback"},
		{"ftp callback", "POST", "/webhooks", `{"resource": "CallBroadcast", "callback": "ftp://example.com/"}`, "", 400, "callback"},
		{"missing resource", "POST", "/webhooks", `{"callback": "https://example.com/"}`, "", 400, "resource is required"},
		{"unknown resource", "POST", "/webhooks", `{"resource": "Fax", "callback": "https://example.com/"}`, "", 400, `resource: unknown resource "Fax"`},
		{"unknown event", "POST", "/webhooks", `{` + valid + `, "events": ["exploded"]}`, "", 400, `"exploded" is not an event of CallBroadcast`},
		{"event of another resource", "POST", "/webhooks", `{"resource": "InboundCall", "events": ["started"], "callback": "https://example.com/"}`, "", 400, "events:"},
		{"events not a list", "POST", "/webhooks", `{` + valid + `, "events": 3}`, "", 400, "events must be an array"},
		{"name not a string", "POST", "/webhooks", `{` + valid + `, "name": 7}`, "", 400, "name must be a string"},
		{"enabled not a bool", "POST", "/webhooks", `{` + valid + `, "enabled": "yes"}`, "", 400, "enabled must be true or false"},
		{"short secret", "POST", "/webhooks", `{` + valid + `, "secret": "abc"}`, "", 400, "secret must be"},
		{"expiresAt in the past", "POST", "/webhooks", `{` + valid + `, "expiresAt": 1473781817000}`, "", 400, "expiresAt must be in the future"},
		{"expiresAt not a number", "POST", "/webhooks", `{` + valid + `, "expiresAt": "tomorrow"}`, "", 400, "expiresAt must be"},
		{"bad fields", "POST", "/webhooks", `{` + valid + `, "fields": "contact(id"}`, "", 400, "fields:"},
		{"long name", "POST", "/webhooks", `{` + valid + `, "name": "` + strings.Repeat("n", 300) + `"}`, "", 400, "name must be at most"},
		{"text content type", "POST", "/webhooks", `{` + valid + `}`, "Content-Type: text/plain", 415, "Content-Type"},
		{"too large", "POST", "/webhooks", `{` + valid + `, "name": "` + strings.Repeat("n", 70<<10) + `"}`, "", 413, "at most 65536 bytes"},
		{"enabled not a bool (query)", "GET", "/webhooks?enabled=maybe", "", "", 400, "enabled must be true or false"},
		{"limit zero", "GET", "/webhooks?limit=0", "", "", 400, "limit must be"},
		{"limit too big", "GET", "/webhooks?limit=5000", "", "", 400, "limit must be"},
		{"limit not a number", "GET", "/webhooks?limit=ten", "", "", 400, "limit must be"},
		{"negative offset", "GET", "/webhooks?offset=-1", "", "", 400, "offset must be"},
		{"unknown resource (query)", "GET", "/webhooks?resource=Fax", "", "", 400, "resource: unknown resource"},
		{"unknown event (query)", "GET", "/webhooks?event=exploded", "", "", 400, "event:"},
		{"unknown event of resource (query)", "GET", "/webhooks?resource=InboundCall&event=started", "", "", 400, "event:"},
		{"unbalanced fields", "GET", "/webhooks?fields=items(id", "", "", 400, "fields:"},
		{"empty field name", "GET", "/webhooks?fields=id,,name", "", "", 400, "fields:"},
		{"non-numeric id", "GET", "/webhooks/abc", "", "", 400, "id must be a positive integer"},
		{"unknown id", "GET", "/webhooks/999999", "", "", 404, "webhook 999999 not found"},
		{"unknown id (PUT)", "PUT", "/webhooks/999999", `{"name": "x"}`, "", 404, "not found"},
		{"unknown id (DELETE)", "DELETE", "/webhooks/999999", "", "", 404, "not found"},
		{"bad PUT", "PUT", fmt.Sprintf("/webhooks/%d", id), `{"callback": "nope"}`, "", 400, "callback"},
		{"bad PUT event", "PUT", fmt.Sprintf("/webhooks/%d", id), `{"events": ["nope"]}`, "", 400, "events:"},
		{"method not allowed", "PATCH", "/webhooks", "", "", 405, "not allowed"},
		{"method not allowed on resources", "POST", "/webhooks/resources", "", "", 405, "allowed: GET"},
		{"unknown path", "GET", "/calls", "", "", 404, "no such resource"},
		{"unknown webhook resource", "GET", "/webhooks/resources/Fax", "", "", 404, `webhook resource "Fax" not found`},
		{"bad fields on a resource", "GET", "/webhooks/resources/CallBroadcast?fields=(", "", "", 400, "fields:"},
		{"method not allowed on a resource", "PUT", "/webhooks/resources/CallBroadcast", "{}", "", 405, "allowed: GET"},
		{"event of another resource (spelled as CallFire)", "POST", "/webhooks", `{"resource": "ContactList", "events": ["Finished"], "callback": "https://example.com/"}`, "", 400, "available: ValidationFinished, ValidationFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tt.header != "" {
				hdr = append(hdr, tt.header)
			}
			res := f.do(t, tt.method, tt.path, tt.body, hdr...)
			var e struct {
				HTTPStatusCode int `json:"httpStatusCode"`
				InternalCode   *int
				Message        string
			}
			res.JSON(t, &e)
			if res.Status != tt.status || e.HTTPStatusCode != tt.status || e.InternalCode == nil || !strings.Contains(e.Message, tt.mention) {
				t.Errorf("%s %s = %d %s, want %d mentioning %q", tt.method, tt.path, res.Status, res.Body, tt.status, tt.mention)
			}
		})
	}
}

func TestCallbackToPrivateAddressIsRefused(t *testing.T) {
	t.Parallel()
	f := mount(t, compattest.New(t, hookd.NetPolicy{}), callfire.Options{})
	res := f.do(t, "POST", "/webhooks", `{"resource": "CallBroadcast", "callback": "http://10.0.0.1/hook"}`)
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Map(t)["message"].(string), "private") {
		t.Errorf("POST with a private callback = %d %s, want 400", res.Status, res.Body)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	other := mount(t, f.env, callfire.Options{}) // same store, another tenant
	id := f.create(t, `{"name": "mine", "resource": "CallBroadcast", "callback": "https://example.com/"}`)
	path := fmt.Sprintf("/webhooks/%d", id)

	missing := other.do(t, "GET", "/webhooks/999999", "")
	for _, tt := range []struct{ method, body string }{{"GET", ""}, {"PUT", `{"name": "theirs"}`}, {"DELETE", ""}} {
		res := other.do(t, tt.method, path, tt.body)
		if res.Status != http.StatusNotFound {
			t.Errorf("other tenant %s %s = %d %s, want 404", tt.method, path, res.Status, res.Body)
		}
		want := strings.ReplaceAll(string(missing.Body), "999999", fmt.Sprint(id))
		if string(res.Body) != want {
			t.Errorf("other tenant %s: body %s differs from a missing id's %s", tt.method, res.Body, want)
		}
	}
	var page struct{ TotalCount int }
	other.do(t, "GET", "/webhooks", "").JSON(t, &page)
	if page.TotalCount != 0 {
		t.Errorf("other tenant lists %d webhooks, want 0", page.TotalCount)
	}
	if got := f.do(t, "GET", path, "").Map(t); got["name"] != "mine" {
		t.Errorf("owner's webhook changed: %v", got)
	}
}

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestStoreFailureIsInternalError(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newFixture(t, callfire.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f.do(t, "GET", "/webhooks", "") // authenticate once while the store works
	f.env.DB.Close()
	res := f.do(t, "GET", "/webhooks", "")
	want := map[string]any{"httpStatusCode": float64(500), "internalCode": float64(0), "message": "internal error", "developerMessage": "hookd error code internal: internal error"}
	if diff := cmp.Diff(want, res.Map(t)); res.Status != http.StatusInternalServerError || diff != "" {
		t.Errorf("with the store closed: %d (-want +got):\n%s", res.Status, diff)
	}
	if !strings.Contains(logs.String(), "closed") {
		t.Errorf("the cause was not logged: %q", logs.String())
	}
}

// TestDeliveryCarriesCallFireSignature creates a webhook through this API
// and checks that an event reaches it in CallFire's notification shape
// (its documentation's callbackPayloadOnContactList.json, property by
// property), signed as CallFire's published verifiers check.
func TestDeliveryCarriesCallFireSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	f.env.StartDelivery(t)
	rc := compattest.NewReceiver(t)
	id := f.create(t, fmt.Sprintf(`{"name": "testContactListValidationFinish", "resource": "ContactList", "events": ["ValidationFinished"], "callback": %q, "secret": "callfire-secret"}`, rc.URL))

	list := `{"id":10,"name":"API Contact List 2017-06-06 07:11:24","size":2,"created":1496758285000,"status":"ACTIVE"}`
	res := f.env.Publish(t, f.scope, "ContactList.validationFinished", list)
	if res.Deliveries != 1 {
		t.Fatalf("publish made %d deliveries, want 1", res.Deliveries)
	}
	if n := f.env.Publish(t, f.scope, "ContactList.validationFailed", `{"id": 10}`).Deliveries; n != 0 {
		t.Errorf("an event the webhook did not subscribe to made %d deliveries", n)
	}
	req := rc.Next(t)
	if err := verify.VerifyCallFire("callfire-secret", req.Header, req.Body); err != nil {
		t.Errorf("X-CallFire-Signature %q does not verify: %v", req.Header.Get("X-CallFire-Signature"), err)
	}
	if err := verify.VerifyCallFire("another-secret", req.Header, req.Body); err == nil {
		t.Error("X-CallFire-Signature verifies with the wrong secret")
	}
	// The same delivery verifies with a Standard Webhooks library, without
	// special flags, given the secret the canonical API shows.
	w, err := f.env.Services.Webhooks.FindWebhookByNumber(context.Background(), f.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	if sw, err := standardwebhooks.NewWebhook(w.Secret); err != nil {
		t.Errorf("secret %q: %v", w.Secret, err)
	} else if err := sw.Verify(req.Body, req.Header); err != nil {
		t.Errorf("the Standard Webhooks library does not verify the delivery: %v", err)
	}
	if req.Header.Get("webhook-id") != res.Event.ID {
		t.Errorf("webhook-id = %q, want the event id %q", req.Header.Get("webhook-id"), res.Event.ID)
	}
	ms := float64(res.Event.CreatedAt.UnixMilli())
	var resource any
	json.Unmarshal([]byte(list), &resource)
	want := map[string]any{
		"timestamp": ms, "webhookId": float64(id), "webhookName": "testContactListValidationFinish", "resourceType": "ContactList",
		"events": []any{map[string]any{
			"timestamp": ms, "webhookId": float64(id), "resourceType": "ContactList", "eventType": "ValidationFinished",
			"resource": resource,
		}},
	}
	var got map[string]any
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered body (-want +got):\n%s", diff)
	}
}

// TestSwaggerDocument: the document CallFire's spec-driven clients load
// names this hookd (host, basePath, scheme), needs no credentials, and
// declares the statuses the API answers.
func TestSwaggerDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	for _, tt := range []struct{ header, scheme string }{{"", "http"}, {"X-Forwarded-Proto: https", "https"}} {
		var hdr []string
		if tt.header != "" {
			hdr = append(hdr, tt.header)
		}
		res := compattest.Do(t, f.h, "GET", "http://hookd.example:8080"+base+"/api-docs/swagger.json", "", hdr...)
		if res.Status != http.StatusOK {
			t.Fatalf("GET swagger.json = %d %s", res.Status, res.Body)
		}
		var doc struct {
			Swagger, Host, BasePath string
			Schemes                 []string
			Paths                   map[string]map[string]struct {
				OperationID string
				Responses   map[string]any
			}
		}
		res.JSON(t, &doc)
		if doc.Swagger != "2.0" || doc.Host != "hookd.example:8080" || doc.BasePath != base || !cmp.Equal(doc.Schemes, []string{tt.scheme}) {
			t.Errorf("swagger %q host %q basePath %q schemes %v", doc.Swagger, doc.Host, doc.BasePath, doc.Schemes)
		}
		ops := map[string]string{}
		for p, methods := range doc.Paths {
			for m, op := range methods {
				for code := range op.Responses {
					if code != "default" {
						ops[op.OperationID] = strings.ToUpper(m) + " " + p + " " + code
					}
				}
			}
		}
		want := map[string]string{
			"findWebhooks":         "GET /webhooks 200",
			"createWebhook":        "POST /webhooks 200",
			"getWebhook":           "GET /webhooks/{id} 200",
			"updateWebhook":        "PUT /webhooks/{id} 204",
			"deleteWebhook":        "DELETE /webhooks/{id} 204",
			"findWebhookResources": "GET /webhooks/resources 200",
			"getWebhookResource":   "GET /webhooks/resources/{resource} 200",
		}
		if diff := cmp.Diff(want, ops); diff != "" {
			t.Errorf("operations (-want +got):\n%s", diff)
		}
	}
}

// TestListsOnlyRepresentable: webhooks made through other APIs for every
// event or for several resources are neither listed nor found (CallFire's
// clients would read their events as "unknown"); one of a single resource
// is, in CallFire's spelling.
func TestListsOnlyRepresentable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})
	ctx := context.Background()
	f.do(t, "GET", "/webhooks/resources", "") // the catalog
	var hidden []*hookd.Webhook
	for _, types := range [][]string{nil, {"*"}, {"CallBroadcast.finished", "TextBroadcast.started"}} {
		w := &hookd.Webhook{URL: "https://example.com/other", EventTypes: types, Enabled: true, TLSVerify: true}
		if err := f.env.Services.Webhooks.CreateWebhook(ctx, f.scope, w); err != nil {
			t.Fatal(err)
		}
		hidden = append(hidden, w)
	}
	a := f.create(t, `{"name": "a", "resource": "CallBroadcast", "events": ["Finished"], "callback": "https://example.com/a"}`)
	shown := &hookd.Webhook{URL: "https://example.com/shown", EventTypes: []string{"ContactList.validationFailed"}, Enabled: true, TLSVerify: true}
	if err := f.env.Services.Webhooks.CreateWebhook(ctx, f.scope, shown); err != nil {
		t.Fatal(err)
	}
	b := f.create(t, `{"name": "b", "resource": "CallBroadcast", "callback": "https://example.com/b"}`)

	var page struct {
		Items []struct {
			ID       int64
			Resource string
			Events   []string
		}
		TotalCount int
	}
	f.do(t, "GET", "/webhooks", "").JSON(t, &page)
	var ids []int64
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	slices.Sort(ids)
	if diff := cmp.Diff([]int64{a, shown.Number, b}, ids); diff != "" || page.TotalCount != 3 {
		t.Errorf("GET /webhooks: totalCount %d; ids (-want +got):\n%s", page.TotalCount, diff)
	}
	got := f.do(t, "GET", fmt.Sprintf("/webhooks/%d", shown.Number), "").Map(t)
	if got["resource"] != "ContactList" || !cmp.Equal(got["events"], []any{"ValidationFailed"}) {
		t.Errorf("a webhook made through the canonical API: %v", got)
	}
	f.do(t, "GET", "/webhooks?limit=1&offset=1&event=finished", "").JSON(t, &page)
	if len(page.Items) != 1 || page.TotalCount != 2 {
		t.Errorf("event=finished&limit=1&offset=1: %d items, totalCount %d, want 1 of 2", len(page.Items), page.TotalCount)
	}
	for _, w := range hidden {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			if res := f.do(t, m, fmt.Sprintf("/webhooks/%d", w.Number), `{"name": "x"}`); res.Status != http.StatusNotFound {
				t.Errorf("%s a webhook for %v = %d, want 404", m, w.EventTypes, res.Status)
			}
		}
	}
}
