package storetest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// primitiveTests check the store's own verbs, called directly: what each
// promises to do atomically, and that it decides nothing (reads return rows
// as stored).
var primitiveTests = []test{
	{"Store/InsertTenantUnique", testInsertTenantUnique},
	{"Store/InsertAPIKeyNeedsTenant", testInsertAPIKeyNeedsTenant},
	{"Store/UpdateWebhookAtomic", testUpdateWebhookAtomic},
	{"Store/UpdateWebhookRefused", testUpdateWebhookRefused},
	{"Store/DeleteWebhookCancels", testDeleteWebhookCancels},
	{"Store/ReadsAsStored", testReadsAsStored},
	{"Store/RequeueDelivery", testRequeueDelivery},
	{"Store/RequeueDeliveries", testRequeueDeliveries},
	{"Store/KnownEventTypes", testKnownEventTypes},
	{"Store/InsertWebhookLimit", testInsertWebhookLimit},
}

// Concurrent inserts under a limit store exactly the limit, per scope.
func testInsertWebhookLimit(e *env) {
	t := e.t
	s := e.scope("acme")
	const limit, tries = 3, 8
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		stored, refused int
	)
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &hookd.Webhook{URL: "https://r.example/", Enabled: true}
			w.Prepare(s, e.clock.Now())
			err := e.store.InsertWebhook(e.ctx, w, ptr(limit))
			mu.Lock()
			defer mu.Unlock()
			switch hookd.ErrorCode(err) {
			case "":
				stored++
			case hookd.EFORBIDDEN:
				refused++
			default:
				t.Errorf("InsertWebhook: %v", err)
			}
		}()
	}
	wg.Wait()
	if stored != limit || refused != tries-limit {
		t.Errorf("%d stored, %d refused; want %d and %d", stored, refused, limit, tries-limit)
	}
	ws, err := e.store.ListWebhooks(e.ctx, s, hookd.WebhookQuery{})
	if err != nil || len(ws) != limit {
		t.Errorf("ListWebhooks: %d, %v; want %d", len(ws), err, limit)
	}
	test := hookd.Scope{TenantID: s.TenantID, Mode: hookd.ModeTest}
	w := &hookd.Webhook{URL: "https://r.example/", Enabled: true}
	w.Prepare(test, e.clock.Now())
	if err := e.store.InsertWebhook(e.ctx, w, ptr(limit)); err != nil {
		t.Errorf("the limit counted another mode's webhooks: %v", err)
	}
}

func testInsertTenantUnique(e *env) {
	t := e.t
	now := e.clock.Now()
	if err := e.store.InsertTenant(e.ctx, &hookd.Tenant{ID: "ten_a", Name: "acme", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	err := e.store.InsertTenant(e.ctx, &hookd.Tenant{ID: "ten_b", Name: "acme", CreatedAt: now})
	wantCode(t, err, hookd.ECONFLICT)
	if _, err := e.store.FindTenantByID(e.ctx, "ten_b"); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("the refused tenant was stored: %v", err)
	}
}

func testInsertAPIKeyNeedsTenant(e *env) {
	t := e.t
	k, _ := hookd.NewAPIKey("ten_missing", hookd.ModeLive, e.clock.Now())
	wantCode(t, e.store.InsertAPIKey(e.ctx, k), hookd.ENOTFOUND)
	if _, err := e.store.FindAPIKeyByHash(e.ctx, k.Hash); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("a key of a missing tenant was stored: %v", err)
	}
	keys, err := e.store.ListAPIKeys(e.ctx, "")
	if err != nil || len(keys) != 0 {
		t.Errorf("ListAPIKeys = %v, %v; want none", keys, err)
	}
}

