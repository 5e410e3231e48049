package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var publishTests = []test{
	{"Publish/FanOut", testPublishFanOut},
	{"Publish/Filter", testPublishFilter},
	{"Publish/NotDeliverable", testPublishNotDeliverable},
	{"Publish/TestEvents", testPublishTestEvents},
	{"Publish/Catalog", testPublishCatalog},
	{"Publish/IdempotentID", testPublishIdempotentID},
	{"Publish/IdempotencyKey", testPublishIdempotencyKey},
	{"Publish/DuplicatesInBatch", testPublishDuplicatesInBatch},
	{"Publish/ManyScopes", testPublishManyScopes},
	{"Publish/AtomicBatch", testPublishAtomicBatch},
	{"Publish/SystemEvents", testPublishSystemEvents},
	{"Event/Find", testEventFind},
	{"Event/Labels", testEventLabels},
}

// receivers returns the webhook ids that got a delivery of event id.
func (e *env) receivers(s hookd.Scope, eventID string) []string {
	e.t.Helper()
	out := []string{}
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{EventID: eventID}) {
		out = append(out, d.WebhookID)
	}
	return out
}

func testPublishFanOut(e *env) {
	t := e.t
	s := e.scope("acme")
	all := e.webhook(s, nil)
	star := e.webhook(s, []string{"*"})
	res := e.webhook(s, []string{"CallBroadcast.*"})
	exact := e.webhook(s, []string{"CallBroadcast.started"})
	other := e.webhook(s, []string{"CallBroadcast.stopped", "CALL_LOGGED"})
	prefix := e.webhook(s, []string{"CallBroadcastX.*"})

	for _, c := range []struct {
		typ  string
		want []string
	}{
		{"CallBroadcast.started", []string{all.ID, star.ID, res.ID, exact.ID}},
		{"CallBroadcast.stopped", []string{all.ID, star.ID, res.ID, other.ID}},
		{"CALL_LOGGED", []string{all.ID, star.ID, other.ID}},
		{"CallBroadcastX.started", []string{all.ID, star.ID, prefix.ID}},
		{"Unrelated.event", []string{all.ID, star.ID}},
	} {
		r := e.publishOne(s, e.event(c.typ, `{"n":1}`))
		if r.Deliveries != len(c.want) || r.Replayed {
			t.Errorf("%s: %d deliveries (replayed %v), want %d", c.typ, r.Deliveries, r.Replayed, len(c.want))
		}
		if diff := cmp.Diff(c.want, e.receivers(s, r.Event.ID), sortStrings); diff != "" {
			t.Errorf("%s: receivers (-want +got):\n%s", c.typ, diff)
		}
	}
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		if d.Status != hookd.DeliveryPending || d.Attempts != 0 || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(Start) ||
			!d.CreatedAt.Equal(Start) || d.EventType == "" {
			t.Errorf("new delivery %+v: want pending, no attempts, due and created at %s", d, Start)
		}
	}
}

func testPublishFilter(e *env) {
	t := e.t
	s := e.scope("acme")
	// "only CALL_LOGGED events whose disposition is 1 or 4, everything else".
	w := e.webhook(s, nil, func(w *hookd.Webhook) {
		w.Filter = json.RawMessage(`{"$or":[{"type":{"$ne":"CALL_LOGGED"}},{"data.disposition":{"$in":[1,4]}}]}`)
	})
	plain := e.webhook(s, nil)
	for _, c := range []struct {
		typ, data string
		match     bool
	}{
		{"CALL_LOGGED", `{"disposition":1}`, true},
		{"CALL_LOGGED", `{"disposition":4}`, true},
		{"CALL_LOGGED", `{"disposition":2}`, false},
		{"CALL_LOGGED", `{}`, false},
		{"CallBroadcast.started", `{"disposition":2}`, true},
	} {
		r := e.publishOne(s, e.event(c.typ, c.data))
		want := []string{plain.ID}
		if c.match {
			want = append(want, w.ID)
		}
		if diff := cmp.Diff(want, e.receivers(s, r.Event.ID), sortStrings); diff != "" {
			t.Errorf("%s %s: receivers (-want +got):\n%s", c.typ, c.data, diff)
		}
	}
}

