package storetest

import (
	"testing"

	"github.com/hookd/hookd"
)

var textTests = []test{
	{"Text/NotStorable", testTextNotStorable},
}

// testTextNotStorable: text that PostgreSQL cannot keep (a NUL character,
// invalid UTF-8) is refused by every store alike, naming the field, and
// nothing is written.
func testTextNotStorable(e *env) {
	s := e.scope("acme")
	e.types(s, "a.b")
	tests := []struct {
		name  string
		do    func() error
		field string
	}{
		{"webhook name", func() error {
			return e.svc.Webhooks.CreateWebhook(e.ctx, s, &hookd.Webhook{URL: "https://r.example/", Name: "a\x00b", Enabled: true})
		}, "name"},
		{"webhook metadata", func() error {
			return e.svc.Webhooks.CreateWebhook(e.ctx, s, &hookd.Webhook{URL: "https://r.example/", Metadata: map[string]string{"k": "\xff"}, Enabled: true})
		}, "metadata"},
		{"event type description", func() error {
			return e.svc.EventTypes.CreateEventType(e.ctx, s, &hookd.EventType{Name: "c.d", Description: "x\x00"})
		}, "description"},
		{"event type description update", func() error {
			_, err := e.svc.EventTypes.UpdateEventType(e.ctx, s, "a.b", "\xc3")
			return err
		}, "description"},
		{"event id", func() error {
			ev := e.event("a.b", `{}`)
			ev.ID = "evt\x00"
			return e.publish(hookd.PublishRequest{Scope: s, Event: ev})[0].Err
		}, "id"},
		{"idempotency key", func() error {
			ev := e.event("a.b", `{}`)
			ev.IdempotencyKey = "k\xff"
			return e.publish(hookd.PublishRequest{Scope: s, Event: ev})[0].Err
		}, "Idempotency-Key"},
	}
	for _, tt := range tests {
		e.t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(), hookd.EINVALID, tt.field, "UTF-8")
		})
	}
	if ws, n, err := e.svc.Webhooks.FindWebhooks(e.ctx, s, hookd.WebhookFilter{}); err != nil || n != 0 {
		e.t.Errorf("FindWebhooks = %d webhooks (%v), %v; want none", n, ws, err)
	}
	if evs, err := e.svc.Events.FindEvents(e.ctx, s, hookd.EventFilter{}); err != nil || len(evs) != 0 {
		e.t.Errorf("FindEvents = %d events, %v; want none", len(evs), err)
	}
}
