package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

// TestQueueHistorySamples: two instances' maintenance loops write one row
// an interval, the first one's queue reading and both one's attempts; the
// attempts counted after the last sample are written when the loop stops,
// and samples older than the retention are pruned.
func TestQueueHistorySamples(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.webhook("https://a.example/hook", nil)
	h.publish(3, "order.created")
	ctx := context.Background()
	start := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	clock := start.Add(30 * time.Second)
	now := func() time.Time { return clock }
	instance := func() (*Maintenance, *Metrics) {
		mt := newMetrics()
		m, err := NewMaintenance(h.db, MaintenanceConfig{History: h.db, Metrics: mt, Now: now, Interval: time.Hour, HistoryRetention: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return m, mt
	}
	a, am := instance()
	b, bm := instance()
	outcomes := func(mt *Metrics, kinds ...hookd.OutcomeKind) {
		outs := make([]hookd.Outcome, len(kinds))
		for i, k := range kinds {
			outs[i].Kind = k
		}
		mt.countOutcomes(outs)
	}
	outcomes(am, hookd.OutcomeSucceeded, hookd.OutcomeSucceeded, hookd.OutcomeRetry, hookd.OutcomeReleased)
	outcomes(bm, hookd.OutcomeSucceeded, hookd.OutcomeFailed)
	if err := a.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.db.AddQueueSample(ctx, hookd.QueueSample{At: start.Add(-2 * time.Hour), Pending: 1}); err != nil {
		t.Fatal(err)
	}
	// The other instance samples later in the same interval, after a
	// delivery was cancelled: its reading of the queue is not kept.
	clock = clock.Add(20 * time.Second)
	if err := b.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	// The first instance counts two more and stops before its next sample.
	outcomes(am, hookd.OutcomeSucceeded, hookd.OutcomeFailed)
	clock = clock.Add(time.Minute)
	if err := a.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a.Stop()

	got, err := h.db.QueueSamples(ctx, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The deliveries were published on the real clock: the oldest due
	// age is compared between the samples only.
	want := []hookd.QueueSample{
		{At: start, Pending: 3, Due: 3, Succeeded: 3, Failed: 2},
		{At: start.Add(time.Minute), Pending: 3, Due: 3, Succeeded: 1, Failed: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(hookd.QueueSample{}, "OldestDueAge")); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	// The first sample's reading is the first instance's (taken 80 s
	// before the final one), not the second's (60 s before).
	if len(got) == 2 && got[1].OldestDueAge-got[0].OldestDueAge != 80*time.Second {
		t.Errorf("oldest due ages %s and %s: the first interval kept the later reading", got[0].OldestDueAge, got[1].OldestDueAge)
	}
	if all, err := h.db.QueueSamples(ctx, time.Time{}); err != nil || len(all) != 2 {
		t.Errorf("the sample older than the retention was not pruned: %+v, %v", all, err)
	}
}

// slowStats is a queue whose Stats takes a while, as counting a large
// backlog does.
type slowStats struct {
	hookd.Queue
	took  time.Duration
	calls atomic.Int32
}

func (q *slowStats) Stats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	q.calls.Add(1)
	time.Sleep(q.took)
	return q.Queue.Stats(ctx, now)
}

// The gauges are refreshed less often than StatsInterval when counting the
// queue is slow: the loop spends at most a statsShare-th of its time
// counting, the first round's count included.
func TestMaintenanceSlowStatsRefreshLessOften(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	q := &slowStats{Queue: h.db, took: 30 * time.Millisecond}
	m, err := NewMaintenance(q, MaintenanceConfig{StatsInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	m.Stop()
	// The first round's count, then a wait of statsShare × 30 ms: the
	// first round counts as any refresh does.
	if n := q.calls.Load(); n != 1 {
		t.Errorf("Stats taking 30 ms was called %d times in 500 ms at a 5 ms interval, want once", n)
	}
}

// reclaiming is a queue that needs its removed rows reclaimed, and has
// something to reclaim every other time it is asked.
type reclaiming struct {
	hookd.Queue
	asked atomic.Int32
}

func (q *reclaiming) ReclaimQueue(context.Context) (bool, error) {
	return q.asked.Add(1)%2 == 0, nil
}

// A queue that needs reclaiming is asked every ReclaimInterval, and the
// times it reclaimed are counted; one that does not is never asked.
func TestMaintenanceReclaimsTheQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	q := &reclaiming{Queue: h.db}
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMaintenance(q, MaintenanceConfig{ReclaimInterval: 10 * time.Millisecond, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	m.Stop()
	asked := q.asked.Load()
	if asked < 5 {
		t.Fatalf("asked to reclaim %d times in 300 ms at a 10 ms interval, want at least 5", asked)
	}
	if got := gathered(t, reg, "hookd_queue_reclaims_total"); got != float64(asked/2) {
		t.Errorf("hookd_queue_reclaims_total %v, want %d (every other time of %d)", got, asked/2, asked)
	}
	if _, ok := hookd.Queue(h.db).(hookd.QueueReclaimer); ok {
		t.Fatal("the harness's store reclaims: this test needs one that does not")
	}
	if err := (&Maintenance{queue: h.db, cfg: m.cfg}).Reclaim(context.Background()); err != nil {
		t.Errorf("Reclaim on a queue that needs none: %v", err)
	}
}