func testPublishNotDeliverable(e *env) {
	t := e.t
	s := e.scope("acme")
	on := e.webhook(s, nil)
	e.webhook(s, nil, func(w *hookd.Webhook) { w.Enabled = false })
	expires := Start.Add(time.Hour)
	soon := e.webhook(s, nil, func(w *hookd.Webhook) { w.ExpiresAt = &expires })
	paused := e.webhook(s, nil)
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, paused.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}

	r := e.publishOne(s, e.event("a.one", `{}`))
	if diff := cmp.Diff([]string{on.ID, soon.ID}, e.receivers(s, r.Event.ID), sortStrings); diff != "" {
		t.Errorf("before expiry: receivers (-want +got):\n%s", diff)
	}
	e.clock.Set(expires)
	r = e.publishOne(s, e.event("a.one", `{}`))
	if diff := cmp.Diff([]string{on.ID}, e.receivers(s, r.Event.ID)); diff != "" {
		t.Errorf("at expiry: receivers (-want +got):\n%s", diff)
	}
}

func testPublishTestEvents(e *env) {
	t := e.t
	s := e.scope("acme")
	a := e.webhook(s, []string{"a.one"}, func(w *hookd.Webhook) { w.Filter = json.RawMessage(`{"type":"a.one"}`) })
	b := e.webhook(s, []string{"b.one"})
	e.webhook(s, nil, func(w *hookd.Webhook) { w.Enabled = false })

	ev := e.event("webhook.test", `{"test":true}`)
	r := e.publish(hookd.PublishRequest{Scope: s, Event: ev, Test: true})[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if diff := cmp.Diff([]string{a.ID, b.ID}, e.receivers(s, r.Event.ID), sortStrings); diff != "" {
		t.Errorf("test event receivers (-want +got):\n%s", diff)
	}
	r = e.publish(hookd.PublishRequest{Scope: s, Event: e.event("webhook.test", `{}`), Test: true, WebhookID: b.ID})[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if diff := cmp.Diff([]string{b.ID}, e.receivers(s, r.Event.ID)); diff != "" {
		t.Errorf("test event to one webhook: receivers (-want +got):\n%s", diff)
	}
	if _, err := e.svc.EventTypes.FindEventType(e.ctx, s, "webhook.test"); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("a test event's type was added to the catalog (err %v)", err)
	}
}

func testPublishCatalog(e *env) {
	t := e.t
	s := e.scope("acme")
	e.publishOne(s, e.event("Brand.new", `{}`))
	got, err := e.svc.EventTypes.FindEventType(e.ctx, s, "Brand.new")
	if err != nil {
		t.Fatalf("a published type was not added to the catalog: %v", err)
	}
	if !got.CreatedAt.Equal(Start) {
		t.Errorf("catalog entry created at %v, want %v", got.CreatedAt, Start)
	}
	// Now a webhook may name it.
	e.webhook(s, []string{"Brand.new"})
}

func testPublishIdempotentID(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	e.webhook(s, nil)
	ev := e.event("a.one", `{"x":1}`)
	ev.ID = "evt_client_1"
	first := e.publishOne(s, ev)
	if first.Event.ID != "evt_client_1" || first.Deliveries != 2 || first.Replayed {
		t.Fatalf("first publish = %+v", first)
	}
	// A webhook added later does not change the replay's answer.
	e.webhook(s, nil)
	e.clock.Advance(time.Minute)
	again := e.event("a.one", `{"x":1}`)
	again.ID = "evt_client_1"
	r := e.publishOne(s, again)
	if !r.Replayed || r.Deliveries != 2 || r.Event.ID != "evt_client_1" || !r.Event.CreatedAt.Equal(Start) {
		t.Errorf("replay = %+v (event %+v); want replayed, 2 deliveries, the original event", r, r.Event)
	}
	if n := len(e.deliveries(s, hookd.DeliveryFilter{EventID: "evt_client_1"})); n != 2 {
		t.Errorf("after a replay the event has %d deliveries, want 2", n)
	}

	diff := e.event("a.one", `{"x":2}`)
	diff.ID = "evt_client_1"
	r = e.publish(hookd.PublishRequest{Scope: s, Event: diff})[0]
	wantCode(t, r.Err, hookd.ECONFLICT, "evt_client_1")

	// The same id in another scope is another event.
	other := e.scope("globex")
	o := e.event("a.one", `{"x":2}`)
	o.ID = "evt_client_1"
	if r := e.publishOne(other, o); r.Replayed {
		t.Errorf("an id used by another tenant was treated as a replay")
	}
}

func testPublishIdempotencyKey(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	ev := e.event("a.one", `{"x":1}`)
	ev.IdempotencyKey = "key-1"
	first := e.publishOne(s, ev)

	again := e.event("a.one", `{"x":1}`)
	again.IdempotencyKey = "key-1"
	r := e.publishOne(s, again)
	if !r.Replayed || r.Event.ID != first.Event.ID || r.Deliveries != 1 {
		t.Errorf("replay by key = %+v; want replayed as %s with 1 delivery", r, first.Event.ID)
	}
	changed := e.event("a.one", `{"x":2}`)
	changed.IdempotencyKey = "key-1"
	r = e.publish(hookd.PublishRequest{Scope: s, Event: changed})[0]
	wantCode(t, r.Err, hookd.ECONFLICT, "Idempotency-Key")
	if evs, err := e.svc.Events.FindEvents(e.ctx, s, hookd.EventFilter{}); err != nil || len(evs) != 1 {
		t.Errorf("FindEvents = %d events, %v; want the one original", len(evs), err)
	}
}

func testPublishDuplicatesInBatch(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	mk := func(id, key, data string) hookd.PublishRequest {
		ev := e.event("a.one", data)
		ev.ID, ev.IdempotencyKey = id, key
		return hookd.PublishRequest{Scope: s, Event: ev}
	}
	res := e.publish(
		mk("dup", "", `{"v":1}`),
		mk("dup", "", `{"v":1}`),
		mk("dup", "", `{"v":2}`),
		mk("", "k", `{"v":3}`),
		mk("", "k", `{"v":3}`),
		mk("", "k", `{"v":4}`),
	)
	type summary struct {
		Replayed   bool
		Deliveries int
		Code       string
	}
	got := make([]summary, len(res))
	for i, r := range res {
		got[i] = summary{r.Replayed, r.Deliveries, hookd.ErrorCode(r.Err)}
	}
	want := []summary{{false, 1, ""}, {true, 1, ""}, {false, 0, hookd.ECONFLICT}, {false, 1, ""}, {true, 1, ""}, {false, 0, hookd.ECONFLICT}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if res[4].Event == nil || res[4].Event.ID != res[3].Event.ID {
		t.Errorf("the in-batch replay by key answered another event")
	}
	if n := len(e.deliveries(s, hookd.DeliveryFilter{})); n != 2 {
		t.Errorf("%d deliveries stored, want 2", n)
	}
}

func testPublishManyScopes(e *env) {
	t := e.t
	var reqs []hookd.PublishRequest
	var scopes []hookd.Scope
	for i := range 3 {
		s := e.scope(fmt.Sprintf("tenant-%d", i))
		for range i + 1 {
			e.webhook(s, nil)
		}
		scopes = append(scopes, s)
		for range 4 {
			reqs = append(reqs, hookd.PublishRequest{Scope: s, Event: e.event("a.one", `{}`)})
		}
	}
	res := e.publish(reqs...)
	for i, r := range res {
		want := i/4 + 1
		if r.Err != nil || r.Deliveries != want {
			t.Errorf("request %d: %d deliveries, %v; want %d", i, r.Deliveries, r.Err, want)
		}
	}
	for i, s := range scopes {
		if n := len(e.deliveries(s, hookd.DeliveryFilter{})); n != 4*(i+1) {
			t.Errorf("scope %d has %d deliveries, want %d", i, n, 4*(i+1))
		}
	}
}

func testEventFind(e *env) {
	t := e.t
	s := e.scope("acme")
	var ids []string
	for i, typ := range []string{"a.one", "b.two", "a.one", "a.one"} {
		ev := e.event(typ, fmt.Sprintf(`{"i":%d,"nested":{"ok":true}}`, i))
		ev.IdempotencyKey = fmt.Sprintf("k%d", i)
		ids = append(ids, e.publishOne(s, ev).Event.ID)
		e.clock.Advance(time.Minute)
	}
	got, err := e.svc.Events.FindEventByID(e.ctx, s, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	want := &hookd.Event{ID: ids[1], TenantID: s.TenantID, Mode: s.Mode, Type: "b.two",
		Data: json.RawMessage(`{"i":1,"nested":{"ok":true}}`), CreatedAt: Start.Add(time.Minute),
		IdempotencyKey: "k1", BodyHash: hookd.ComputeBodyHash("b.two", []byte(`{"i":1,"nested":{"ok":true}}`))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindEventByID (-want +got):\n%s", diff)
	}
	_, err = e.svc.Events.FindEventByID(e.ctx, s, "msg_missing")
	wantCode(t, err, hookd.ENOTFOUND)

	list := func(f hookd.EventFilter) []string { return e.eventIDs(s, f) }
	since, until := Start.Add(time.Minute), Start.Add(3*time.Minute)
	for _, c := range []struct {
		name string
		f    hookd.EventFilter
		want []string
	}{
		{"newest first", hookd.EventFilter{}, []string{ids[3], ids[2], ids[1], ids[0]}},
		{"type", hookd.EventFilter{Type: "a.one"}, []string{ids[3], ids[2], ids[0]}},
		{"since until", hookd.EventFilter{Since: &since, Until: &until}, []string{ids[2], ids[1]}},
		{"limit", hookd.EventFilter{Page: hookd.Page{Limit: 2}}, []string{ids[3], ids[2]}},
		{"offset", hookd.EventFilter{Page: hookd.Page{Limit: 2, Offset: 2}}, []string{ids[1], ids[0]}},
		{"cursor", hookd.EventFilter{Page: hookd.Page{Limit: 2, Cursor: ids[2]}}, []string{ids[1], ids[0]}},
	} {
		if diff := cmp.Diff(c.want, list(c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// A batch of Atomic requests commits whole, or not at all when one of them
// is refused; the refusal names the request.
func testPublishAtomicBatch(e *env) {
	t := e.t
	a, b := e.scope("acme"), e.scope("globex")
	e.webhook(a, nil)
	e.webhook(b, nil)
	taken := e.event("a.one", `{"x":1}`)
	taken.ID = "evt_taken"
	e.publishOne(a, taken)

	batch := func(reqs ...hookd.PublishRequest) ([]hookd.PublishResult, error) {
		for i := range reqs {
			reqs[i].Atomic = true
		}
		return e.store.PublishEvents(e.ctx, reqs)
	}
	conflict := e.event("a.one", `{"x":2}`)
	conflict.ID = "evt_taken"
	_, err := batch(
		hookd.PublishRequest{Scope: b, Event: e.event("a.one", `{}`)},
		hookd.PublishRequest{Scope: a, Event: e.event("a.one", `{}`)},
		hookd.PublishRequest{Scope: a, Event: conflict},
		hookd.PublishRequest{Scope: b, Event: e.event("a.one", `{}`)},
	)
	var br *hookd.BatchRefusal
	if !errors.As(err, &br) || br.Index != 2 || hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Fatalf("batch with a conflict at 2: %v; want a BatchRefusal at 2, code conflict", err)
	}
	for _, s := range []hookd.Scope{a, b} {
		evs, err := e.svc.Events.FindEvents(e.ctx, s, hookd.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[hookd.Scope]int{a: 1, b: 0}[s]; len(evs) != want {
			t.Errorf("after a refused batch scope %s has %d events, want %d", s.TenantID, len(evs), want)
		}
	}
	bad := e.event("", `{}`)
	_, err = batch(hookd.PublishRequest{Scope: a, Event: e.event("a.one", `{}`)}, hookd.PublishRequest{Scope: a, Event: bad})
	if !errors.As(err, &br) || br.Index != 1 || hookd.ErrorCode(err) != hookd.EINVALID {
		t.Errorf("batch with an invalid request at 1: %v", err)
	}

	res, err := batch(
		hookd.PublishRequest{Scope: a, Event: e.event("a.one", `{}`)},
		hookd.PublishRequest{Scope: b, Event: e.event("a.one", `{}`)},
		hookd.PublishRequest{Scope: a, Event: taken},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Deliveries != 1 || res[1].Deliveries != 1 || !res[2].Replayed {
		t.Errorf("a good batch: %+v", res)
	}
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 3 {
		t.Errorf("claimed %d jobs; want the first event's and the batch's two", len(jobs))
	}
}

// An operator event in a tenant's scope reaches only webhooks that name it,
// is stored only if one does, and never joins the catalog.
func testPublishSystemEvents(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil) // a catch-all
	sys := func(id string) hookd.PublishResult {
		ev := e.event(hookd.EventWebhookDisabled, `{"tenant_id":"x"}`)
		ev.ID = id
		return e.publish(hookd.PublishRequest{Scope: s, Event: ev, System: true})[0]
	}
	if r := sys("opev_1"); r.Err != nil || r.Deliveries != 0 {
		t.Fatalf("with no webhook naming it: %+v", r)
	}
	_, err := e.svc.Events.FindEventByID(e.ctx, s, "opev_1")
	wantCode(t, err, hookd.ENOTFOUND)
	if _, err := e.svc.EventTypes.FindEventType(e.ctx, s, hookd.EventWebhookDisabled); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("an operator event joined the catalog: %v", err)
	}
	w := e.webhook(s, []string{hookd.EventWebhookDisabled})
	if r := sys("opev_2"); r.Err != nil || r.Deliveries != 1 {
		t.Fatalf("with a webhook naming it: %+v", r)
	}
	if got := e.receivers(s, "opev_2"); len(got) != 1 || got[0] != w.ID {
		t.Errorf("opev_2 went to %v, want only %s", got, w.ID)
	}
}

// An event's channels and tags are kept, and select it in a list, paged
// newest first, within its scope; retention takes them with the event.
func testEventLabels(e *env) {
	t := e.t
	s, other := e.scope("acme"), e.scope("globex")
	labelled := func(typ string, channels, tags []string) *hookd.Event {
		ev := e.event(typ, `{}`)
		ev.Channels, ev.Tags = channels, tags
		return ev
	}
	chosen := labelled("a.two", nil, []string{"x"})
	chosen.ID = "evt_chosen"
	res := e.publish(
		hookd.PublishRequest{Scope: s, Event: labelled("a.one", []string{"c"}, []string{"x"})},
		hookd.PublishRequest{Scope: s, Event: labelled("a.one", nil, []string{"y", "x", "y"})},
		hookd.PublishRequest{Scope: s, Event: labelled("a.one", nil, nil)},
		hookd.PublishRequest{Scope: s, Event: chosen},
		hookd.PublishRequest{Scope: other, Event: labelled("a.one", []string{"c"}, []string{"x"})},
	)
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		ids[i] = r.Event.ID
	}
	for i, want := range []struct{ channels, tags []string }{{[]string{"c"}, []string{"x"}}, {nil, []string{"x", "y"}}, {nil, nil}} {
		got, err := e.svc.Events.FindEventByID(e.ctx, s, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.channels, got.Channels); diff != "" {
			t.Errorf("event %d channels (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(want.tags, got.Tags); diff != "" {
			t.Errorf("event %d tags (-want +got):\n%s", i, diff)
		}
	}
	again := labelled("a.two", nil, nil)
	again.ID = "evt_chosen"
	if r := e.publishOne(s, again); !r.Replayed || !slices.Equal(r.Event.Tags, []string{"x"}) {
		t.Errorf("replay of a tagged event = %+v, want the stored event with its tag", r)
	}

	list := func(s hookd.Scope, f hookd.EventFilter) []string {
		if f.Limit == 0 {
			f.Limit = 10
		}
		return e.eventIDs(s, f)
	}
	desc := func(ids ...string) []string {
		slices.Sort(ids)
		slices.Reverse(ids)
		return ids
	}
	x := desc(ids[0], ids[1], ids[3])
	for _, c := range []struct {
		name string
		s    hookd.Scope
		f    hookd.EventFilter
		want []string
	}{
		{"tag", s, hookd.EventFilter{Tag: "x"}, x},
		{"channel", s, hookd.EventFilter{Channel: "c"}, []string{ids[0]}},
		{"channel and tag", s, hookd.EventFilter{Channel: "c", Tag: "y"}, []string{}},
		{"two tags' worth", s, hookd.EventFilter{Tag: "y"}, []string{ids[1]}},
		{"tag and type", s, hookd.EventFilter{Tag: "x", Type: "a.two"}, []string{ids[3]}},
		{"tag, first page", s, hookd.EventFilter{Tag: "x", Page: hookd.Page{Limit: 2}}, x[:2]},
		{"tag, after the cursor", s, hookd.EventFilter{Tag: "x", Page: hookd.Page{Limit: 2, Cursor: x[1]}}, x[2:]},
		{"tag, offset", s, hookd.EventFilter{Tag: "x", Page: hookd.Page{Limit: 2, Offset: 1}}, x[1:]},
		{"a tag as a channel", s, hookd.EventFilter{Channel: "x"}, []string{}},
		{"another scope", other, hookd.EventFilter{Tag: "x"}, []string{ids[4]}},
		{"another mode", hookd.Scope{TenantID: s.TenantID, Mode: hookd.ModeTest}, hookd.EventFilter{Tag: "x"}, []string{}},
	} {
		if diff := cmp.Diff(c.want, list(c.s, c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}

	// Pruned, an event's labels go too: its id published again without
	// them is not listed by them.
	e.clock.Advance(31 * 24 * time.Hour)
	if _, err := e.store.Prune(e.ctx, e.clock.Now().Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := list(s, hookd.EventFilter{Tag: "x"}); len(got) != 0 {
		t.Errorf("after pruning, tag x lists %v", got)
	}
	plain := e.event("a.two", `{}`)
	plain.ID = "evt_chosen"
	e.publishOne(s, plain)
	if got := list(s, hookd.EventFilter{Tag: "x"}); len(got) != 0 {
		t.Errorf("an id published again without labels after pruning is listed by its old tag: %v", got)
	}
}

// eventIDs lists the ids of the events f selects in s.
func (e *env) eventIDs(s hookd.Scope, f hookd.EventFilter) []string {
	e.t.Helper()
	evs, err := e.svc.Events.FindEvents(e.ctx, s, f)
	if err != nil {
		e.t.Fatalf("FindEvents(%+v): %v", f, err)
	}
	out := []string{}
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}
