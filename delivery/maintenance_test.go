package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// TestAutoDisablePublishesWebhookDisabled: the auto-disable puts a
// webhook.disabled operator event in the outbox, and the relay delivers it to
// the tenant's webhook that names the type.
func TestAutoDisablePublishesWebhookDisabled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.eventType("order.created")
	failing := newReceiver(t, func(http.ResponseWriter, *http.Request, int) int { return http.StatusInternalServerError })
	ops := newReceiver(t, nil)
	bad := h.webhook(failing.URL, func(w *hookd.Webhook) { w.EventTypes = []string{"order.created"} })
	watcher := h.webhook(ops.URL, func(w *hookd.Webhook) { w.EventTypes = []string{hookd.EventWebhookDisabled} })
	h.publish(1, "order.created")

	d := startDispatcher(t, h.db, Config{RetryPolicy: hookd.RetryPolicy{Delays: []time.Duration{time.Hour}}})
	relay := NewRelay(h.db, services(h.db).Tenants, d.Notify, RelayConfig{Interval: 10 * time.Millisecond})
	if err := relay.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Stop)
	var since time.Time
	waitFor(t, "the webhook to start failing", func() bool {
		w, err := services(h.db).Webhooks.FindWebhookByID(context.Background(), h.scope, bad.ID)
		if err != nil {
			t.Fatal(err)
		}
		if w.FailingSince != nil {
			since = *w.FailingSince
		}
		return w.FailingSince != nil
	})

	m, err := NewMaintenance(h.db, MaintenanceConfig{AutoDisableAfter: time.Nanosecond,
		Now: func() time.Time { return since.Add(time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := services(h.db).Webhooks.FindWebhookByID(context.Background(), h.scope, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hookd.StatusAutoDisabled {
		t.Errorf("failing webhook status = %q, want auto_disabled", got.Status)
	}
	waitFor(t, "the watcher to hear of it", func() bool { return h.countStatus(watcher.ID, hookd.DeliverySucceeded) == 1 })
	ops.mu.Lock()
	body := ops.bodies[0]
	ops.mu.Unlock()
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Webhook struct {
				ID  string `json:"id"`
				URL string `json:"url"`
			} `json:"webhook"`
			Reason string `json:"reason"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if msg.Type != hookd.EventWebhookDisabled || msg.Data.Webhook.ID != bad.ID || msg.Data.Webhook.URL != failing.URL ||
		!strings.HasSuffix(msg.Data.Reason, "since "+since.UTC().Format(time.RFC3339)) {
		t.Errorf("announcement = %+v, want webhook.disabled for %s at %s failing since %s", msg, bad.ID, failing.URL, since)
	}
	if req, _ := ops.count(); req != 1 {
		t.Errorf("watcher received %d requests, want 1", req)
	}
}

func TestMaintenanceRefreshesQueueGauges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.webhook("https://example.com/a", nil)
	h.webhook("https://example.com/b", nil)
	h.publish(3, "order.created")
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMaintenance(h.db, MaintenanceConfig{Metrics: metrics, Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{
		"pending": gathered(t, reg, "hookd_queue_pending"),
		"due":     gathered(t, reg, "hookd_queue_due"),
	}
	if diff := cmp.Diff(map[string]float64{"pending": 6, "due": 6}, got); diff != "" {
		t.Errorf("gauges (-want +got):\n%s", diff)
	}
	if age := gathered(t, reg, "hookd_queue_oldest_due_age_seconds"); age < 59 {
		t.Errorf("oldest due age = %vs, want about 60s", age)
	}
}

func TestMaintenanceLifecycleAndConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m, err := NewMaintenance(h.db, MaintenanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m.Stop() // before Start
	m2, err := NewMaintenance(h.db, MaintenanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m2.Stop()
	m2.Stop()
	_, err = NewMaintenance(h.db, MaintenanceConfig{Retention: -time.Hour})
	if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(hookd.ErrorMessage(err), "retention") {
		t.Errorf("negative retention: err = %v, want invalid naming retention", err)
	}
}
