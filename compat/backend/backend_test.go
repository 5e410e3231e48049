package backend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat/backend"
	"github.com/hookd/hookd/compat/internal/compattest"
	"github.com/hookd/hookd/verify"
)

const base = "/v1/backend"

type fixture struct {
	env   *compattest.Env
	h     http.Handler
	key   string
	scope hookd.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return mount(t, compattest.New(t, hookd.NetPolicy{AllowPrivate: true}))
}

func mount(t *testing.T, env *compattest.Env) *fixture {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(base+"/", http.StripPrefix(base, backend.New(env.Services, backend.Options{})))
	key, s := env.Key(t)
	return &fixture{env: env, h: mux, key: key, scope: s}
}

func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) compattest.Response {
	t.Helper()
	return compattest.Do(t, f.h, method, base+path, body, append([]string{"Authorization: Bearer " + f.key}, headers...)...)
}

type webhookJSON struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	CreatedAt   string   `json:"created_at"`
	Secret      string   `json:"secret,omitempty"`
}

func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) create(t *testing.T, body string) webhookJSON {
	t.Helper()
	res := f.do(t, "POST", "/webhooks", body)
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /webhooks = %d %s, want 201", res.Status, res.Body)
	}
	var out struct{ Data webhookJSON }
	res.JSON(t, &out)
	return out.Data
}

// TestDocumentExamples sends the cURL commands of seed 003 in order.
func TestDocumentExamples(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	// curl -X POST ".../v1/backend/webhooks" -H "Content-Type: application/json" -d '{ "url": "http://example.com" }'
	res := f.do(t, "POST", "/webhooks", `{ "url": "http://example.com" }`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create = %d %s", res.Status, res.Body)
	}
	var created struct{ Data json.RawMessage }
	res.JSON(t, &created)
	if diff := cmp.Diff([]string{"created_at", "description", "enabled", "event_types", "id", "secret", "url"}, keysOf(t, created.Data)); diff != "" {
		t.Errorf("create answer properties (-want +got):\n%s", diff)
	}
	var wh webhookJSON
	json.Unmarshal(created.Data, &wh)
	at, err := time.Parse(time.RFC3339, wh.CreatedAt)
	if err != nil || time.Since(at) > time.Minute || !strings.HasSuffix(wh.CreatedAt, "Z") {
		t.Errorf("created_at = %q, want RFC 3339 UTC of now", wh.CreatedAt)
	}
	if !strings.HasPrefix(wh.Secret, "whsec_") || wh.ID == "" {
		t.Errorf("id %q secret %q", wh.ID, wh.Secret)
	}
	// event_types absent is the document's default, ["conversation.completed"].
	want := webhookJSON{ID: wh.ID, URL: "http://example.com", Description: "", EventTypes: []string{"conversation.completed"}, Enabled: true, CreatedAt: wh.CreatedAt}
	got := wh
	got.Secret = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}

	// curl -X GET ".../v1/backend/webhooks"
	res = f.do(t, "GET", "/webhooks", "")
	var list struct{ Data []json.RawMessage }
	res.JSON(t, &list)
	if res.Status != 200 || len(list.Data) != 1 {
		t.Fatalf("list = %d %s", res.Status, res.Body)
	}
	if diff := cmp.Diff([]string{"created_at", "description", "enabled", "event_types", "id", "url"}, keysOf(t, list.Data[0])); diff != "" {
		t.Errorf("list item properties (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"data"}, keysOf(t, res.Body)); diff != "" {
		t.Errorf("list envelope (-want +got):\n%s", diff)
	}

	// curl -X GET ".../v1/backend/webhooks/string": the document's own id is unknown here.
	res = f.do(t, "GET", "/webhooks/string", "")
	wantErr := `{"error":{"code":"not_found","message":"webhook string not found"}}`
	if res.Status != 404 || strings.TrimSpace(string(res.Body)) != wantErr {
		t.Errorf("GET /webhooks/string = %d %s, want 404 %s", res.Status, res.Body, wantErr)
	}
	var one struct{ Data webhookJSON }
	f.do(t, "GET", "/webhooks/"+wh.ID, "").JSON(t, &one)
	if diff := cmp.Diff(want, one.Data); diff != "" {
		t.Errorf("GET /webhooks/{id} (-want +got):\n%s", diff)
	}

	// curl -X GET ".../v1/backend/webhooks/string/secret"
	if res := f.do(t, "GET", "/webhooks/string/secret", ""); res.Status != 404 {
		t.Errorf("GET /webhooks/string/secret = %d %s", res.Status, res.Body)
	}
	res = f.do(t, "GET", "/webhooks/"+wh.ID+"/secret", "")
	if got := strings.TrimSpace(string(res.Body)); res.Status != 200 || got != fmt.Sprintf(`{"data":{"secret":%q}}`, wh.Secret) {
		t.Errorf("GET secret = %d %s", res.Status, got)
	}

	// curl -X POST ".../v1/backend/webhooks/test" (no body, no Content-Type)
	res = f.do(t, "POST", "/webhooks/test", "")
	var test struct {
		Data struct {
			Success   bool   `json:"success"`
			MessageID string `json:"message_id"`
		}
	}
	res.JSON(t, &test)
	if res.Status != 200 || !test.Data.Success || test.Data.MessageID == "" {
		t.Errorf("POST /webhooks/test = %d %s", res.Status, res.Body)
	}
	if ev, err := f.env.DB.FindEventByID(context.Background(), f.scope, test.Data.MessageID); err != nil || ev.Type != backend.TestEventType {
		t.Errorf("message_id %q is not a stored webhook.test event: %v", test.Data.MessageID, err)
	}

	// curl -X DELETE ".../v1/backend/webhooks/string"
	res = f.do(t, "DELETE", "/webhooks/string", "")
	if res.Status != 404 || strings.TrimSpace(string(res.Body)) != wantErr {
		t.Errorf("DELETE /webhooks/string = %d %s", res.Status, res.Body)
	}
	if res := f.do(t, "DELETE", "/webhooks/"+wh.ID, ""); res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Errorf("DELETE = %d %s, want 204", res.Status, res.Body)
	}
	if res := f.do(t, "GET", "/webhooks/"+wh.ID, ""); res.Status != 404 {
		t.Errorf("GET after DELETE = %d", res.Status)
	}
}

