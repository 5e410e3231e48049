package storetest

import (
	"time"

	"github.com/hookd/hookd"
)

// ruleTests are rules that the two stores once each decided for
// themselves, and decided differently or wrongly; each is now checked once,
// through the services, on every store.
var ruleTests = []test{
	{"Rule/RetryKeepsManualWhilePending", testRetryKeepsManual},
	{"Rule/RetryKeepsSchedulePending", testRetryKeepsSchedule},
	{"Rule/ExpiredIsDerivedWhenRead", testExpiredWhenRead},
	{"Rule/UpdateExpiredWebhook", testUpdateExpiredWebhook},
	{"Rule/RecoverIsManualAndDueNow", testRecoverManualDueNow},
	{"Rule/DisableCancelsPending", testDisableCancelsPending},
	{"Rule/RecoverAfterDisable", testRecoverAfterDisable},
	{"Rule/RecoverAfterGone", testRecoverAfterGone},
	{"Rule/StaleAttemptsAreLogged", testStaleAttemptsLogged},
}

// A request that went out is in the attempt log even when its outcome
// arrives after the delivery was cancelled: the state stays as it is.
func testStaleAttemptsLogged(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "w.1")
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w.1", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	d, attempts := e.delivery(s, j.Delivery.ID)
	if d.Status != hookd.DeliveryCancelled || d.Attempts != 0 {
		t.Errorf("after a late outcome: status %s, %d attempts counted; want cancelled as it was", d.Status, d.Attempts)
	}
	if len(attempts) != 1 || attempts[0].StatusCode != 200 {
		t.Errorf("attempt log %+v; want the request that went out", attempts)
	}
	if got := e.findWebhook(s, w.ID); got.FailingSince != nil {
		t.Errorf("a late outcome changed the webhook's health: %v", got.FailingSince)
	}
}

// What a disable cancelled, recover brings back once the webhook is enabled.
func testRecoverAfterDisable(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.failedOne(s)
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, Start, nil)
	wantCode(t, err, hookd.ECONFLICT, "enable it")
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, Start, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != (hookd.Recovered{Failed: 1, Cancelled: 2}) {
		t.Errorf("recovered %+v; want the failed one and the 2 the disable cancelled", got)
	}
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 3 {
		t.Errorf("claimed %d jobs after recover, want 3", len(jobs))
	}
}

// What a 410 cancelled, recover brings back once the webhook is enabled.
func testRecoverAfterGone(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	jobs := e.claim("w", 1, time.Minute)
	e.complete(hookd.Outcome{DeliveryID: jobs[0].Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeFailed,
		Attempt: &hookd.Attempt{At: Start, StatusCode: 410, ErrorClass: hookd.ClassGone, Error: "HTTP 410"}, DisableWebhook: true})
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, Start, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != (hookd.Recovered{Failed: 1, Cancelled: 1}) {
		t.Errorf("recovered %+v; want the 410'd one and the one the 410 cancelled", got)
	}
}

// A delivery retried by hand and retried again before its attempt stays a
// one-off attempt: asking twice must not give it the whole schedule (the
// PostgreSQL store once did).
func testRetryKeepsManual(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	j := e.failedOne(s)
	for i := range 2 {
		d, err := e.svc.Deliveries.RetryDelivery(e.ctx, s, j.Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != hookd.DeliveryPending || !d.Manual {
			t.Errorf("retry %d: status %s manual %v; want pending and manual", i+1, d.Status, d.Manual)
		}
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || !jobs[0].ManualAttempt {
		t.Fatalf("claimed %d jobs after two retries; want the one delivery, as a manual attempt", len(jobs))
	}
}

// Retrying a delivery that is still on its schedule makes it due now and
// leaves it on the schedule.
func testRetryKeepsSchedule(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "w")
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeRetry,
		RetryAt: e.clock.Now().Add(time.Hour), Attempt: e.attempt(500, "")})
	d, err := e.svc.Deliveries.RetryDelivery(e.ctx, s, j.Delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Manual || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(e.clock.Now()) {
		t.Errorf("retry of a scheduled delivery: manual %v, due %v; want scheduled, due now", d.Manual, d.NextAttemptAt)
	}
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 1 || jobs[0].ManualAttempt {
		t.Errorf("claimed %d jobs; want the one delivery, not manual", len(jobs))
	}
}

