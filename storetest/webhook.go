package storetest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var webhookTests = []test{
	{"Webhook/RoundTrip", testWebhookRoundTrip},
	{"Webhook/Invalid", testWebhookInvalid},
	{"Webhook/Update", testWebhookUpdate},
	{"Webhook/Delete", testWebhookDelete},
	{"Webhook/RotateSecret", testWebhookRotate},
	{"Webhook/List", testWebhookList},
	{"Webhook/Isolation", testWebhookIsolation},
}

func testWebhookRoundTrip(e *env) {
	t := e.t
	s := e.scope("acme")
	e.types(s, "CallBroadcast.started", "CALL_LOGGED")
	expires := Start.Add(48 * time.Hour)
	w := &hookd.Webhook{
		Name:        "calls",
		Description: "all call events",
		URL:         "https://receiver.example/hooks?x=1",
		EventTypes:  []string{"CallBroadcast.started", "CALL_LOGGED", "TextBroadcast.*", "*"},
		Filter:      json.RawMessage(`{"data.disposition":{"$in":[1,4]}}`),
		Fields:      []string{"id", "data.to"},
		Enabled:     true,
		Secret:      hookd.SecretFromText("my-own-secret-123"),
		SingleUse:   true,
		ExpiresAt:   &expires,
		TLSVerify:   false,
		Headers:     map[string]string{"X-Team": "calls", "Authorization": "Bearer abc"},
		RateLimit:   ptr(25),
		Metadata:    map[string]string{"owner": "ops"},
		Source:      "callfire",
	}
	if err := e.svc.Webhooks.CreateWebhook(e.ctx, s, w); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.ID, "wh_") || w.Number <= 0 {
		t.Fatalf("created webhook id %q, number %d; want wh_… and a positive number", w.ID, w.Number)
	}
	want := &hookd.Webhook{
		ID: w.ID, Number: w.Number, TenantID: s.TenantID, Mode: s.Mode,
		Name: "calls", Description: "all call events", URL: "https://receiver.example/hooks?x=1",
		EventTypes: []string{"CallBroadcast.started", "CALL_LOGGED", "TextBroadcast.*", "*"},
		Filter:     json.RawMessage(`{"data.disposition":{"$in":[1,4]}}`),
		Fields:     []string{"id", "data.to"},
		Enabled:    true, Status: hookd.StatusActive, Secret: hookd.SecretFromText("my-own-secret-123"), SingleUse: true,
		ExpiresAt: &expires, TLSVerify: false,
		Headers:   map[string]string{"X-Team": "calls", "Authorization": "Bearer abc"},
		RateLimit: ptr(25), Metadata: map[string]string{"owner": "ops"}, Source: "callfire",
		CreatedAt: Start, UpdatedAt: Start,
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("created webhook (-want +got):\n%s", diff)
	}
	got, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindWebhookByID (-want +got):\n%s", diff)
	}
	byNumber, err := e.svc.Webhooks.FindWebhookByNumber(e.ctx, s, w.Number)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, byNumber); diff != "" {
		t.Errorf("FindWebhookByNumber (-want +got):\n%s", diff)
	}

	// The defaults: a generated secret, empty lists and maps, no filter.
	plain := &hookd.Webhook{URL: "https://receiver.example/plain", Enabled: true, TLSVerify: true}
	if err := e.svc.Webhooks.CreateWebhook(e.ctx, s, plain); err != nil {
		t.Fatal(err)
	}
	got, err = e.svc.Webhooks.FindWebhookByID(e.ctx, s, plain.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Secret, "whsec_") {
		t.Errorf("generated secret %q lacks whsec_", got.Secret)
	}
	if got.Number == w.Number {
		t.Errorf("two webhooks share number %d", got.Number)
	}
	wantPlain := &hookd.Webhook{
		ID: plain.ID, Number: plain.Number, TenantID: s.TenantID, Mode: s.Mode, URL: plain.URL,
		EventTypes: []string{}, Fields: []string{}, Enabled: true, Status: hookd.StatusActive, Secret: plain.Secret,
		TLSVerify: true, Headers: map[string]string{}, Metadata: map[string]string{}, CreatedAt: Start, UpdatedAt: Start,
	}
	if diff := cmp.Diff(wantPlain, got); diff != "" {
		t.Errorf("webhook with defaults (-want +got):\n%s", diff)
	}

	// Created disabled.
	off := e.webhook(s, nil, func(w *hookd.Webhook) { w.Enabled = false })
	if off.Status != hookd.StatusDisabled {
		t.Errorf("disabled webhook has status %q", off.Status)
	}
}