// TestEventTypesMustBeInCatalog: the API's own event types (the
// conversation events) exist on a brand-new tenant's first request; others
// are accepted once the catalog has them (publishing an event adds its type).
func TestEventTypesMustBeInCatalog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, typ := range []string{"conversation.started", "conversation.completed", "conversation.abandoned"} {
		body := fmt.Sprintf(`{"url": "https://example.com/hooks", "description": "n8n workflow #1", "event_types": [%q]}`, typ)
		if wh := f.create(t, body); !cmp.Equal(wh.EventTypes, []string{typ}) || wh.Description != "n8n workflow #1" {
			t.Errorf("create for %s = %+v", typ, wh)
		}
	}
	body := `{"url": "https://example.com/hooks", "event_types": ["invoice.paid"]}`
	res := f.do(t, "POST", "/webhooks", body)
	if m := res.Map(t); res.Status != 422 || m["error"].(map[string]any)["code"] != "invalid" {
		t.Errorf("unknown event type: %d %s, want 422 invalid", res.Status, res.Body)
	}
	f.env.Publish(t, f.scope, "invoice.paid", `{"invoice_id": "i1"}`)
	if wh := f.create(t, body); !cmp.Equal(wh.EventTypes, []string{"invoice.paid"}) {
		t.Errorf("create after publish = %+v", wh)
	}
	if wh := f.create(t, `{"url": "https://example.com/all", "event_types": ["conversation.*"]}`); !cmp.Equal(wh.EventTypes, []string{"conversation.*"}) {
		t.Errorf("wildcard create = %+v", wh)
	}
	if wh := f.create(t, `{"url": "https://example.com/every", "event_types": []}`); len(wh.EventTypes) != 0 {
		t.Errorf("explicit [] = %+v, want every event", wh)
	}
}

