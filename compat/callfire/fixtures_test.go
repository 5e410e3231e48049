package callfire_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/hookd/hookd/compat/callfire"
)

// The request and response fixtures of CallFire's Java client's
// WebhooksApiTest (src/test/resources/…/webhooks/webhooksApi), which are
// CallFire's real requests and answers.
const (
	fixtureCreateRequest = `{"name": "API hook", "resource": "TextBroadcast", "callback": "http://cool.site.xyz/webhook",
		"events": ["Started", "Stopped"], "singleUse": true}`
	fixtureUpdateRequest = `{"id": 11, "name": "API hook", "resource": "TextBroadcast", "callback": "https://callfire.com/stopTextsOnly",
		"events": ["Stopped"], "singleUse": true}`
	fixtureCreateResponse = `{"id": 4321}`
	fixtureGetResponse    = `{"id": 4321, "enabled": false, "name": "API hook", "resource": "TextBroadcast",
		"callback": "http://webhook.receiver.xyz/endpoint", "createdAt": 1443408255000, "updatedAt": 1443408255000,
		"events": ["Started", "Stopped"], "singleUse": false}`
	fixtureFindResponse = `{"items": [` + fixtureGetResponse + `], "limit": 1000, "offset": 0, "totalCount": 2}`
)

// sameShape reports, property by property, where got differs in kind from
// the fixture want (a property missing, or a number where a string was).
func sameShape(t *testing.T, where string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", where, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s is missing", where, k)
				continue
			}
			sameShape(t, where+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) == 0 {
			t.Errorf("%s: got %v, want a non-empty array", where, got)
			return
		}
		sameShape(t, where+"[0]", w[0], g[0])
	default:
		if reflect.TypeOf(want) != reflect.TypeOf(got) {
			t.Errorf("%s: got %T %v, want %T like %v", where, got, got, want, want)
		}
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("fixture %s: %v", s, err)
	}
	return m
}

// TestPublishedFixtures replays CallFire's fixtures: each request as the
// client sends it, each answer compared property by property with
// CallFire's, values where they come from the request.
func TestPublishedFixtures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, callfire.Options{})

	res := f.do(t, "POST", "/webhooks", fixtureCreateRequest)
	if res.Status != http.StatusOK {
		t.Fatalf("POST createWebhook.json = %d %s", res.Status, res.Body)
	}
	created := res.Map(t)
	sameShape(t, "create", decode(t, fixtureCreateResponse), created)
	id := int64(created["id"].(float64))
	path := fmt.Sprintf("/webhooks/%d", id)

	got := f.do(t, "GET", path, "").Map(t)
	sameShape(t, "get", decode(t, fixtureGetResponse), got)
	for k, v := range decode(t, fixtureCreateRequest) {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("get: %s = %v, want %v as created", k, got[k], v)
		}
	}

	// The update fixture names another id in its body: the path's wins.
	if res := f.do(t, "PUT", path, fixtureUpdateRequest); res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("PUT updateWebhook.json = %d %s, want 204 and no body", res.Status, res.Body)
	}
	got = f.do(t, "GET", path, "").Map(t)
	for k, v := range decode(t, fixtureUpdateRequest) {
		if k != "id" && !reflect.DeepEqual(got[k], v) {
			t.Errorf("after update: %s = %v, want %v", k, got[k], v)
		}
	}
	if got["id"] != float64(id) {
		t.Errorf("after update: id = %v, want %d", got["id"], id)
	}

	f.create(t, fixtureCreateRequest)
	page := f.do(t, "GET", "/webhooks?limit=1000", "").Map(t)
	sameShape(t, "find", decode(t, fixtureFindResponse), page)
	if page["limit"] != float64(1000) || page["offset"] != float64(0) || page["totalCount"] != float64(2) {
		t.Errorf("find: limit %v offset %v totalCount %v, want 1000 0 2", page["limit"], page["offset"], page["totalCount"])
	}
}