func testWebhookInvalid(e *env) {
	t := e.t
	s := e.scope("acme")
	e.types(s, "known.type")
	past := Start.Add(-time.Second)
	for _, c := range []struct {
		name  string
		w     hookd.Webhook
		field string
	}{
		{"no url", hookd.Webhook{}, "url"},
		{"relative url", hookd.Webhook{URL: "/hook"}, "url"},
		{"ftp url", hookd.Webhook{URL: "ftp://x.example/"}, "url"},
		{"bad pattern", hookd.Webhook{URL: "https://x.example/", EventTypes: []string{"a..b"}}, "event_types[0]"},
		{"unknown type", hookd.Webhook{URL: "https://x.example/", EventTypes: []string{"known.type", "Missing.type"}},
			`event_types: unknown event type "Missing.type"`},
		{"bad filter", hookd.Webhook{URL: "https://x.example/", Filter: json.RawMessage(`{"$bogus":1}`)}, "filter"},
		{"filter not json", hookd.Webhook{URL: "https://x.example/", Filter: json.RawMessage(`{`)}, "filter"},
		{"bad field path", hookd.Webhook{URL: "https://x.example/", Fields: []string{"a..b"}}, "fields[0]"},
		{"expired", hookd.Webhook{URL: "https://x.example/", ExpiresAt: &past}, "expires_at"},
		{"reserved header", hookd.Webhook{URL: "https://x.example/", Headers: map[string]string{"Content-Type": "x"}}, "headers"},
		{"rate limit", hookd.Webhook{URL: "https://x.example/", RateLimit: ptr(0)}, "rate_limit"},
		{"short secret", hookd.Webhook{URL: "https://x.example/", Secret: "short"}, "secret"},
	} {
		w := c.w
		err := e.svc.Webhooks.CreateWebhook(e.ctx, s, &w)
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(hookd.ErrorMessage(err), c.field) {
			t.Errorf("%s: CreateWebhook = %v, want EINVALID naming %s", c.name, err, c.field)
		}
	}
	list, total, err := e.svc.Webhooks.FindWebhooks(e.ctx, s, hookd.WebhookFilter{})
	if err != nil || len(list) != 0 || total != 0 {
		t.Errorf("after invalid creates: %d webhooks, total %d, %v; want none", len(list), total, err)
	}
}

func testWebhookUpdate(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, []string{"a.one"}, func(w *hookd.Webhook) {
		w.Name, w.Metadata = "before", map[string]string{"k": "v"}
	})
	e.types(s, "a.two")
	e.clock.Advance(time.Minute)
	later := Start.Add(24 * time.Hour)
	up, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{
		Name:       ptr("after"),
		EventTypes: &[]string{"a.two", "b.*"},
		Filter:     ptr(json.RawMessage(`{"type":"a.two"}`)),
		ExpiresAt:  ptr(&later),
		RateLimit:  ptr(ptr(3)),
		Headers:    &map[string]string{"X-A": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := *w
	want.Name, want.EventTypes, want.Filter = "after", []string{"a.two", "b.*"}, json.RawMessage(`{"type":"a.two"}`)
	want.ExpiresAt, want.RateLimit, want.Headers = &later, ptr(3), map[string]string{"X-A": "1"}
	want.UpdatedAt = Start.Add(time.Minute)
	if diff := cmp.Diff(&want, up); diff != "" {
		t.Errorf("UpdateWebhook result (-want +got):\n%s", diff)
	}
	got, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("FindWebhookByID after update (-want +got):\n%s", diff)
	}

	// Clearing: a pointer to a zero value empties the field.
	up, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Filter: ptr(json.RawMessage(nil)), ExpiresAt: ptr[*time.Time](nil), RateLimit: ptr[*int](nil)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Filter != nil || up.ExpiresAt != nil || up.RateLimit != nil {
		t.Errorf("cleared fields came back: filter %s, expires %v, rate %v", up.Filter, up.ExpiresAt, up.RateLimit)
	}

	// Disable and enable again.
	up, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Enabled || up.Status != hookd.StatusDisabled {
		t.Errorf("after disabling: enabled %v, status %q", up.Enabled, up.Status)
	}
	up, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !up.Enabled || up.Status != hookd.StatusActive {
		t.Errorf("after enabling: enabled %v, status %q", up.Enabled, up.Status)
	}

	_, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{EventTypes: &[]string{"never.created"}})
	wantCode(t, err, hookd.EINVALID, `unknown event type "never.created"`)
	_, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{URL: ptr("not a url")})
	wantCode(t, err, hookd.EINVALID, "url")
	_, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, "wh_missing", hookd.WebhookUpdate{Name: ptr("x")})
	wantCode(t, err, hookd.ENOTFOUND, "wh_missing")

	// A failed update changes nothing.
	got, err = e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != w.URL || len(got.EventTypes) != 2 {
		t.Errorf("a refused update was stored: url %q, event types %v", got.URL, got.EventTypes)
	}
}

