package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// UpgradeFixture is what the kept fixtures of an earlier release hold
// (sqlite/testdata and postgres/testdata, upgrade-<commit>.sql: a database
// that the release made, dumped as SQL). Both were made by the same steps:
// on a fresh database, `hookd serve` created the tenant "default"; its live
// key created the event type CallBroadcast.started and three webhooks — "ok"
// (CallBroadcast.*, metadata, a header, rate_limit 50, answered 204), "down"
// (a filter and fields, a refused port), "expiring" (its expires_at now
// past) — and published three CallBroadcast.started events with the
// Idempotency-Keys k1…k3; its test key made one webhook and one event.
type UpgradeFixture struct {
	LiveKey string // the live key the fixture's release printed
	TestKey string
}

// CheckUpgrade checks that st, opened (and so migrated) on a database loaded
// from the fixture f, still serves everything the earlier release stored.
func CheckUpgrade(t *testing.T, st Store, f UpgradeFixture) {
	t.Helper()
	ctx := context.Background()
	svc := hookd.NewServices(st, hookd.ServiceOptions{})
	live, err := svc.Tenants.Authenticate(ctx, f.LiveKey)
	if err != nil {
		t.Fatalf("the fixture's live key: %v", err)
	}
	if test, err := svc.Tenants.Authenticate(ctx, f.TestKey); err != nil || test.TenantID != live.TenantID || test.Mode != hookd.ModeTest {
		t.Errorf("the fixture's test key: %+v, %v", test, err)
	}
	ws, n, err := svc.Webhooks.FindWebhooks(ctx, live, hookd.WebhookFilter{})
	if err != nil || n != 3 {
		t.Fatalf("webhooks: %d, %v; want 3", n, err)
	}
	byName := map[string]*hookd.Webhook{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	ok, down, exp := byName["ok"], byName["down"], byName["expiring"]
	if ok == nil || down == nil || exp == nil {
		t.Fatalf("webhooks by name: %v", byName)
	}
	if ok.Status != hookd.StatusActive || ok.RateLimit == nil || *ok.RateLimit != 50 || ok.Metadata["team"] != "a" ||
		ok.Headers["X-A"] != "1" || len(ok.EventTypes) != 1 || ok.Secret == "" {
		t.Errorf("webhook ok: %+v", ok)
	}
	if len(down.Filter) == 0 || len(down.Fields) != 1 {
		t.Errorf("webhook down lost its filter or fields: %+v", down)
	}
	if exp.Status != hookd.StatusExpired {
		t.Errorf("webhook expiring: status %s, want expired", exp.Status)
	}
	ds, err := svc.Deliveries.FindDeliveries(ctx, live, hookd.DeliveryFilter{Page: hookd.Page{Limit: 100}})
	if err != nil || len(ds) != 9 {
		t.Fatalf("deliveries: %d, %v; want 9", len(ds), err)
	}
	d, attempts, err := svc.Deliveries.FindDeliveryByID(ctx, live, ds[0].ID)
	if err != nil || d.Attempts == 0 || len(attempts) == 0 {
		t.Errorf("delivery %s: %+v, %d attempts, %v", ds[0].ID, d, len(attempts), err)
	}
	evs, err := svc.Events.FindEvents(ctx, live, hookd.EventFilter{})
	if err != nil || len(evs) != 3 {
		t.Errorf("events: %d, %v; want 3", len(evs), err)
	}
	// A replay of a kept Idempotency-Key answers the kept event.
	replay, err := st.PublishEvents(ctx, []hookd.PublishRequest{{Scope: live, Event: &hookd.Event{
		Type: "CallBroadcast.started", Data: []byte(`{"n":1}`), IdempotencyKey: "k1", CreatedAt: time.Now()}}})
	if err != nil || replay[0].Err != nil || !replay[0].Replayed {
		t.Errorf("replay of k1: %+v, %v", replay, err)
	}
	// The failing delivery is still on its schedule: the queue takes it.
	jobs, err := st.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "upgrade", Limit: 100, Lease: time.Minute, Now: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	claimed := 0
	for _, j := range jobs {
		if j.Webhook != nil && j.Webhook.ID == down.ID {
			claimed++
		}
	}
	if claimed == 0 {
		t.Errorf("claimed %d jobs, none of webhook down; want its pending deliveries", len(jobs))
	}
	// And the database takes new writes.
	if _, err := svc.Webhooks.UpdateWebhook(ctx, live, exp.ID, hookd.WebhookUpdate{ExpiresAt: new(*time.Time)}); err != nil {
		t.Errorf("clearing the expiry of webhook expiring: %v", err)
	}
	if _, err := svc.Tenants.CreateTenant(ctx, "after-upgrade"); err != nil {
		t.Errorf("a new tenant after the upgrade: %v", err)
	}
}
