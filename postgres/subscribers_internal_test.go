package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
)

// A publish on kept subscribers sees every change to the scope's webhooks
// that another instance committed before it: each change is followed by a
// publish on the second instance that reads the webhooks again (the check
// failed) and then by one that goes in one round trip on what that read.
// An expiry needs no change at all: the kept subscriber stops being
// deliverable on the clock.
func TestKeptSubscribersFollowAnotherInstancesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	a := openDB(t, url, Options{MaxConns: 4})
	b := openDB(t, url, Options{MaxConns: 4, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	svc, s := newTenant(t, a)
	create := func() *hookd.Webhook { return newWebhook(t, svc, s) }
	update := func(id string, u hookd.WebhookUpdate) {
		t.Helper()
		if _, err := svc.Webhooks.UpdateWebhook(ctx, s, id, u); err != nil {
			t.Fatal(err)
		}
	}
	// publish publishes one event through b and checks its deliveries and
	// whether it went in one round trip.
	publish := func(step string, want int, onePass bool) {
		t.Helper()
		before := b.onePass.Load()
		res, err := b.PublishEvents(ctx, []hookd.PublishRequest{{Scope: s, Event: &hookd.Event{
			Type: "order.created", Data: json.RawMessage(`{"n":1}`)}}})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if res[0].Err != nil {
			t.Fatalf("%s: %v", step, res[0].Err)
		}
		if res[0].Deliveries != want {
			t.Errorf("%s: %d deliveries, want %d", step, res[0].Deliveries, want)
		}
		if got := b.onePass.Load() - before; got != map[bool]int64{false: 0, true: 1}[onePass] {
			t.Errorf("%s: in one round trip = %v, want %v", step, got == 1, onePass)
		}
	}

	w1 := create()
	publish("first publish", 1, false)
	publish("kept", 1, true)

	w2 := create()
	publish("a webhook created", 2, false)
	publish("kept after the creation", 2, true)

	filter := json.RawMessage(`{"data.n": 2}`)
	update(w2.ID, hookd.WebhookUpdate{Filter: &filter})
	publish("a filter that does not match", 1, false)
	publish("kept after the filter", 1, true)

	if err := svc.EventTypes.CreateEventType(ctx, s, &hookd.EventType{Name: "order.shipped"}); err != nil {
		t.Fatal(err)
	}
	types := []string{"order.shipped"}
	update(w1.ID, hookd.WebhookUpdate{EventTypes: &types})
	publish("other event types", 0, false)
	publish("kept after the event types", 0, true)

	none := []string{}
	update(w1.ID, hookd.WebhookUpdate{EventTypes: &none})
	off := false
	update(w1.ID, hookd.WebhookUpdate{Enabled: &off})
	publish("all event types, but disabled", 0, false)
	on := true
	update(w1.ID, hookd.WebhookUpdate{Enabled: &on})
	publish("enabled again", 1, false)

	if err := svc.Webhooks.DeleteWebhook(ctx, s, w2.ID); err != nil {
		t.Fatal(err)
	}
	publish("the filtered one deleted", 1, false)

	expires := new(time.Time)
	*expires = time.Unix(0, clock.Load()).Add(time.Hour)
	update(w1.ID, hookd.WebhookUpdate{ExpiresAt: &expires})
	publish("expiring in an hour", 1, false)
	publish("kept, before the expiry", 1, true)
	clock.Add(int64(2 * time.Hour))
	publish("kept, after the expiry", 0, true)
}

// A replayed event id or idempotency key is found by the try that reads
// everything, after the one-pass try's insert skipped it: the replay gets
// the first publish's event and count, and nothing is written twice.
func TestKeptSubscribersReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, pgtest.NewDatabase(t), Options{MaxConns: 4})
	svc, s := newTenant(t, db)
	newWebhook(t, svc, s)
	publish := func(e hookd.Event) hookd.PublishResult {
		t.Helper()
		res, err := db.PublishEvents(ctx, []hookd.PublishRequest{{Scope: s, Event: &e}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	publish(hookd.Event{Type: "order.created", Data: json.RawMessage(`{}`)}) // keeps the subscribers
	for _, e := range []hookd.Event{
		{ID: "evt_1", Type: "order.created", Data: json.RawMessage(`{}`)},
		{Type: "order.created", Data: json.RawMessage(`{}`), IdempotencyKey: "key-1"},
	} {
		first := publish(e)
		before := db.onePass.Load()
		again := publish(e)
		if again.Err != nil || !again.Replayed || again.Event.ID != first.Event.ID || again.Deliveries != 1 {
			t.Errorf("replay of %+v: %+v (err %v), want the first publish's event %s replayed with 1 delivery", e, again, again.Err, first.Event.ID)
		}
		if db.onePass.Load() != before {
			t.Errorf("replay of %+v committed in one pass", e)
		}
	}
	var events, deliveries int
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries)`).Scan(&events, &deliveries); err != nil {
		t.Fatal(err)
	}
	if events != 3 || deliveries != 3 {
		t.Errorf("%d events and %d deliveries stored, want 3 and 3", events, deliveries)
	}
}

// newTenant makes a tenant through the services over db; its live scope.
func newTenant(t *testing.T, db *DB) (hookd.Services, hookd.Scope) {
	t.Helper()
	svc := hookd.NewServices(db, hookd.ServiceOptions{Policy: hookd.NetPolicy{AllowPrivate: true}})
	ten, err := svc.Tenants.CreateTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return svc, hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
}

// newWebhook makes an enabled webhook of s subscribed to every event type.
func newWebhook(t *testing.T, svc hookd.Services, s hookd.Scope) *hookd.Webhook {
	t.Helper()
	w := &hookd.Webhook{URL: "https://receiver.example/hook", Enabled: true, TLSVerify: true}
	if err := svc.Webhooks.CreateWebhook(context.Background(), s, w); err != nil {
		t.Fatal(err)
	}
	return w
}

// The cache keeps at most maxKeptScopes scopes and maxKeptSubscribers
// subscribers, and never a scope larger than that.
func TestSubscriberCacheBounds(t *testing.T) {
	t.Parallel()
	var c subscriberCache
	scope := func(i int) hookd.Scope { return hookd.Scope{TenantID: fmt.Sprintf("ten_%d", i), Mode: hookd.ModeLive} }
	subs := func(n int) []hookd.Subscriber { return make([]hookd.Subscriber, n) }
	check := func(when string) {
		t.Helper()
		total := 0
		for _, k := range c.scopes {
			total += len(k.subs)
		}
		if len(c.scopes) > maxKeptScopes || total > maxKeptSubscribers || total != c.subs {
			t.Fatalf("%s: %d scopes, %d subscribers (counted %d); bounds %d and %d",
				when, len(c.scopes), total, c.subs, maxKeptScopes, maxKeptSubscribers)
		}
	}
	for i := range maxKeptScopes + 10 {
		c.put(scope(i), []byte{1}, subs(1))
	}
	check("after many small scopes")
	if len(c.scopes) != maxKeptScopes {
		t.Errorf("%d scopes kept, want %d", len(c.scopes), maxKeptScopes)
	}
	for i := range 20 {
		c.put(scope(100_000+i), []byte{1}, subs(maxKeptSubscribers/10))
	}
	check("after large scopes")
	c.put(scope(1), []byte{2}, subs(maxKeptSubscribers+1))
	check("after one too large")
	if _, _, ok := c.get([]hookd.Scope{scope(1)}, time.Now()); ok {
		t.Error("kept a scope with more subscribers than the bound")
	}
	c.put(scope(2), []byte{3}, subs(3))
	c.forget([]hookd.Scope{scope(2)})
	check("after forget")
}