func testWebhookDelete(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	keep := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	if err := e.svc.Webhooks.DeleteWebhook(e.ctx, s, w.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, e.svc.Webhooks.DeleteWebhook(e.ctx, s, w.ID), hookd.ENOTFOUND)

	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		want := hookd.DeliveryPending
		if d.WebhookID == w.ID {
			want = hookd.DeliveryCancelled
		}
		if d.Status != want {
			t.Errorf("delivery to %s is %q, want %q", d.WebhookID, d.Status, want)
		}
	}
	jobs := e.claim("w1", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Webhook.ID != keep.ID {
		t.Errorf("claimed %d jobs; want only the one for the remaining webhook", len(jobs))
	}
}

func testWebhookRotate(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.clock.Advance(time.Minute)
	got, err := e.svc.Webhooks.RotateWebhookSecret(e.ctx, s, w.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret == w.Secret || !strings.HasPrefix(got.Secret, "whsec_") {
		t.Errorf("new secret %q (old %q)", got.Secret, w.Secret)
	}
	if got.PreviousSecret != w.Secret {
		t.Errorf("previous secret = %q, want the old one %q", got.PreviousSecret, w.Secret)
	}
	wantExp := Start.Add(time.Minute + time.Hour)
	if got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(wantExp) {
		t.Errorf("previous secret expires at %v, want %v", got.PreviousSecretExpiresAt, wantExp)
	}
	found, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{got.Secret, w.Secret}, found.Secrets(e.clock.Now())); diff != "" {
		t.Errorf("secrets during the grace period (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{got.Secret}, found.Secrets(wantExp)); diff != "" {
		t.Errorf("secrets after the grace period (-want +got):\n%s", diff)
	}
	_, err = e.svc.Webhooks.RotateWebhookSecret(e.ctx, s, "wh_missing", time.Hour)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testWebhookList(e *env) {
	t := e.t
	s := e.scope("acme")
	// Ids sort by creation time at millisecond precision: let time pass
	// between creations so that the names come out in id order.
	tick := func() { e.clock.Advance(time.Millisecond) }
	e.webhook(s, []string{"CallBroadcast.started"}, func(w *hookd.Webhook) { w.Name = "a"; w.URL = "https://a.example/" })
	tick()
	b := e.webhook(s, []string{"CallBroadcast.*"}, func(w *hookd.Webhook) { w.Name = "b" })
	tick()
	c := e.webhook(s, []string{"TextBroadcast.sent"}, func(w *hookd.Webhook) { w.Name = "c"; w.Enabled = false })
	tick()
	e.webhook(s, nil, func(w *hookd.Webhook) { w.Name = "d" })
	tick()
	e.webhook(s, []string{"CALL_LOGGED"}, func(w *hookd.Webhook) { w.Name = "x" })

	ids := func(f hookd.WebhookFilter) ([]string, int) {
		t.Helper()
		list, total, err := e.svc.Webhooks.FindWebhooks(e.ctx, s, f)
		if err != nil {
			t.Fatalf("FindWebhooks(%+v): %v", f, err)
		}
		out := []string{}
		for _, w := range list {
			out = append(out, w.Name)
		}
		return out, total
	}
	all := []string{"a", "b", "c", "d", "x"}
	for _, tc := range []struct {
		name  string
		f     hookd.WebhookFilter
		want  []string
		total int
	}{
		{"all", hookd.WebhookFilter{}, all, 5},
		{"url", hookd.WebhookFilter{URL: "https://a.example/"}, []string{"a"}, 1},
		{"enabled", hookd.WebhookFilter{Enabled: ptr(true)}, []string{"a", "b", "d", "x"}, 4},
		{"disabled", hookd.WebhookFilter{Enabled: ptr(false)}, []string{"c"}, 1},
		{"status", hookd.WebhookFilter{Status: hookd.StatusDisabled}, []string{"c"}, 1},
		{"name", hookd.WebhookFilter{Name: "b"}, []string{"b"}, 1},
		{"event type", hookd.WebhookFilter{EventType: "CallBroadcast.started"}, []string{"a", "b", "d"}, 3},
		{"event type by wildcard only", hookd.WebhookFilter{EventType: "CallBroadcast.stopped"}, []string{"b", "d"}, 2},
		{"resource", hookd.WebhookFilter{Resource: "CallBroadcast"}, []string{"a", "b", "d"}, 3},
		{"resource without dot", hookd.WebhookFilter{Resource: "CALL_LOGGED"}, []string{"d", "x"}, 2},
		{"limit", hookd.WebhookFilter{Page: hookd.Page{Limit: 2}}, []string{"a", "b"}, 5},
		{"offset", hookd.WebhookFilter{Page: hookd.Page{Limit: 2, Offset: 2}}, []string{"c", "d"}, 5},
		{"offset past the end", hookd.WebhookFilter{Page: hookd.Page{Offset: 9}}, []string{}, 5},
		{"cursor", hookd.WebhookFilter{Page: hookd.Page{Limit: 2, Cursor: b.ID}}, []string{"c", "d"}, 5},
		{"cursor with filter", hookd.WebhookFilter{Enabled: ptr(true), Page: hookd.Page{Cursor: c.ID}}, []string{"d", "x"}, 4},
	} {
		got, total := ids(tc.f)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: names (-want +got):\n%s", tc.name, diff)
		}
		if total != tc.total {
			t.Errorf("%s: total = %d, want %d", tc.name, total, tc.total)
		}
	}
	_, _, err := e.svc.Webhooks.FindWebhooks(e.ctx, s, hookd.WebhookFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit + 1}})
	wantCode(t, err, hookd.EINVALID, "limit")
}