// Concurrent read-change-writes of one webhook each see the previous one's
// result: none is lost.
func testUpdateWebhookAtomic(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.store.UpdateWebhook(e.ctx, s, w.ID, func(w *hookd.Webhook) (hookd.WebhookWrite, error) {
				w.Metadata[fmt.Sprintf("k%d", i)] = "v"
				return hookd.WebhookWrite{}, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.store.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Metadata) != writers {
		t.Errorf("after %d concurrent updates the webhook has %d metadata keys: %v", writers, len(got.Metadata), got.Metadata)
	}
}

// A change that returns an error writes nothing, and cancels nothing.
func testUpdateWebhookRefused(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	refusal := errors.New("refused")
	_, err := e.store.UpdateWebhook(e.ctx, s, w.ID, func(w *hookd.Webhook) (hookd.WebhookWrite, error) {
		w.Name = "changed"
		return hookd.WebhookWrite{CancelPending: "no"}, refusal
	})
	if !errors.Is(err, refusal) {
		t.Errorf("UpdateWebhook = %v; want the change's error", err)
	}
	got, _ := e.store.FindWebhookByID(e.ctx, s, w.ID)
	if got.Name != w.Name {
		t.Errorf("a refused change was written: name %q", got.Name)
	}
	if ds := e.deliveries(s, hookd.DeliveryFilter{Status: hookd.DeliveryPending}); len(ds) != 1 {
		t.Errorf("a refused change cancelled deliveries: %d pending, want 1", len(ds))
	}
	_, err = e.store.UpdateWebhook(e.ctx, s, "wh_missing", func(*hookd.Webhook) (hookd.WebhookWrite, error) {
		t.Error("change called for a missing webhook")
		return hookd.WebhookWrite{}, nil
	})
	wantCode(t, err, hookd.ENOTFOUND)
}

func testDeleteWebhookCancels(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	if err := e.store.DeleteWebhook(e.ctx, s, w.ID, "gone for a test"); err != nil {
		t.Fatal(err)
	}
	ds := e.deliveries(s, hookd.DeliveryFilter{})
	if len(ds) != 1 || ds[0].Status != hookd.DeliveryCancelled || ds[0].LastError != "gone for a test" {
		t.Errorf("after delete: %+v; want one delivery cancelled with the reason given", ds)
	}
	wantCode(t, e.store.DeleteWebhook(e.ctx, s, w.ID, "again"), hookd.ENOTFOUND)
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 0 {
		t.Errorf("claimed %d jobs of a deleted webhook", len(jobs))
	}
}

// The store keeps what it is given: a webhook past its expiry reads as
// stored; the status at a time is the services' to derive.
func testReadsAsStored(e *env) {
	t := e.t
	s := e.scope("acme")
	past := e.clock.Now().Add(-time.Hour)
	w := &hookd.Webhook{URL: "https://r.example/", Enabled: true, ExpiresAt: &past}
	w.Prepare(s, e.clock.Now())
	if err := e.store.InsertWebhook(e.ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hookd.StatusActive || got.Number == 0 || got.Number != w.Number {
		t.Errorf("stored webhook: status %s, number %d (assigned %d); want active as written", got.Status, got.Number, w.Number)
	}
	if _, err := e.store.FindWebhookByID(e.ctx, hookd.Scope{TenantID: s.TenantID, Mode: hookd.ModeTest}, w.ID); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("another mode found the webhook: %v", err)
	}
}

func testRequeueDelivery(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "old-owner") // leased by old-owner
	refusal := errors.New("refused")
	_, err := e.store.RequeueDelivery(e.ctx, s, j.Delivery.ID, e.clock.Now(), func(d *hookd.Delivery) (bool, error) {
		return true, refusal
	})
	if !errors.Is(err, refusal) {
		t.Errorf("RequeueDelivery = %v; want decide's error", err)
	}
	if d, _ := e.delivery(s, j.Delivery.ID); d.Manual {
		t.Error("a refused requeue changed the delivery")
	}

	due := e.clock.Now().Add(time.Minute)
	var seen *hookd.Delivery
	d, err := e.store.RequeueDelivery(e.ctx, s, j.Delivery.ID, due, func(d *hookd.Delivery) (bool, error) {
		seen = d
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == nil || seen.ID != j.Delivery.ID || seen.Status != hookd.DeliveryPending {
		t.Errorf("decide saw %+v; want the pending delivery", seen)
	}
	if !d.Manual || d.Status != hookd.DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(due) {
		t.Errorf("requeued: %+v; want pending, manual, due %v", d, due)
	}
	// The old lease is over: its outcome is not written.
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "old-owner", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	if d, _ := e.delivery(s, j.Delivery.ID); d.Status != hookd.DeliveryPending {
		t.Errorf("an outcome of the lease that requeue ended was written: %s", d.Status)
	}
	e.clock.Advance(time.Minute)
	if jobs := e.claim("new-owner", 10, time.Minute); len(jobs) != 1 || !jobs[0].ManualAttempt {
		t.Errorf("claimed %d jobs when due; want the requeued one, manual", len(jobs))
	}
	_, err = e.store.RequeueDelivery(e.ctx, s, "dlv_missing", due, func(*hookd.Delivery) (bool, error) { return true, nil })
	wantCode(t, err, hookd.ENOTFOUND)
}

func testRequeueDeliveries(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	// One succeeded and one failed delivery, an hour apart, and one pending.
	for _, kind := range []hookd.OutcomeKind{hookd.OutcomeSucceeded, hookd.OutcomeFailed} {
		j := e.one(s, "w")
		e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: kind, Attempt: e.attempt(500, "")})
		e.clock.Advance(time.Hour)
	}
	e.publishOne(s, e.event("a.one", `{}`))
	r := hookd.Requeue{WebhookID: w.ID, Statuses: []hookd.DeliveryStatus{hookd.DeliveryFailed, hookd.DeliverySucceeded},
		CreatedSince: Start, CreatedUntil: Start.Add(time.Hour), DueAt: e.clock.Now(), Manual: true}
	n, err := e.store.RequeueDeliveries(e.ctx, s, r)
	if err != nil || n != 1 {
		t.Errorf("RequeueDeliveries of the first hour = %d, %v; want the succeeded one", n, err)
	}
	r.CreatedUntil = e.clock.Now().Add(time.Second)
	r.Statuses = []hookd.DeliveryStatus{hookd.DeliveryFailed}
	if n, err := e.store.RequeueDeliveries(e.ctx, s, r); err != nil || n != 1 {
		t.Errorf("RequeueDeliveries of failed ones = %d, %v; want 1", n, err)
	}
	if n, err := e.store.RequeueDeliveries(e.ctx, e.scope("other"), r); err != nil || n != 0 {
		t.Errorf("another scope requeued %d, %v", n, err)
	}
	jobs := e.claim("w", 10, time.Minute)
	manual := 0
	for _, j := range jobs {
		if j.ManualAttempt {
			manual++
		}
	}
	if len(jobs) != 3 || manual != 2 {
		t.Errorf("claimed %d jobs, %d manual; want 3 (two requeued, manual, and the pending one)", len(jobs), manual)
	}
}

func testKnownEventTypes(e *env) {
	t := e.t
	s := e.scope("acme")
	e.types(s, "a.one", "b.two")
	have, err := e.store.KnownEventTypes(e.ctx, s, []string{"a.one", "c.three"})
	if err != nil {
		t.Fatal(err)
	}
	if !have["a.one"] || have["c.three"] || have["b.two"] || len(have) != 1 {
		t.Errorf("KnownEventTypes = %v; want only a.one", have)
	}
	other, err := e.store.KnownEventTypes(e.ctx, e.scope("other"), []string{"a.one"})
	if err != nil || len(other) != 0 {
		t.Errorf("another scope knows %v, %v", other, err)
	}
}