// A webhook reads expired from the moment its expires_at passes, in a get
// and in a list (its status filter included): status is derived when read,
// not stored when written (both stores once kept "active").
func testExpiredWhenRead(e *env) {
	t := e.t
	s := e.scope("acme")
	at := e.clock.Now().Add(time.Hour)
	w := e.webhook(s, nil, func(w *hookd.Webhook) { w.ExpiresAt = &at })
	if w.Status != hookd.StatusActive {
		t.Errorf("before expiry: status %s, want active", w.Status)
	}
	e.clock.Advance(2 * time.Hour)
	got, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hookd.StatusExpired {
		t.Errorf("after expiry: status %s, want expired", got.Status)
	}
	ws, n, err := e.svc.Webhooks.FindWebhooks(e.ctx, s, hookd.WebhookFilter{Status: hookd.StatusExpired})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(ws) != 1 || ws[0].ID != w.ID || ws[0].Status != hookd.StatusExpired {
		t.Errorf("list status=expired: %d in all, %v; want the expired webhook", n, ws)
	}
	if _, n, _ := e.svc.Webhooks.FindWebhooks(e.ctx, s, hookd.WebhookFilter{Status: hookd.StatusActive}); n != 0 {
		t.Errorf("list status=active: %d; want none", n)
	}
	// Publishing skips it.
	if r := e.publishOne(s, e.event("a.one", `{}`)); r.Deliveries != 0 {
		t.Errorf("an event to an expired webhook made %d deliveries", r.Deliveries)
	}
}

// An expired webhook can still be changed: an update that does not touch
// expires_at is not refused for it (both stores once refused every PATCH),
// and a new expiry in the future brings the webhook back.
func testUpdateExpiredWebhook(e *env) {
	t := e.t
	s := e.scope("acme")
	at := e.clock.Now().Add(time.Hour)
	w := e.webhook(s, nil, func(w *hookd.Webhook) { w.ExpiresAt = &at })
	e.clock.Advance(2 * time.Hour)

	got, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Name: ptr("renamed")})
	if err != nil {
		t.Fatalf("renaming an expired webhook: %v", err)
	}
	if got.Name != "renamed" || got.Status != hookd.StatusExpired {
		t.Errorf("renamed: name %q status %s; want renamed, still expired", got.Name, got.Status)
	}
	past := e.clock.Now().Add(-time.Minute)
	_, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{ExpiresAt: ptr(&past)})
	wantCode(t, err, hookd.EINVALID, "expires_at")

	later := e.clock.Now().Add(time.Hour)
	got, err = e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{ExpiresAt: ptr(&later)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hookd.StatusActive {
		t.Errorf("with a new expiry: status %s, want active", got.Status)
	}
	if r := e.publishOne(s, e.event("a.one", `{}`)); r.Deliveries != 1 {
		t.Errorf("an event after the new expiry made %d deliveries, want 1", r.Deliveries)
	}
}

// Recovered deliveries are due at once and are one-off attempts.
func testRecoverManualDueNow(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.failedOne(s)
	e.clock.Advance(time.Minute)
	n, err := e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, Start, nil)
	if err != nil || n.Total() != 1 {
		t.Fatalf("RecoverWebhook = %d, %v; want 1", n, err)
	}
	d, _ := e.delivery(s, j.Delivery.ID)
	if d.Status != hookd.DeliveryPending || !d.Manual || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(e.clock.Now()) {
		t.Errorf("recovered: %+v; want pending, manual, due now", d)
	}
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 1 || !jobs[0].ManualAttempt {
		t.Errorf("claimed %d jobs; want the recovered one, as a manual attempt", len(jobs))
	}
	other := e.scope("other")
	_, err = e.svc.Deliveries.RecoverWebhook(e.ctx, other, w.ID, Start, nil)
	wantCode(t, err, hookd.ENOTFOUND)
}

// Disabling a webhook cancels its pending deliveries; enabling it again
// does not bring them back (recover does).
func testDisableCancelsPending(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	ds := e.deliveries(s, hookd.DeliveryFilter{WebhookID: w.ID})
	if len(ds) != 1 || ds[0].Status != hookd.DeliveryCancelled || ds[0].LastError != "webhook disabled" {
		t.Fatalf("after disabling: %+v; want one cancelled delivery", ds)
	}
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 0 {
		t.Errorf("claimed %d jobs after enabling again; want none", len(jobs))
	}
}