// testWebhookIsolation: another tenant's or mode's ids answer ENOTFOUND and
// its lists are empty.
func testWebhookIsolation(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, []string{"a.one"})
	res := e.publishOne(s, e.event("a.one", `{}`))
	dl := e.deliveries(s, hookd.DeliveryFilter{})
	if len(dl) != 1 {
		t.Fatalf("%d deliveries, want 1", len(dl))
	}
	for name, other := range map[string]hookd.Scope{
		"other tenant": e.scope("globex"),
		"other mode":   {TenantID: s.TenantID, Mode: hookd.ModeTest},
	} {
		_, err := e.svc.Webhooks.FindWebhookByID(e.ctx, other, w.ID)
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.Webhooks.FindWebhookByNumber(e.ctx, other, w.Number)
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.Webhooks.UpdateWebhook(e.ctx, other, w.ID, hookd.WebhookUpdate{Name: ptr("stolen")})
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.Webhooks.RotateWebhookSecret(e.ctx, other, w.ID, time.Hour)
		wantCode(t, err, hookd.ENOTFOUND)
		wantCode(t, e.svc.Webhooks.DeleteWebhook(e.ctx, other, w.ID), hookd.ENOTFOUND)
		list, total, err := e.svc.Webhooks.FindWebhooks(e.ctx, other, hookd.WebhookFilter{})
		if err != nil || len(list) != 0 || total != 0 {
			t.Errorf("%s: FindWebhooks = %d rows, total %d, %v; want none", name, len(list), total, err)
		}
		_, err = e.svc.Events.FindEventByID(e.ctx, other, res.Event.ID)
		wantCode(t, err, hookd.ENOTFOUND)
		evs, err := e.svc.Events.FindEvents(e.ctx, other, hookd.EventFilter{})
		if err != nil || len(evs) != 0 {
			t.Errorf("%s: FindEvents = %d rows, %v; want none", name, len(evs), err)
		}
		_, _, err = e.svc.Deliveries.FindDeliveryByID(e.ctx, other, dl[0].ID)
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.Deliveries.RetryDelivery(e.ctx, other, dl[0].ID)
		wantCode(t, err, hookd.ENOTFOUND)
		_, err = e.svc.Deliveries.RecoverWebhook(e.ctx, other, w.ID, Start.Add(-time.Hour), nil)
		wantCode(t, err, hookd.ENOTFOUND)
		ds, err := e.svc.Deliveries.FindDeliveries(e.ctx, other, hookd.DeliveryFilter{})
		if err != nil || len(ds) != 0 {
			t.Errorf("%s: FindDeliveries = %d rows, %v; want none", name, len(ds), err)
		}
		// Publishing there reaches none of s's webhooks.
		if r := e.publishOne(other, e.event("a.one", `{}`)); r.Deliveries != 0 {
			t.Errorf("%s: a publish made %d deliveries to another scope's webhook", name, r.Deliveries)
		}
	}
	got, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil || got.Name != w.Name {
		t.Errorf("the webhook changed through another scope: %+v, %v", got, err)
	}
}
