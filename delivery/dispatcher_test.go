package delivery

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestDeliversEveryEventExactlyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, nil)
	w := h.webhook(rc.URL, nil)
	const n = 300
	ids := h.publish(n, "order.created")
	startDispatcher(t, h.db, Config{Concurrency: 8, ClaimBatch: 64})

	waitFor(t, "every delivery to succeed", func() bool { return h.countStatus(w.ID, hookd.DeliverySucceeded) == n })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range ids {
		if rc.requests[id] != 1 {
			t.Errorf("event %s received %d times, want 1", id, rc.requests[id])
		}
	}
	if len(rc.requests) != n {
		t.Errorf("received %d distinct events, want %d", len(rc.requests), n)
	}
}

func TestRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) int {
		if seen == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := h.webhook(rc.URL, nil)
	ids := h.publish(5, "order.created")
	startDispatcher(t, h.db, Config{})

	waitFor(t, "every delivery to succeed", func() bool { return h.countStatus(w.ID, hookd.DeliverySucceeded) == 5 })
	for _, id := range ids {
		ds := h.deliveries(hookd.DeliveryFilter{EventID: id})
		if len(ds) != 1 {
			t.Fatalf("event %s has %d deliveries, want 1", id, len(ds))
		}
		_, attempts, err := services(h.db).Deliveries.FindDeliveryByID(context.Background(), h.scope, ds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var codes []int
		for _, a := range attempts {
			codes = append(codes, a.StatusCode)
		}
		if len(codes) != 2 || codes[0] != 500 || codes[1] != 200 {
			t.Errorf("event %s attempts answered %v, want [500 200]", id, codes)
		}
	}
}

func TestRetryAfterIsHonouredWithinTheClamp(t *testing.T) {
	t.Parallel()
	const scheduled = 600 * time.Millisecond
	tests := []struct {
		name       string
		retryAfter string
		want       time.Duration
	}{
		{"within", "1", time.Second},
		{"above twice the schedule", "10", 2 * scheduled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) int {
				w.Header().Set("Retry-After", tt.retryAfter)
				return http.StatusTooManyRequests
			})
			h.webhook(rc.URL, nil)
			h.publish(1, "order.created")
			q := &recordingQueue{Queue: h.db}
			startDispatcher(t, q, Config{RetryPolicy: hookd.RetryPolicy{Delays: []time.Duration{scheduled, scheduled}}})

			waitFor(t, "the first outcome", func() bool { outs, _ := q.recorded(); return len(outs) >= 1 })
			outs, at := q.recorded()
			o := outs[0]
			if o.Kind != hookd.OutcomeRetry || o.Attempt == nil || o.Attempt.StatusCode != 429 {
				t.Fatalf("outcome = %+v, want a retry after a 429", o)
			}
			// The retry is due want after the attempt ended: after it began,
			// and no later than want after the outcome was written.
			if lo, hi := o.Attempt.At.Add(tt.want), at[0].Add(tt.want); o.RetryAt.Before(lo) || o.RetryAt.After(hi) {
				t.Errorf("retry at %s, want within [%s, %s]", o.RetryAt, lo, hi)
			}
		})
	}
}

func TestGoneDisablesTheWebhook(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, func(http.ResponseWriter, *http.Request, int) int { return http.StatusGone })
	w := h.webhook(rc.URL, nil)
	h.publish(1, "order.created")
	startDispatcher(t, h.db, Config{})

	waitFor(t, "the delivery to fail", func() bool { return h.countStatus(w.ID, hookd.DeliveryFailed) == 1 })
	got, err := services(h.db).Webhooks.FindWebhookByID(context.Background(), h.scope, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != hookd.StatusAutoDisabled || got.Enabled {
		t.Errorf("webhook status %q enabled %v, want auto_disabled and not enabled", got.Status, got.Enabled)
	}
	if req, _ := rc.count(); req != 1 {
		t.Errorf("receiver got %d requests, want 1", req)
	}
}

func TestSingleUseWebhookIsDeletedAfterItsFirstSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, nil)
	w := h.webhook(rc.URL, func(w *hookd.Webhook) { w.SingleUse = true })
	h.publish(1, "order.created")
	startDispatcher(t, h.db, Config{})

	waitFor(t, "the webhook to go", func() bool {
		_, err := services(h.db).Webhooks.FindWebhookByID(context.Background(), h.scope, w.ID)
		return hookd.ErrorCode(err) == hookd.ENOTFOUND
	})
	if _, ok := rc.count(); ok != 1 {
		t.Errorf("receiver answered %d deliveries, want 1", ok)
	}
}

func TestRateLimitedWebhookGetsEverything(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, nil)
	rate := 40
	w := h.webhook(rc.URL, func(w *hookd.Webhook) { w.RateLimit = &rate })
	const n = 100 // beyond the burst and RateWait: some are released and claimed again
	h.publish(n, "order.created")
	startDispatcher(t, h.db, Config{RateWait: 500 * time.Millisecond})

	waitFor(t, "every delivery to succeed", func() bool { return h.countStatus(w.ID, hookd.DeliverySucceeded) == n })
	for _, d := range h.deliveries(hookd.DeliveryFilter{WebhookID: w.ID}) {
		if d.Attempts != 1 {
			t.Errorf("delivery %s made %d attempts, want 1 (a release is not an attempt)", d.ID, d.Attempts)
		}
	}
}

func TestSlowReceiverDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	release := make(chan struct{})
	var hanging, maxHanging, returned atomic.Int64
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) int {
		n := hanging.Add(1)
		for m := maxHanging.Load(); n > m && !maxHanging.CompareAndSwap(m, n); m = maxHanging.Load() {
		}
		defer hanging.Add(-1)
		defer returned.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return http.StatusOK
	})
	// Close the hanging requests before the servers close (cleanups run last first).
	t.Cleanup(func() { close(release) })
	fast := newReceiver(t, nil)
	h.webhook(slow.URL, nil)
	h.webhook(fast.URL, nil)
	const n = 100
	h.publish(n, "order.created") // each event goes to both
	const perWebhook = 2
	startDispatcher(t, h.db, Config{Concurrency: 4, ClaimBatch: 32, PerWebhookInFlight: perWebhook, PerWebhookQueue: 8,
		RequestTimeout: 30 * time.Second, Lease: 40 * time.Second, ShutdownGrace: time.Millisecond})

	waitFor(t, "the fast receiver to get everything", func() bool { _, ok := fast.count(); return ok == n })
	if r := returned.Load(); r != 0 {
		t.Errorf("%d slow requests returned before the fast receiver got everything, want 0", r)
	}
	if m := maxHanging.Load(); m != perWebhook {
		t.Errorf("slow receiver had %d requests in flight at most, want %d (the per-webhook cap)", m, perWebhook)
	}
}

func TestStopReleasesUnsentJobsForTheNextDispatcher(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := make(chan struct{})
	var first sync.Once
	started := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, seen int) int {
		first.Do(func() {
			close(started)
			<-gate
		})
		return http.StatusOK
	})
	w := h.webhook(rc.URL, nil)
	const n = 10
	ids := h.publish(n, "order.created")
	cfg := testConfig(Config{Concurrency: 1, ShutdownGrace: time.Minute})
	d1, err := NewDispatcher(h.db, testSender(t, cfg.RequestTimeout), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan struct{})
	go func() {
		d1.Stop()
		close(stopped)
	}()
	waitFor(t, "the scheduler to close", func() bool {
		d1.sched.mu.Lock()
		defer d1.sched.mu.Unlock()
		return d1.sched.closed
	})
	close(gate) // the request in flight may finish within the grace period
	<-stopped

	if got := h.countStatus(w.ID, hookd.DeliverySucceeded); got != 1 {
		t.Errorf("succeeded after stop = %d, want 1 (the request in flight)", got)
	}
	pending := h.deliveries(hookd.DeliveryFilter{WebhookID: w.ID, Status: hookd.DeliveryPending})
	if len(pending) != n-1 {
		t.Errorf("pending after stop = %d, want %d", len(pending), n-1)
	}
	for _, d := range pending {
		if d.Attempts != 0 {
			t.Errorf("released delivery %s has %d attempts, want 0", d.ID, d.Attempts)
		}
	}

	startDispatcher(t, h.db, Config{})
	waitFor(t, "the next dispatcher to deliver the rest", func() bool { return h.countStatus(w.ID, hookd.DeliverySucceeded) == n })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range ids {
		if rc.requests[id] != 1 {
			t.Errorf("event %s received %d times, want 1", id, rc.requests[id])
		}
	}
}

func TestStopIsSafeTwiceAndBeforeStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d, err := NewDispatcher(h.db, testSender(t, time.Second), Config{})
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	d.Stop()
	if err := d.Start(context.Background()); hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
		t.Errorf("Start after Stop = %v, want unavailable", err)
	}
	d2 := startDispatcher(t, h.db, Config{})
	if err := d2.Start(context.Background()); hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Errorf("second Start = %v, want conflict", err)
	}
	d2.Stop()
	d2.Stop()
}

// lateCancelQueue's first claim waits for release, then takes its leases
// and fails if its ctx ended meanwhile — as a database's claim does when
// the cancellation comes after its COMMIT: leases taken that the claimer
// never hears of.
type lateCancelQueue struct {
	hookd.Queue
	entered, release chan struct{}
	once             sync.Once
}

func (q *lateCancelQueue) ClaimDeliveries(ctx context.Context, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	first := false
	q.once.Do(func() { first = true })
	if first {
		close(q.entered)
		<-q.release
	}
	jobs, err := q.Queue.ClaimDeliveries(context.WithoutCancel(ctx), r)
	if err == nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return jobs, err
}

// A claim under way when Stop comes finishes, and Stop hands its jobs back
// at once: cancelled, it would have left its deliveries leased (here for
// five minutes) where no instance could send them.
func TestStopLetsAClaimUnderWayFinish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, nil)
	h.webhook(rc.URL, nil)
	ids := h.publish(5, "order.created")
	q := &lateCancelQueue{Queue: h.db, entered: make(chan struct{}), release: make(chan struct{})}
	cfg := testConfig(Config{Lease: 5 * time.Minute, Owner: "first"})
	d, err := NewDispatcher(q, testSender(t, cfg.RequestTimeout), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-q.entered
	stopped := make(chan struct{})
	go func() {
		d.Stop()
		close(stopped)
	}()
	time.Sleep(100 * time.Millisecond) // Stop has begun: claims are cancelled
	close(q.release)
	<-stopped

	startDispatcher(t, h.db, Config{Owner: "second"})
	waitFor(t, "the claimed deliveries to reach the receiver", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, id := range ids {
			if rc.requests[id] == 0 {
				return false
			}
		}
		return true
	})
}
