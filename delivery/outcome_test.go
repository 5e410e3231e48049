package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// senderFunc is a fake hookd.Sender.
type senderFunc func(ctx context.Context, j *hookd.Job) hookd.AttemptResult

func (f senderFunc) Send(ctx context.Context, j *hookd.Job) hookd.AttemptResult { return f(ctx, j) }

func testJob(id, webhookID, tenant string) *hookd.Job {
	return &hookd.Job{
		Delivery: &hookd.Delivery{ID: id, WebhookID: webhookID, TenantID: tenant, Mode: hookd.ModeLive, EventID: "evt_" + id},
		Event:    &hookd.Event{ID: "evt_" + id, Type: "thing.happened"},
		Webhook:  &hookd.Webhook{ID: webhookID, TenantID: tenant, Mode: hookd.ModeLive},
		Lease:    "w1", // the claim's name, as the dispatcher sets it
	}
}

func TestOutcomeMapping(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	policy := hookd.RetryPolicy{Delays: []time.Duration{10 * time.Second, 20 * time.Second}, Jitter: 0.2}
	type bounds struct{ lo, hi time.Duration } // RetryAt - now, inclusive
	tests := []struct {
		name       string
		attempts   int // made before this one
		manual     bool
		singleUse  bool
		status     int
		class      hookd.ErrorClass
		retryAfter time.Duration
		kind       hookd.OutcomeKind
		retryAt    bounds
		disable    bool
		delete     bool
		wantClass  hookd.ErrorClass
	}{
		{name: "200 succeeds", status: 200, kind: hookd.OutcomeSucceeded},
		{name: "204 single use deletes", status: 204, singleUse: true, kind: hookd.OutcomeSucceeded, delete: true},
		{name: "500 first attempt retries", status: 500, class: hookd.ClassHTTPStatus, kind: hookd.OutcomeRetry, retryAt: bounds{8 * time.Second, 12 * time.Second}},
		{name: "timeout second attempt retries", attempts: 1, class: hookd.ClassTimeout, kind: hookd.OutcomeRetry, retryAt: bounds{16 * time.Second, 24 * time.Second}},
		{name: "connection error out of attempts fails", attempts: 2, class: hookd.ClassConnection, kind: hookd.OutcomeFailed},
		{name: "302 retries", status: 302, class: hookd.ClassHTTPStatus, kind: hookd.OutcomeRetry, retryAt: bounds{8 * time.Second, 12 * time.Second}},
		{name: "410 fails and disables", status: 410, class: hookd.ClassGone, kind: hookd.OutcomeFailed, disable: true},
		{name: "blocked destination fails", class: hookd.ClassDestinationBlocked, kind: hookd.OutcomeFailed},
		{name: "invalid request fails", class: hookd.ClassInvalid, kind: hookd.OutcomeFailed},
		{name: "retry-after within clamp is honoured", status: 503, class: hookd.ClassHTTPStatus, retryAfter: 15 * time.Second, kind: hookd.OutcomeRetry, retryAt: bounds{15 * time.Second, 15 * time.Second}},
		{name: "retry-after above clamp is cut to twice", status: 429, class: hookd.ClassHTTPStatus, retryAfter: time.Hour, kind: hookd.OutcomeRetry, retryAt: bounds{16 * time.Second, 24 * time.Second}},
		{name: "retry-after below schedule is raised", status: 429, class: hookd.ClassHTTPStatus, retryAfter: time.Second, kind: hookd.OutcomeRetry, retryAt: bounds{8 * time.Second, 12 * time.Second}},
		{name: "retry-after with no attempt left fails", attempts: 2, status: 429, class: hookd.ClassHTTPStatus, retryAfter: time.Second, kind: hookd.OutcomeFailed},
		{name: "manual attempt failing fails", manual: true, status: 500, class: hookd.ClassHTTPStatus, kind: hookd.OutcomeFailed},
		{name: "manual attempt succeeding succeeds", manual: true, attempts: 8, status: 200, kind: hookd.OutcomeSucceeded},
		{name: "non-2xx without class retries as http_status", status: 500, kind: hookd.OutcomeRetry, retryAt: bounds{8 * time.Second, 12 * time.Second}, wantClass: hookd.ClassHTTPStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := senderFunc(func(ctx context.Context, j *hookd.Job) hookd.AttemptResult {
				return hookd.AttemptResult{
					Attempt:    hookd.Attempt{At: now, StatusCode: tt.status, ErrorClass: tt.class},
					RetryAfter: tt.retryAfter,
				}
			})
			d, err := NewDispatcher(nil, sender, Config{Owner: "w1", RetryPolicy: policy, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			j := testJob("dlv_1", "wh_1", "ten_1")
			j.Delivery.Attempts = tt.attempts
			j.ManualAttempt = tt.manual
			j.Webhook.SingleUse = tt.singleUse
			if rel := d.sched.admit([]*hookd.Job{j}, now); len(rel) != 0 {
				t.Fatalf("admit released %+v", rel)
			}
			out := d.run(context.Background(), d.sched.next(d.cfg.Now))

			if out.Kind != tt.kind {
				t.Errorf("kind = %d, want %d", out.Kind, tt.kind)
			}
			if out.DeliveryID != "dlv_1" || out.WebhookID != "wh_1" || out.Owner != "w1" {
				t.Errorf("outcome names %q %q %q, want dlv_1 wh_1 w1 (its claim's lease)", out.DeliveryID, out.WebhookID, out.Owner)
			}
			if out.Attempt == nil || out.Attempt.StatusCode != tt.status {
				t.Errorf("attempt = %+v, want status %d", out.Attempt, tt.status)
			}
			if tt.wantClass != "" && out.Attempt.ErrorClass != tt.wantClass {
				t.Errorf("error class = %q, want %q", out.Attempt.ErrorClass, tt.wantClass)
			}
			if tt.kind == hookd.OutcomeRetry {
				if got := out.RetryAt.Sub(now); got < tt.retryAt.lo || got > tt.retryAt.hi {
					t.Errorf("retry in %s, want within [%s, %s]", got, tt.retryAt.lo, tt.retryAt.hi)
				}
			} else if !out.RetryAt.IsZero() {
				t.Errorf("RetryAt = %s, want zero for kind %d", out.RetryAt, out.Kind)
			}
			if out.DisableWebhook != tt.disable || out.DeleteWebhook != tt.delete {
				t.Errorf("disable, delete = %v, %v; want %v, %v", out.DisableWebhook, out.DeleteWebhook, tt.disable, tt.delete)
			}
		})
	}
}

func TestRunReleasesWhatCannotFinishWithinTheLease(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	sent := 0
	sender := senderFunc(func(ctx context.Context, j *hookd.Job) hookd.AttemptResult {
		sent++
		return hookd.AttemptResult{Attempt: hookd.Attempt{StatusCode: 200}}
	})
	d, err := NewDispatcher(nil, sender, Config{Owner: "w1", Lease: 30 * time.Second, RequestTimeout: 10 * time.Second,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	d.sched.admit([]*hookd.Job{testJob("dlv_1", "wh_1", "ten_1")}, now)
	tk := d.sched.next(d.cfg.Now)
	clock = now.Add(30*time.Second - 10*time.Second - MinLeaseMargin + time.Millisecond)
	out := d.run(context.Background(), tk)
	if out.Kind != hookd.OutcomeReleased || !out.RetryAt.Equal(clock) || out.Attempt != nil {
		t.Errorf("outcome = %+v, want released at %s without attempt", out, clock)
	}
	if sent != 0 {
		t.Errorf("sent %d requests, want 0", sent)
	}
}
