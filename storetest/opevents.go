package storetest

import (
	"encoding/json"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var opEventTests = []test{
	{"OperatorEvents/Outbox", testOperatorEventsOutbox},
	{"OperatorEvents/Outcomes", testOperatorEventsOutcomes},
}

// outboxTypes takes the outbox and returns its entries' types, emptying it.
func (e *env) outboxTypes() []string {
	e.t.Helper()
	entries, err := e.store.TakeOutbox(e.ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	types := []string{}
	var seqs []int64
	for _, x := range entries {
		types = append(types, x.Type)
		seqs = append(seqs, x.Seq)
		var d map[string]any
		if err := json.Unmarshal(x.Data, &d); err != nil || d["tenant_id"] == nil {
			e.t.Errorf("outbox %s data %s: %v", x.Type, x.Data, err)
		}
	}
	if err := e.store.DeleteOutbox(e.ctx, seqs); err != nil {
		e.t.Fatal(err)
	}
	return types
}

// Every change of a webhook puts its operator events in the outbox, in the
// transaction that makes it; the operator's own endpoints announce nothing.
func testOperatorEventsOutbox(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	for _, step := range []struct {
		do   func() error
		want []string
	}{
		{func() error { return nil }, []string{hookd.EventWebhookCreated}},
		{func() error {
			_, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Name: ptr("x")})
			return err
		}, []string{hookd.EventWebhookUpdated}},
		{func() error {
			_, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(false)})
			return err
		}, []string{hookd.EventWebhookUpdated, hookd.EventWebhookDisabled}},
		{func() error {
			_, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{Enabled: ptr(true)})
			return err
		}, []string{hookd.EventWebhookUpdated, hookd.EventWebhookEnabled}},
		{func() error {
			_, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, w.ID, hookd.WebhookUpdate{URL: ptr("not a url")})
			return err
		}, []string{}},
		{func() error { return e.svc.Webhooks.DeleteWebhook(e.ctx, s, w.ID) }, []string{hookd.EventWebhookDeleted}},
	} {
		err := step.do()
		if got := e.outboxTypes(); !cmp.Equal(got, step.want) {
			t.Errorf("outbox %v (error %v); want %v", got, err, step.want)
		}
	}
	if err := e.svc.Tenants.EnsureOperatorTenant(e.ctx); err != nil {
		t.Fatal(err)
	}
	op := hookd.Scope{TenantID: hookd.OperatorTenantID, Mode: hookd.ModeLive}
	e.webhook(op, []string{hookd.EventWebhookDisabled})
	if got := e.outboxTypes(); len(got) != 0 {
		t.Errorf("the operator's own endpoint announced %v", got)
	}
	wantCode(t, e.svc.Tenants.DeleteTenant(e.ctx, hookd.OperatorTenantID), hookd.EFORBIDDEN)
}

// A delivery failed for good announces delivery.exhausted; a 410 also
// webhook.disabled; the auto-disable webhook.disabled.
func testOperatorEventsOutcomes(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.outboxTypes()
	out := func(kind hookd.OutcomeKind, status int, disable bool) hookd.Outcome {
		j := e.one(s, "w")
		return hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: kind, DisableWebhook: disable, RetryAt: e.clock.Now().Add(24 * time.Hour),
			Attempt: e.attempt(status, ""), TenantID: s.TenantID, Mode: s.Mode, EventID: j.Event.ID, EventType: j.Event.Type}
	}
	e.complete(out(hookd.OutcomeRetry, 500, false))
	if got := e.outboxTypes(); len(got) != 0 {
		t.Errorf("a retry announced %v", got)
	}
	e.clock.Advance(time.Hour)
	e.complete(out(hookd.OutcomeFailed, 500, false))
	if got := e.outboxTypes(); !cmp.Equal(got, []string{hookd.EventDeliveryExhausted}) {
		t.Errorf("a final failure announced %v", got)
	}
	e.complete(out(hookd.OutcomeFailed, 410, true))
	if got := e.outboxTypes(); !cmp.Equal(got, []string{hookd.EventWebhookDisabled, hookd.EventDeliveryExhausted}) {
		t.Errorf("a 410 announced %v", got)
	}
	w2 := e.webhook(s, nil)
	e.outboxTypes()
	j := e.one(s, "w")
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w2.ID, Owner: "w", Kind: hookd.OutcomeRetry, RetryAt: e.clock.Now().Add(time.Hour),
		Attempt: e.attempt(500, ""), TenantID: s.TenantID, Mode: s.Mode})
	e.clock.Advance(time.Hour)
	if _, err := e.store.AutoDisableWebhooks(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := e.outboxTypes(); !cmp.Equal(got, []string{hookd.EventWebhookDisabled}) {
		t.Errorf("the auto-disable announced %v", got)
	}
}