// TestListShowsEveryWebhook: an integration that reads one answer of
// GET /webhooks (TellCasey's n8n node looks for its own URL there) sees
// every webhook, more than a default page holds.
func TestListShowsEveryWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = hookd.DefaultPageLimit + 10
	for i := range n {
		f.create(t, fmt.Sprintf(`{"url": "https://example.com/%d"}`, i))
	}
	var list map[string]json.RawMessage
	f.do(t, "GET", "/webhooks", "").JSON(t, &list)
	var data []webhookJSON
	json.Unmarshal(list["data"], &data)
	if len(data) != n || list["next_cursor"] != nil {
		t.Errorf("GET /webhooks: %d webhooks, next_cursor %s; want %d and none", len(data), list["next_cursor"], n)
	}
	urls := map[string]bool{}
	for _, wh := range data {
		urls[wh.URL] = true
	}
	if len(urls) != n {
		t.Errorf("GET /webhooks holds %d distinct webhooks, want %d", len(urls), n)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, f.create(t, fmt.Sprintf(`{"url": "https://example.com/%d"}`, i)).ID)
	}
	slices.Sort(ids)
	var page struct {
		Data       []webhookJSON `json:"data"`
		NextCursor string        `json:"next_cursor"`
	}
	f.do(t, "GET", "/webhooks?limit=2", "").JSON(t, &page)
	if len(page.Data) != 2 || page.NextCursor != page.Data[1].ID {
		t.Fatalf("first page: %d items, next_cursor %q", len(page.Data), page.NextCursor)
	}
	got := []string{page.Data[0].ID, page.Data[1].ID}
	page.NextCursor = ""
	f.do(t, "GET", "/webhooks?limit=2&cursor="+got[1], "").JSON(t, &page)
	if len(page.Data) != 1 || page.NextCursor != "" {
		t.Fatalf("second page: %d items, next_cursor %q", len(page.Data), page.NextCursor)
	}
	got = append(got, page.Data[0].ID)
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, method, path, body string
		header                   string
		status                   int
		code, mention            string
	}{
		{"malformed JSON", "POST", "/webhooks", `{ "url": "http://example.com" `, "", 400, "malformed", "malformed JSON"},
		{"syntax error", "POST", "/webhooks", `{ "url": 'http://example.com' }`, "", 400, "malformed", "column 10"},
		{"missing url", "POST", "/webhooks", `{"description": "x"}`, "", 422, "invalid", "url is required"},
		{"bad url", "POST", "/webhooks", `{"url": "uri"}`, "", 422, "invalid", "url must be an absolute"},
		{"url not a string", "POST", "/webhooks", `{"url": 5}`, "", 422, "invalid", "url must be a string"},
		{"event_types not a list", "POST", "/webhooks", `{"url": "http://example.com", "event_types": "a.b"}`, "", 422, "invalid", "event_types must be an array"},
		{"bad event type", "POST", "/webhooks", `{"url": "http://example.com", "event_types": ["a b"]}`, "", 422, "invalid", "event_types[0]"},
		{"long description", "POST", "/webhooks", `{"url": "http://example.com", "description": "` + strings.Repeat("d", 5000) + `"}`, "", 422, "invalid", "description must be at most"},
		{"xml", "POST", "/webhooks", `<webhook/>`, "Content-Type: application/xml", 415, "unsupported_type", "Content-Type"},
		{"too large", "POST", "/webhooks", `{"url": "http://example.com", "description": "` + strings.Repeat("d", 70000) + `"}`, "", 413, "too_large", "at most 65536 bytes"},
		{"bad limit", "GET", "/webhooks?limit=abc", "", "", 422, "invalid", "limit must be"},
		{"method", "PUT", "/webhooks/wh_x", "", "", 405, "method_not_allowed", "allowed: GET, DELETE"},
		{"unknown path", "GET", "/events", "", "", 404, "not_found", "no such resource"},
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
				Error struct{ Code, Message string }
			}
			res.JSON(t, &e)
			if res.Status != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.mention) {
				t.Errorf("%s %s = %d %s, want %d %s mentioning %q", tt.method, tt.path, res.Status, res.Body, tt.status, tt.code, tt.mention)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, testKey, err := f.env.Services.Tenants.CreateAPIKey(context.Background(), f.scope.TenantID, hookd.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	live := f.create(t, `{"url": "http://example.com"}`)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"none", "", 401},
		{"wrong key", "Authorization: Bearer sk_live_nope", 401},
		{"basic", "Authorization: Basic " + f.key, 401},
		{"bearer", "Authorization: Bearer " + f.key, 200},
		{"x-api-key", "X-API-Key: " + f.key, 200},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.header != "" {
			hdr = append(hdr, tt.header)
		}
		res := compattest.Do(t, f.h, "GET", base+"/webhooks/"+live.ID, "", hdr...)
		if res.Status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, res.Status, res.Body, tt.want)
		}
		if tt.want == 401 && !strings.Contains(string(res.Body), `"code":"unauthorized"`) {
			t.Errorf("%s: body %s", tt.name, res.Body)
		}
	}
	// A test key does not see live rows.
	if res := compattest.Do(t, f.h, "GET", base+"/webhooks/"+live.ID, "", "Authorization: Bearer "+testKey); res.Status != 404 {
		t.Errorf("test key GET of a live webhook = %d, want 404", res.Status)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := mount(t, f.env)
	mine := f.create(t, `{"url": "http://example.com"}`)
	for _, p := range []string{"/webhooks/" + mine.ID, "/webhooks/" + mine.ID + "/secret"} {
		res := other.do(t, "GET", p, "")
		want := fmt.Sprintf(`{"error":{"code":"not_found","message":"webhook %s not found"}}`, mine.ID)
		if res.Status != 404 || strings.TrimSpace(string(res.Body)) != want {
			t.Errorf("other tenant GET %s = %d %s", p, res.Status, res.Body)
		}
	}
	if res := other.do(t, "DELETE", "/webhooks/"+mine.ID, ""); res.Status != 404 {
		t.Errorf("other tenant DELETE = %d", res.Status)
	}
	var list struct{ Data []webhookJSON }
	other.do(t, "GET", "/webhooks", "").JSON(t, &list)
	if len(list.Data) != 0 {
		t.Errorf("other tenant lists %d webhooks", len(list.Data))
	}
	// The other tenant's test event does not reach this tenant's webhook.
	var test struct {
		Data struct {
			MessageID string `json:"message_id"`
		}
	}
	other.do(t, "POST", "/webhooks/test", "").JSON(t, &test)
	ds, err := f.env.DB.FindDeliveries(context.Background(), f.scope, hookd.DeliveryFilter{EventID: test.Data.MessageID})
	if err != nil || len(ds) != 0 {
		t.Errorf("the other tenant's test event made %d deliveries here (%v)", len(ds), err)
	}
}

