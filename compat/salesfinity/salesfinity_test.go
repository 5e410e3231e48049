package salesfinity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat/internal/compattest"
	"github.com/hookd/hookd/compat/salesfinity"
	"github.com/hookd/hookd/verify"
)

const base = "/compat/salesfinity/v1"

// exampleRequest is the "Example Request" of seed 002, verbatim.
const exampleRequest = `{
  "name": "CRM Call Sync",
  "url": "https://example.com/webhooks/salesfinity",
  "events": ["CALL_LOGGED"],
  "dispositions": [1, 4]
}`

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
	mux.Handle(base+"/", http.StripPrefix(base, salesfinity.New(env.Services, salesfinity.Options{})))
	key, s := env.Key(t)
	return &fixture{env: env, h: mux, key: key, scope: s}
}

func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) compattest.Response {
	t.Helper()
	return compattest.Do(t, f.h, method, base+path, body, append([]string{"x-api-key: " + f.key}, headers...)...)
}

type webhookJSON struct {
	ID           string   `json:"_id"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	Events       []string `json:"events"`
	Dispositions []int64  `json:"dispositions"`
	Status       string   `json:"status"`
	CreatedAt    string   `json:"createdAt"`
	UpdatedAt    string   `json:"updatedAt"`
}

var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// domain returns the hookd webhook behind a Salesfinity _id.
func (f *fixture) domain(t *testing.T, id string) (*hookd.Webhook, error) {
	t.Helper()
	ws, _, err := f.env.Services.Webhooks.FindWebhooks(context.Background(), f.scope, hookd.WebhookFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit}})
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if salesfinity.ObjectID(w) == id {
			return w, nil
		}
	}
	return nil, fmt.Errorf("no webhook has _id %s", id)
}

func TestDocumentExample(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := time.Now().Add(-time.Second)
	res := f.do(t, "POST", "/webhooks", exampleRequest)
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /webhooks = %d %s, want 201", res.Status, res.Body)
	}
	// Exactly the properties of the document's response.
	var keys map[string]json.RawMessage
	res.JSON(t, &keys)
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"_id", "createdAt", "dispositions", "events", "name", "status", "updatedAt", "url"}, names); diff != "" {
		t.Errorf("response properties (-want +got):\n%s", diff)
	}
	var got webhookJSON
	res.JSON(t, &got)
	if got.ID == "" || !isoMillis.MatchString(got.CreatedAt) || got.UpdatedAt != got.CreatedAt {
		t.Errorf("_id %q createdAt %q updatedAt %q", got.ID, got.CreatedAt, got.UpdatedAt)
	}
	if at, err := time.Parse(time.RFC3339, got.CreatedAt); err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("createdAt %q is not now", got.CreatedAt)
	}
	want := webhookJSON{
		ID: got.ID, Name: "CRM Call Sync", URL: "https://example.com/webhooks/salesfinity",
		Events: []string{"CALL_LOGGED"}, Dispositions: []int64{1, 4}, Status: "active",
		CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST /webhooks (-want +got):\n%s", diff)
	}

	// The domain webhook: source, and dispositions as a filter.
	w, err := f.domain(t, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantFilter := `{"$or":[{"type":{"$ne":"CALL_LOGGED"}},{"data.disposition":{"$in":[1,4]}},{"data.disposition_id":{"$in":[1,4]}},{"data.disposition.id":{"$in":[1,4]}}]}`
	if string(w.Filter) != wantFilter || w.Source != salesfinity.Source || w.Name != "CRM Call Sync" {
		t.Errorf("domain webhook: source %q name %q filter %s", w.Source, w.Name, w.Filter)
	}

	// GET and the list answer the same object.
	var one webhookJSON
	f.do(t, "GET", "/webhooks/"+got.ID, "").JSON(t, &one)
	if diff := cmp.Diff(want, one); diff != "" {
		t.Errorf("GET /webhooks/{id} (-want +got):\n%s", diff)
	}
	var list []webhookJSON
	f.do(t, "GET", "/webhooks", "").JSON(t, &list)
	if diff := cmp.Diff([]webhookJSON{want}, list); diff != "" {
		t.Errorf("GET /webhooks (-want +got):\n%s", diff)
	}
}

// TestCurlTemplate sends the cURL body of seed 002 as written, with its
// placeholders: "<string>" is not a URL.
func TestCurlTemplate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.do(t, "POST", "/webhooks", `
{
  "name": "<string>",
  "url": "<string>",
  "events": [
    "CALL_LOGGED"
  ],
  "dispositions": [
    123
  ]
}
`)
	var e struct {
		StatusCode     int
		Message, Error string
	}
	res.JSON(t, &e)
	if res.Status != 400 || e.StatusCode != 400 || e.Error != "Bad Request" || !strings.HasPrefix(e.Message, "url ") {
		t.Errorf("POST the cURL template = %d %s, want 400 naming url", res.Status, res.Body)
	}
	// With a real URL it is accepted.
	res = f.do(t, "POST", "/webhooks", `{"name": "<string>", "url": "https://example.com/", "events": ["CALL_LOGGED"], "dispositions": [123]}`)
	var got webhookJSON
	res.JSON(t, &got)
	if res.Status != 201 || !cmp.Equal(got.Dispositions, []int64{123}) {
		t.Errorf("POST = %d %s", res.Status, res.Body)
	}
}

func TestWithoutDispositions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.do(t, "POST", "/webhooks", `{"name": "snoozes", "url": "https://example.com/s", "events": ["contact_snoozed", "CALL_LOGGED", "CONTACT_SNOOZED"]}`)
	var got webhookJSON
	res.JSON(t, &got)
	if res.Status != 201 || got.Dispositions == nil || len(got.Dispositions) != 0 || !cmp.Equal(got.Events, []string{"CONTACT_SNOOZED", "CALL_LOGGED"}) {
		t.Errorf("POST = %d %s, want dispositions [] and events canonical, once each", res.Status, res.Body)
	}
	w, _ := f.domain(t, got.ID)
	if w.Filter != nil {
		t.Errorf("filter = %s, want none", w.Filter)
	}
}

func TestDeleteWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var created webhookJSON
	f.do(t, "POST", "/webhooks", exampleRequest).JSON(t, &created)
	res := f.do(t, "DELETE", "/webhooks/"+created.ID, "")
	var deleted webhookJSON
	res.JSON(t, &deleted)
	if diff := cmp.Diff(created, deleted); res.Status != http.StatusOK || diff != "" {
		t.Errorf("DELETE = %d (-want +got):\n%s", res.Status, diff)
	}
	res = f.do(t, "GET", "/webhooks/"+created.ID, "")
	want := map[string]any{"statusCode": float64(404), "message": fmt.Sprintf("webhook %s not found", created.ID), "error": "Not Found"}
	if diff := cmp.Diff(want, res.Map(t)); res.Status != http.StatusNotFound || diff != "" {
		t.Errorf("GET after DELETE = %d (-want +got):\n%s", res.Status, diff)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, method, path, body string
		header                   string
		status                   int
		mention                  string
	}{
		{"malformed JSON", "POST", "/webhooks", "{\n\"name\": \"x\",\n\"url\": ,\n}", "", 400, "line 3"},
		{"empty body", "POST", "/webhooks", "", "", 400, "empty"},
		{"missing name", "POST", "/webhooks", `{"url": "https://example.com/", "events": ["CALL_LOGGED"]}`, "", 400, "name is required"},
		{"blank name", "POST", "/webhooks", `{"name": " ", "url": "https://example.com/", "events": ["CALL_LOGGED"]}`, "", 400, "name is required"},
		{"name not a string", "POST", "/webhooks", `{"name": 1, "url": "https://example.com/", "events": ["CALL_LOGGED"]}`, "", 400, "name must be a string"},
		{"missing url", "POST", "/webhooks", `{"name": "x", "events": ["CALL_LOGGED"]}`, "", 400, "url is required"},
		{"bad url", "POST", "/webhooks", `{"name": "x", "url": "example.com", "events": ["CALL_LOGGED"]}`, "", 400, "url must be an absolute"},
		{"missing events", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/"}`, "", 400, "events is required"},
		{"empty events", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": []}`, "", 400, "events must not be empty"},
		{"events not a list", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": "CALL_LOGGED"}`, "", 400, "events must be an array"},
		{"unknown event", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": ["CALL_LOGGED", "DEAL_WON"]}`, "", 400, `events[1]: "DEAL_WON"`},
		{"event not a string", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": [7]}`, "", 400, "events[0] must be a string"},
		{"fractional disposition", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": ["CALL_LOGGED"], "dispositions": [1, 2.5]}`, "", 400, "dispositions[1] must be an integer"},
		{"string disposition", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": ["CALL_LOGGED"], "dispositions": ["1"]}`, "", 400, "dispositions[0] must be an integer"},
		{"dispositions not a list", "POST", "/webhooks", `{"name": "x", "url": "https://example.com/", "events": ["CALL_LOGGED"], "dispositions": 1}`, "", 400, "dispositions must be an array"},
		{"form content type", "POST", "/webhooks", exampleRequest, "Content-Type: application/x-www-form-urlencoded", 415, "Content-Type"},
		{"too large", "POST", "/webhooks", `{"name": "` + strings.Repeat("n", 65<<10) + `"}`, "", 413, "at most"},
		{"bad limit", "GET", "/webhooks?limit=-3", "", "", 400, "limit must be"},
		{"unknown id", "GET", "/webhooks/507f1f77bcf86cd799439011", "", "", 404, "not found"},
		{"unknown id (DELETE)", "DELETE", "/webhooks/507f1f77bcf86cd799439011", "", "", 404, "not found"},
		{"no update route", "PUT", "/webhooks/507f1f77bcf86cd799439011", exampleRequest, "", 405, "allowed: GET, DELETE"},
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
				StatusCode     int
				Message, Error string
			}
			res.JSON(t, &e)
			if res.Status != tt.status || e.StatusCode != tt.status || e.Error != http.StatusText(tt.status) || !strings.Contains(e.Message, tt.mention) {
				t.Errorf("%s %s = %d %s, want %d mentioning %q", tt.method, tt.path, res.Status, res.Body, tt.status, tt.mention)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, hdr := range [][]string{nil, {"x-api-key: sk_live_wrong"}, {"Authorization: Basic " + f.key}} {
		res := compattest.Do(t, f.h, "GET", base+"/webhooks", "", hdr...)
		if m := res.Map(t); res.Status != 401 || m["statusCode"] != float64(401) || m["error"] != "Unauthorized" {
			t.Errorf("headers %q: %d %s, want 401", hdr, res.Status, res.Body)
		}
	}
	if res := compattest.Do(t, f.h, "GET", base+"/webhooks", "", "X-API-KEY: "+f.key); res.Status != 200 {
		t.Errorf("X-API-KEY: %d %s", res.Status, res.Body)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := mount(t, f.env)
	var mine webhookJSON
	f.do(t, "POST", "/webhooks", exampleRequest).JSON(t, &mine)
	for _, m := range []string{"GET", "DELETE"} {
		res := other.do(t, m, "/webhooks/"+mine.ID, "")
		want := fmt.Sprintf(`{"statusCode":404,"message":"webhook %s not found","error":"Not Found"}`, mine.ID)
		if res.Status != 404 || strings.TrimSpace(string(res.Body)) != want {
			t.Errorf("other tenant %s = %d %s, want %s", m, res.Status, res.Body, want)
		}
	}
	var list []webhookJSON
	other.do(t, "GET", "/webhooks", "").JSON(t, &list)
	if len(list) != 0 {
		t.Errorf("other tenant lists %d webhooks", len(list))
	}
	if res := f.do(t, "GET", "/webhooks/"+mine.ID, ""); res.Status != 200 {
		t.Errorf("owner GET = %d", res.Status)
	}
}

// TestDeliveryFiltersByDisposition creates the document's example webhook
// (plus CONTACT_SNOOZED) pointing at a receiver and publishes events with
// and without a listed disposition.
func TestDeliveryFiltersByDisposition(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.env.StartDelivery(t)
	rc := compattest.NewReceiver(t)
	var created webhookJSON
	res := f.do(t, "POST", "/webhooks", fmt.Sprintf(`{"name": "CRM Call Sync", "url": %q, "events": ["CALL_LOGGED", "CONTACT_SNOOZED"], "dispositions": [1, 4]}`, rc.URL))
	if res.Status != 201 {
		t.Fatalf("POST = %d %s", res.Status, res.Body)
	}
	res.JSON(t, &created)
	w, err := f.domain(t, created.ID)
	if err != nil {
		t.Fatal(err)
	}

	events := []struct {
		typ, data string
		delivered bool
	}{
		{"CALL_LOGGED", `{"call_id": "c1", "disposition": 1}`, true},
		{"CALL_LOGGED", `{"call_id": "c2", "disposition": 2}`, false},
		{"CALL_LOGGED", `{"call_id": "c3", "disposition_id": 4}`, true},
		{"CALL_LOGGED", `{"call_id": "c4", "disposition": {"id": 4, "name": "Meeting booked"}}`, true},
		{"CALL_LOGGED", `{"call_id": "c5"}`, false},
		{"CONTACT_SNOOZED", `{"contact_id": "k1", "snoozed_until": "2024-02-01T00:00:00.000Z"}`, true},
	}
	var want []string
	for _, ev := range events {
		res := f.env.Publish(t, f.scope, ev.typ, ev.data)
		if got := res.Deliveries == 1; got != ev.delivered {
			t.Errorf("%s %s made %d deliveries, want delivered=%v", ev.typ, ev.data, res.Deliveries, ev.delivered)
		}
		if ev.delivered {
			want = append(want, res.Event.ID)
		}
	}
	v, err := verify.New(w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		req := rc.Next(t)
		if err := v.Verify(req.Header, req.Body); err != nil {
			t.Errorf("webhook-signature does not verify: %v", err)
		}
		if req.Header.Get("X-CallFire-Signature") != "" {
			t.Error("a Salesfinity webhook's delivery carries X-CallFire-Signature")
		}
		got = append(got, req.Header.Get("webhook-id"))
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered event ids (-want +got):\n%s", diff)
	}
}

// TestObjectIDs: _id has the document's shape (a MongoDB ObjectId, 24 hex
// digits led by the creation time in seconds) and finds the webhook, as
// does its hookd id; ids of other shapes are not found.
func TestObjectIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var created webhookJSON
	f.do(t, "POST", "/webhooks", exampleRequest).JSON(t, &created)
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(created.ID) {
		t.Fatalf("_id = %q, want 24 lowercase hex digits", created.ID)
	}
	at, _ := time.Parse(time.RFC3339, created.CreatedAt)
	if want := fmt.Sprintf("%08x", at.Unix()); created.ID[:8] != want {
		t.Errorf("_id %s does not start with its creation time %s", created.ID, want)
	}
	w, err := f.domain(t, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{created.ID, strings.ToUpper(created.ID), w.ID} {
		if res := f.do(t, "GET", "/webhooks/"+id, ""); res.Status != http.StatusOK {
			t.Errorf("GET /webhooks/%s = %d %s", id, res.Status, res.Body)
		}
	}
	wrongTime := fmt.Sprintf("%08x", at.Unix()+1) + created.ID[8:]
	for _, id := range []string{"507f1f77bcf86cd799439011", wrongTime, created.ID[:23], created.ID + "0", "zz" + created.ID[2:], "wh_nope", "000000000000000000000000"} {
		if res := f.do(t, "GET", "/webhooks/"+id, ""); res.Status != http.StatusNotFound {
			t.Errorf("GET /webhooks/%s = %d %s, want 404", id, res.Status, res.Body)
		}
	}
}

// TestListsOnlyRepresentable: webhooks made through other APIs for other
// events (or all events) are neither listed nor found here, so a
// Salesfinity list never shows an event outside the document's enum.
func TestListsOnlyRepresentable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.env.DB.EnsureEventTypes(ctx, f.scope, []*hookd.EventType{{Name: "CALL_LOGGED"}, {Name: "deal.won"}}); err != nil {
		t.Fatal(err)
	}
	var others []*hookd.Webhook
	for _, types := range [][]string{nil, {"*"}, {"deal.won"}, {"CALL_LOGGED", "deal.won"}} {
		w := &hookd.Webhook{URL: "https://example.com/other", EventTypes: types, Enabled: true, TLSVerify: true}
		if err := f.env.Services.Webhooks.CreateWebhook(ctx, f.scope, w); err != nil {
			t.Fatal(err)
		}
		others = append(others, w)
	}
	var ids []string
	for i := range 3 {
		var c webhookJSON
		f.do(t, "POST", "/webhooks", fmt.Sprintf(`{"name": "n%d", "url": "https://example.com/%d", "events": ["CALL_LOGGED"]}`, i, i)).JSON(t, &c)
		ids = append(ids, c.ID)
	}
	// One made elsewhere with only Salesfinity's events is representable.
	plain := &hookd.Webhook{URL: "https://example.com/plain", EventTypes: []string{"CALL_LOGGED"}, Enabled: true, TLSVerify: true}
	if err := f.env.Services.Webhooks.CreateWebhook(ctx, f.scope, plain); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, salesfinity.ObjectID(plain))

	listIDs := func(q string) []string {
		var list []webhookJSON
		f.do(t, "GET", "/webhooks"+q, "").JSON(t, &list)
		out := []string{}
		for _, w := range list {
			out = append(out, w.ID)
		}
		return out
	}
	if diff := cmp.Diff(ids, listIDs("")); diff != "" {
		t.Errorf("GET /webhooks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids[1:3], listIDs("?offset=1&limit=2")); diff != "" {
		t.Errorf("GET /webhooks?offset=1&limit=2 (-want +got):\n%s", diff)
	}
	for _, w := range others {
		for _, id := range []string{salesfinity.ObjectID(w), w.ID} {
			if res := f.do(t, "GET", "/webhooks/"+id, ""); res.Status != http.StatusNotFound {
				t.Errorf("GET a webhook for %v = %d, want 404", w.EventTypes, res.Status)
			}
		}
	}
}