// TestDeliveries: an event and a test event reach a webhook made here,
// signed with the secret the API returned.
func TestDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.env.StartDelivery(t)
	rc := compattest.NewReceiver(t)
	f.env.Publish(t, f.scope, "conversation.completed", `{"conversation_id": "c0"}`) // into the catalog
	wh := f.create(t, fmt.Sprintf(`{"url": %q, "event_types": ["conversation.completed"]}`, rc.URL))
	v, err := verify.New(wh.Secret)
	if err != nil {
		t.Fatal(err)
	}

	ev := f.env.Publish(t, f.scope, "conversation.completed", `{"conversation_id": "c1"}`)
	req := rc.Next(t)
	if err := v.Verify(req.Header, req.Body); err != nil {
		t.Errorf("event delivery does not verify: %v", err)
	}
	// The envelope, with event_type, which TellCasey's n8n node reads.
	want := fmt.Sprintf(`{"id":%q,"type":"conversation.completed","event_type":"conversation.completed","timestamp":%d,"data":{"conversation_id": "c1"}}`,
		ev.Event.ID, ev.Event.CreatedAt.Unix())
	if string(req.Body) != want {
		t.Errorf("body = %s\nwant   %s", req.Body, want)
	}
	if req.Header.Get("webhook-id") != ev.Event.ID {
		t.Errorf("webhook-id = %q, want %q", req.Header.Get("webhook-id"), ev.Event.ID)
	}

	var test struct {
		Data struct {
			MessageID string `json:"message_id"`
		}
	}
	f.do(t, "POST", "/webhooks/test", "").JSON(t, &test)
	req = rc.Next(t)
	if err := v.Verify(req.Header, req.Body); err != nil {
		t.Errorf("test delivery does not verify: %v", err)
	}
	var body struct{ ID, Type string }
	json.Unmarshal(req.Body, &body)
	if req.Header.Get("webhook-id") != test.Data.MessageID || body.Type != backend.TestEventType || body.ID != test.Data.MessageID {
		t.Errorf("test delivery: webhook-id %q body %s, want message_id %q", req.Header.Get("webhook-id"), req.Body, test.Data.MessageID)
	}
}
