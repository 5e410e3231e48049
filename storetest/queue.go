package storetest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var queueTests = []test{
	{"Queue/ClaimLoadsJobs", testClaimLoadsJobs},
	{"Queue/ClaimOrderAndLimit", testClaimOrderAndLimit},
	{"Queue/LeaseExpiry", testLeaseExpiry},
	{"Queue/ConcurrentClaimers", testConcurrentClaimers},
	{"Queue/ClaimSkipsUndeliverable", testClaimSkipsUndeliverable},
	{"Queue/CompleteSucceeded", testCompleteSucceeded},
	{"Queue/CompleteRetry", testCompleteRetry},
	{"Queue/CompleteFailedAndReleased", testCompleteFailedAndReleased},
	{"Queue/CompleteGone", testCompleteGone},
	{"Queue/CompleteSingleUse", testCompleteSingleUse},
	{"Queue/RetryDelivery", testRetryDelivery},
	{"Queue/RecoverWebhook", testRecoverWebhook},
	{"Queue/AutoDisable", testAutoDisable},
	{"Queue/Prune", testPrune},
	{"Queue/StatsAndNextDue", testStatsAndNextDue},
	{"Delivery/List", testDeliveryList},
}

// attempt is a finished HTTP attempt at the clock's time.
func (e *env) attempt(status int, errText string) *hookd.Attempt {
	a := &hookd.Attempt{At: e.clock.Now(), Duration: 120 * time.Millisecond, DurationMS: 120, StatusCode: status, Error: errText}
	if status < 200 || status > 299 {
		a.ErrorClass = hookd.ClassHTTPStatus
	}
	return a
}

// one publishes an event to s, which must have one webhook, and claims its delivery.
func (e *env) one(s hookd.Scope, owner string) *hookd.Job {
	e.t.Helper()
	e.publishOne(s, e.event("a.one", `{"n":1}`))
	jobs := e.claim(owner, 10, time.Minute)
	if len(jobs) != 1 {
		e.t.Fatalf("claimed %d jobs, want 1", len(jobs))
	}
	return jobs[0]
}

// failedOne is one: a delivery to s's one webhook, attempted once and failed for good.
func (e *env) failedOne(s hookd.Scope) *hookd.Job {
	e.t.Helper()
	j := e.one(s, "w")
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: hookd.OutcomeFailed, Attempt: e.attempt(500, "")})
	return j
}

func testClaimLoadsJobs(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, []string{"a.one"}, func(w *hookd.Webhook) { w.Headers = map[string]string{"X-A": "b"} })
	other := e.scope("globex")
	ow := e.webhook(other, nil)
	r1 := e.publishOne(s, e.event("a.one", `{"n":1}`))
	r2 := e.publishOne(other, e.event("b.two", `{"n":2}`))

	jobs := e.claim("worker-1", 10, time.Minute)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2 (claims cross tenants)", len(jobs))
	}
	byWebhook := map[string]*hookd.Job{}
	for _, j := range jobs {
		if j.Event == nil || j.Webhook == nil || j.Delivery == nil {
			t.Fatalf("job without its event, webhook or delivery: %+v", j)
		}
		if j.ManualAttempt {
			t.Errorf("a published delivery is marked manual")
		}
		byWebhook[j.Webhook.ID] = j
	}
	j := byWebhook[w.ID]
	if j == nil || byWebhook[ow.ID] == nil {
		t.Fatalf("jobs are for %v, want %s and %s", byWebhook, w.ID, ow.ID)
	}
	if diff := cmp.Diff(r1.Event, j.Event); diff != "" {
		t.Errorf("job event (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w, j.Webhook); diff != "" {
		t.Errorf("job webhook (-want +got):\n%s", diff)
	}
	if j.Delivery.EventID != r1.Event.ID || j.Delivery.WebhookID != w.ID || j.Delivery.Status != hookd.DeliveryPending ||
		j.Delivery.TenantID != s.TenantID || j.Delivery.Mode != s.Mode || j.Delivery.EventType != "a.one" {
		t.Errorf("job delivery = %+v", j.Delivery)
	}
	if byWebhook[ow.ID].Event.ID != r2.Event.ID {
		t.Errorf("the other tenant's job carries event %s, want %s", byWebhook[ow.ID].Event.ID, r2.Event.ID)
	}
	if again := e.claim("worker-2", 10, time.Minute); len(again) != 0 {
		t.Errorf("claimed %d leased deliveries again", len(again))
	}
}

func testClaimOrderAndLimit(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	var ids []string
	for i := range 5 {
		r := e.publishOne(s, e.event("a.one", fmt.Sprintf(`{"i":%d}`, i)))
		ids = append(ids, r.Event.ID)
		e.clock.Advance(time.Second)
	}
	jobs := e.claim("w", 2, time.Minute)
	got := []string{jobs[0].Event.ID, jobs[1].Event.ID}
	if diff := cmp.Diff(ids[:2], got, sortStrings); diff != "" {
		t.Errorf("first claim of 2 (-want +got):\n%s", diff)
	}
	jobs = e.claim("w", 10, time.Minute)
	if len(jobs) != 3 {
		t.Fatalf("second claim got %d, want the other 3", len(jobs))
	}
	if zero := e.claim("w", 0, time.Minute); len(zero) != 0 {
		t.Errorf("a claim with limit 0 got %d jobs", len(zero))
	}
}

func testLeaseExpiry(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	first := e.one(s, "worker-1")

	e.clock.Advance(59 * time.Second)
	if jobs := e.claim("worker-2", 10, time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed %d jobs before the lease expired", len(jobs))
	}
	e.clock.Advance(2 * time.Second)
	jobs := e.claim("worker-2", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Delivery.ID != first.Delivery.ID {
		t.Fatalf("after the lease expired claimed %d jobs, want the abandoned one", len(jobs))
	}
	// The first worker comes back late: its outcome changes nothing (the
	// lease names the claim: a fencing token), but the request it made
	// went out, so it is in the log.
	e.complete(hookd.Outcome{DeliveryID: first.Delivery.ID, WebhookID: first.Webhook.ID, Owner: "worker-1",
		Kind: hookd.OutcomeFailed, Attempt: e.attempt(500, "late")})
	d, attempts := e.delivery(s, first.Delivery.ID)
	if d.Status != hookd.DeliveryPending || d.Attempts != 0 || len(attempts) != 1 {
		t.Fatalf("after a stale owner's outcome: %+v, %d attempts logged; want pending, none counted, its request logged", d, len(attempts))
	}
	e.complete(hookd.Outcome{DeliveryID: first.Delivery.ID, WebhookID: first.Webhook.ID, Owner: "worker-2",
		Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	d, attempts = e.delivery(s, first.Delivery.ID)
	if d.Status != hookd.DeliverySucceeded || d.Attempts != 1 || len(attempts) != 2 {
		t.Errorf("the owner's outcome was not recorded: %+v, %d attempts", d, len(attempts))
	}
}

func testConcurrentClaimers(e *env) { concurrentClaimers(e, 0) }

// concurrentClaimers has four claimers take 200 deliveries of four
// webhooks at once, perWebhook a webhook a claim (0: in due order): none
// is held twice, none is left.
func concurrentClaimers(e *env, perWebhook int) {
	t := e.t
	s := e.scope("acme")
	for range 4 {
		e.webhook(s, nil)
	}
	var reqs []hookd.PublishRequest
	for i := range 50 {
		reqs = append(reqs, hookd.PublishRequest{Scope: s, Event: e.event("a.one", fmt.Sprintf(`{"i":%d}`, i))})
	}
	e.publish(reqs...)
	const total = 200

	var (
		mu     sync.Mutex
		holder = map[string]string{}
		dupes  []string
		errs   []error
		wg     sync.WaitGroup
	)
	for w := range 4 {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := e.store.ClaimDeliveries(e.ctx, hookd.ClaimRequest{Owner: owner, Limit: 7, Lease: time.Hour, Now: e.clock.Now(),
					PerWebhook: perWebhook})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					if prev, ok := holder[j.Delivery.ID]; ok {
						dupes = append(dupes, fmt.Sprintf("%s held by %s and %s", j.Delivery.ID, prev, owner))
					}
					holder[j.Delivery.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("claim errors: %v", errs)
	}
	if len(dupes) > 0 {
		t.Errorf("deliveries held twice at once:\n%s", strings.Join(dupes, "\n"))
	}
	if len(holder) != total {
		t.Errorf("claimed %d distinct deliveries, want %d", len(holder), total)
	}
}

func testClaimSkipsUndeliverable(e *env) {
	t := e.t
	s := e.scope("acme")
	live := e.webhook(s, nil)
	off := e.webhook(s, nil)
	gone := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, off.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Webhooks.DeleteWebhook(e.ctx, s, gone.ID); err != nil {
		t.Fatal(err)
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Webhook.ID != live.ID {
		t.Fatalf("claimed %d jobs; want only the deliverable webhook's", len(jobs))
	}
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		if d.WebhookID != live.ID && d.Status != hookd.DeliveryCancelled {
			t.Errorf("delivery to a disabled or deleted webhook is %q, want cancelled", d.Status)
		}
	}
}

func testCompleteSucceeded(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "w")
	// A failure first, so that the success has a streak to end.
	e.clock.Advance(time.Second)
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeRetry,
		RetryAt: e.clock.Now(), Attempt: e.attempt(500, "HTTP 500")})
	if got := e.findWebhook(s, w.ID); got.FailingSince == nil || !got.FailingSince.Equal(Start.Add(time.Second)) {
		t.Errorf("after a failure failing_since = %v, want %v", got.FailingSince, Start.Add(time.Second))
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("claimed %d jobs, want the retry", len(jobs))
	}
	e.clock.Advance(time.Second)
	ok := e.attempt(200, "")
	ok.ResponseExcerpt = strings.Repeat("é", hookd.MaxResponseExcerpt) // twice the cap, in bytes
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeSucceeded, Attempt: ok})

	d, attempts := e.delivery(s, j.Delivery.ID)
	if d.Status != hookd.DeliverySucceeded || d.Attempts != 2 || d.LastStatus != 200 || d.NextAttemptAt != nil {
		t.Errorf("delivery = %+v; want succeeded after 2 attempts, last status 200, nothing next", d)
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(attempts))
	}
	if attempts[0].StatusCode != 500 || attempts[1].StatusCode != 200 || attempts[0].Error != "HTTP 500" ||
		attempts[0].ErrorClass != hookd.ClassHTTPStatus || attempts[0].DurationMS != 120 || !attempts[0].At.Equal(Start.Add(time.Second)) ||
		attempts[0].DeliveryID != d.ID || attempts[0].ID == "" || attempts[0].ID == attempts[1].ID {
		t.Errorf("attempts, oldest first: %+v, %+v", attempts[0], attempts[1])
	}
	if n := len(attempts[1].ResponseExcerpt); n > hookd.MaxResponseExcerpt || n < hookd.MaxResponseExcerpt-4 {
		t.Errorf("stored excerpt is %d bytes, want about %d", n, hookd.MaxResponseExcerpt)
	}
	if got := e.findWebhook(s, w.ID); got.FailingSince != nil {
		t.Errorf("after a success failing_since = %v, want nil", got.FailingSince)
	}
}

func (e *env) findWebhook(s hookd.Scope, id string) *hookd.Webhook {
	e.t.Helper()
	w, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, id)
	if err != nil {
		e.t.Fatalf("FindWebhookByID(%s): %v", id, err)
	}
	return w
}

func testCompleteRetry(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "w")
	retryAt := Start.Add(5 * time.Minute)
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeRetry,
		RetryAt: retryAt, Attempt: e.attempt(503, "HTTP 503")})
	d, _ := e.delivery(s, j.Delivery.ID)
	if d.Status != hookd.DeliveryPending || d.Attempts != 1 || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(retryAt) ||
		d.LastStatus != 503 || d.LastError != "HTTP 503" {
		t.Errorf("after a retry outcome: %+v", d)
	}
	// Completing twice does nothing: the lease is gone.
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	if d, _ := e.delivery(s, j.Delivery.ID); d.Status != hookd.DeliveryPending || d.Attempts != 1 {
		t.Errorf("a second outcome for one claim was recorded: %+v", d)
	}
	e.clock.Set(retryAt.Add(-time.Millisecond))
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 0 {
		t.Errorf("claimed %d jobs before the retry time", len(jobs))
	}
	e.clock.Set(retryAt)
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Delivery.Attempts != 1 {
		t.Fatalf("at the retry time claimed %d jobs, want the one with 1 attempt", len(jobs))
	}
}

func testCompleteFailedAndReleased(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d, want 2", len(jobs))
	}
	failed, released := jobs[0], jobs[1]
	later := Start.Add(10 * time.Second)
	e.complete(
		hookd.Outcome{DeliveryID: failed.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeFailed,
			Attempt: &hookd.Attempt{At: Start, StatusCode: 0, ErrorClass: hookd.ClassConnection, Error: "connection refused"}},
		hookd.Outcome{DeliveryID: released.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeReleased, RetryAt: later},
	)
	d, attempts := e.delivery(s, failed.Delivery.ID)
	if d.Status != hookd.DeliveryFailed || d.Attempts != 1 || d.NextAttemptAt != nil || d.LastError != "connection refused" || len(attempts) != 1 {
		t.Errorf("failed delivery: %+v with %d attempts", d, len(attempts))
	}
	d, attempts = e.delivery(s, released.Delivery.ID)
	if d.Status != hookd.DeliveryPending || d.Attempts != 0 || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(later) || len(attempts) != 0 {
		t.Errorf("released delivery: %+v with %d attempts; want pending at %v, no attempt", d, len(attempts), later)
	}
	if got := e.findWebhook(s, w.ID); got.FailingSince == nil || !got.FailingSince.Equal(Start) {
		t.Errorf("failing_since = %v, want %v", got.FailingSince, Start)
	}
	e.clock.Set(later)
	if jobs := e.claim("w2", 10, time.Minute); len(jobs) != 1 || jobs[0].Delivery.ID != released.Delivery.ID {
		t.Errorf("at its time the released delivery was not claimable (%d jobs)", len(jobs))
	}
}

func testCompleteGone(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	jobs := e.claim("w", 1, time.Minute)
	e.complete(hookd.Outcome{DeliveryID: jobs[0].Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeFailed,
		Attempt: &hookd.Attempt{At: Start, StatusCode: 410, ErrorClass: hookd.ClassGone, Error: "HTTP 410"}, DisableWebhook: true})
	got := e.findWebhook(s, w.ID)
	if got.Enabled || got.Status != hookd.StatusAutoDisabled {
		t.Errorf("after a 410 the webhook is enabled=%v status=%q, want auto_disabled", got.Enabled, got.Status)
	}
	statuses := map[hookd.DeliveryStatus]int{}
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		statuses[d.Status]++
	}
	if diff := cmp.Diff(map[hookd.DeliveryStatus]int{hookd.DeliveryFailed: 1, hookd.DeliveryCancelled: 1}, statuses); diff != "" {
		t.Errorf("delivery statuses (-want +got):\n%s", diff)
	}
	if r := e.publishOne(s, e.event("a.one", `{}`)); r.Deliveries != 0 {
		t.Errorf("an auto-disabled webhook got %d new deliveries", r.Deliveries)
	}
}

func testCompleteSingleUse(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil, func(w *hookd.Webhook) { w.SingleUse = true })
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	jobs := e.claim("w", 1, time.Minute)
	e.complete(hookd.Outcome{DeliveryID: jobs[0].Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeSucceeded,
		Attempt: e.attempt(200, ""), DeleteWebhook: true})
	_, err := e.svc.Webhooks.FindWebhookByID(e.ctx, s, w.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	statuses := map[hookd.DeliveryStatus]int{}
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		statuses[d.Status]++
	}
	if diff := cmp.Diff(map[hookd.DeliveryStatus]int{hookd.DeliverySucceeded: 1, hookd.DeliveryCancelled: 1}, statuses); diff != "" {
		t.Errorf("delivery statuses (-want +got):\n%s", diff)
	}
	d, attempts := e.delivery(s, jobs[0].Delivery.ID)
	if d.Status != hookd.DeliverySucceeded || len(attempts) != 1 {
		t.Errorf("the single use: %+v, %d attempts", d, len(attempts))
	}
}

func testRetryDelivery(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	j := e.one(s, "w")
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeFailed, Attempt: e.attempt(500, "HTTP 500")})

	e.clock.Advance(time.Hour)
	d, err := e.svc.Deliveries.RetryDelivery(e.ctx, s, j.Delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if d.Status != hookd.DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(now) || d.Attempts != 1 {
		t.Errorf("RetryDelivery = %+v; want pending, due %v, attempts kept", d, now)
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || !jobs[0].ManualAttempt {
		t.Fatalf("claimed %d jobs; want the retried one, marked manual", len(jobs))
	}
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	if d, attempts := e.delivery(s, j.Delivery.ID); d.Status != hookd.DeliverySucceeded || d.Attempts != 2 || len(attempts) != 2 {
		t.Errorf("after the manual attempt: %+v, %d attempts", d, len(attempts))
	}
	// A retried succeeded delivery is manual too; once sent, the flag is gone.
	if _, err := e.svc.Deliveries.RetryDelivery(e.ctx, s, j.Delivery.ID); err != nil {
		t.Fatal(err)
	}
	jobs = e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || !jobs[0].ManualAttempt {
		t.Fatalf("claimed %d jobs; want the retried one, marked manual", len(jobs))
	}
	e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "w", Kind: hookd.OutcomeRetry,
		RetryAt: e.clock.Now(), Attempt: e.attempt(500, "")})
	if jobs := e.claim("w", 10, time.Minute); len(jobs) != 1 || jobs[0].ManualAttempt {
		t.Errorf("after the manual attempt was rescheduled, claimed %d jobs still manual", len(jobs))
	}

	_, err = e.svc.Deliveries.RetryDelivery(e.ctx, s, "dlv_missing")
	wantCode(t, err, hookd.ENOTFOUND)
	if err := e.svc.Webhooks.DeleteWebhook(e.ctx, s, w.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Deliveries.RetryDelivery(e.ctx, s, j.Delivery.ID)
	wantCode(t, err, hookd.ECONFLICT)
}

func testRecoverWebhook(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.webhook(s, nil) // its failures stay failed
	// Three failed deliveries per webhook, created an hour apart.
	for range 3 {
		e.publishOne(s, e.event("a.one", `{}`))
		for _, j := range e.claim("w", 10, time.Minute) {
			e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: hookd.OutcomeFailed, Attempt: e.attempt(500, "")})
		}
		e.clock.Advance(time.Hour)
	}
	since, until := Start.Add(time.Hour), Start.Add(2*time.Hour)
	n, err := e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, since, &until)
	if err != nil {
		t.Fatal(err)
	}
	if n.Total() != 1 {
		t.Errorf("RecoverWebhook [1h, 2h) = %+v, want 1", n)
	}
	n, err = e.svc.Deliveries.RecoverWebhook(e.ctx, s, w.ID, Start, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Total() != 2 {
		t.Errorf("RecoverWebhook [0, now) = %+v, want the 2 still failed", n)
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 3 {
		t.Errorf("claimed %d recovered deliveries, want 3", len(jobs))
	}
	for _, j := range jobs {
		if j.Webhook.ID != w.ID {
			t.Errorf("recovered a delivery of another webhook %s", j.Webhook.ID)
		}
	}
	_, err = e.svc.Deliveries.RecoverWebhook(e.ctx, s, "wh_missing", Start, nil)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testAutoDisable(e *env) {
	t := e.t
	s := e.scope("acme")
	sick := e.webhook(s, nil)
	healthy := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	for _, j := range e.claim("w", 10, time.Minute) {
		kind, a := hookd.OutcomeRetry, e.attempt(500, "")
		if j.Webhook.ID == healthy.ID {
			kind, a = hookd.OutcomeSucceeded, e.attempt(200, "")
		}
		e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: kind,
			RetryAt: Start.Add(time.Hour), Attempt: a})
	}
	window := 5 * 24 * time.Hour
	e.clock.Advance(window - time.Second)
	got, err := e.store.AutoDisableWebhooks(e.ctx, e.clock.Now().Add(-window))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("auto-disabled %d webhooks inside the window", len(got))
	}
	e.clock.Advance(2 * time.Second)
	got, err = e.store.AutoDisableWebhooks(e.ctx, e.clock.Now().Add(-window))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != sick.ID || got[0].Status != hookd.StatusAutoDisabled || got[0].Enabled {
		t.Fatalf("AutoDisableWebhooks = %d webhooks; want %s, auto_disabled", len(got), sick.ID)
	}
	if w := e.findWebhook(s, sick.ID); w.Status != hookd.StatusAutoDisabled {
		t.Errorf("stored status %q", w.Status)
	}
	if w := e.findWebhook(s, healthy.ID); w.Status != hookd.StatusActive {
		t.Errorf("the healthy webhook is %q", w.Status)
	}
	again, err := e.store.AutoDisableWebhooks(e.ctx, e.clock.Now().Add(-window))
	if err != nil || len(again) != 0 {
		t.Errorf("a second run disabled %d webhooks again (%v)", len(again), err)
	}
	// Enabling brings it back and forgets the streak.
	w, err := e.svc.Webhooks.UpdateWebhook(e.ctx, s, sick.ID, hookd.WebhookUpdate{Enabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != hookd.StatusActive || w.FailingSince != nil {
		t.Errorf("re-enabled webhook: status %q, failing since %v", w.Status, w.FailingSince)
	}
}

func testPrune(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	old := e.publishOne(s, e.event("a.one", `{"old":true}`))
	stuck := e.publishOne(s, e.event("a.one", `{"stuck":true}`))
	jobs := e.claim("w", 10, time.Minute)
	for _, j := range jobs {
		if j.Event.ID == old.Event.ID {
			e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
		} else {
			e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: hookd.OutcomeRetry,
				RetryAt: Start.Add(100 * 24 * time.Hour), Attempt: e.attempt(500, "")})
		}
	}
	e.clock.Advance(31 * 24 * time.Hour)
	recent := e.publishOne(s, e.event("a.one", `{"recent":true}`))

	n, err := e.store.Prune(e.ctx, e.clock.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Prune removed %d rows, want 3 (the old event, its delivery and its attempt)", n)
	}
	_, err = e.svc.Events.FindEventByID(e.ctx, s, old.Event.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	for _, id := range []string{stuck.Event.ID, recent.Event.ID} {
		if _, err := e.svc.Events.FindEventByID(e.ctx, s, id); err != nil {
			t.Errorf("event %s was pruned: %v", id, err)
		}
	}
	var left []string
	for _, d := range e.deliveries(s, hookd.DeliveryFilter{}) {
		left = append(left, d.EventID)
	}
	if diff := cmp.Diff([]string{stuck.Event.ID, recent.Event.ID}, left, sortStrings); diff != "" {
		t.Errorf("deliveries left (-want +got):\n%s", diff)
	}
	if n, err := e.store.Prune(e.ctx, e.clock.Now().Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Errorf("a second prune removed %d rows (%v)", n, err)
	}
}

func testStatsAndNextDue(e *env) {
	t := e.t
	s := e.scope("acme")
	next, err := e.store.NextDueAt(e.ctx)
	if err != nil || next != nil {
		t.Fatalf("NextDueAt on an empty queue = %v, %v; want nil", next, err)
	}
	e.webhook(s, nil)
	for range 3 {
		e.publishOne(s, e.event("a.one", `{}`))
	}
	e.clock.Advance(10 * time.Second)
	jobs := e.claim("w", 1, time.Minute)
	e.complete(hookd.Outcome{DeliveryID: jobs[0].Delivery.ID, WebhookID: jobs[0].Webhook.ID, Owner: "w", Kind: hookd.OutcomeRetry,
		RetryAt: Start.Add(time.Hour), Attempt: e.attempt(500, "")})
	e.claim("w", 1, time.Minute) // one leased, one due

	st, err := e.store.Stats(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := hookd.QueueStats{Pending: 3, Due: 1, OldestDueAge: 10 * time.Second, Leased: 1}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	next, err = e.store.NextDueAt(e.ctx)
	if err != nil || next == nil || !next.Equal(Start) {
		t.Errorf("NextDueAt = %v, %v; want %v", next, err, Start)
	}
	// With every due row in flight, the next is the first lease to run
	// out (sooner than the retry in an hour), not a due time in the past.
	e.clock.Advance(time.Second)
	e.claim("w", 1, time.Minute)
	lease := e.clock.Now().Add(-time.Second).Add(time.Minute)
	next, err = e.store.NextDueAt(e.ctx)
	if err != nil || next == nil || !next.Equal(lease) {
		t.Errorf("NextDueAt with every due row leased = %v, %v; want the first lease's expiry %v", next, err, lease)
	}
}

func testDeliveryList(e *env) {
	t := e.t
	s := e.scope("acme")
	a := e.webhook(s, nil)
	b := e.webhook(s, nil)
	var events []string
	for range 3 {
		events = append(events, e.publishOne(s, e.event("a.one", `{}`)).Event.ID)
		e.clock.Advance(time.Minute)
	}
	all := e.deliveries(s, hookd.DeliveryFilter{})
	if len(all) != 6 {
		t.Fatalf("%d deliveries, want 6", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID <= all[i].ID {
			t.Errorf("deliveries are not newest first: %s before %s", all[i-1].ID, all[i].ID)
		}
	}
	count := func(f hookd.DeliveryFilter) int {
		t.Helper()
		ds, err := e.svc.Deliveries.FindDeliveries(e.ctx, s, f)
		if err != nil {
			t.Fatalf("FindDeliveries(%+v): %v", f, err)
		}
		return len(ds)
	}
	since, until := Start.Add(time.Minute), Start.Add(2*time.Minute)
	for _, c := range []struct {
		name string
		f    hookd.DeliveryFilter
		want int
	}{
		{"webhook", hookd.DeliveryFilter{WebhookID: a.ID}, 3},
		{"event", hookd.DeliveryFilter{EventID: events[1]}, 2},
		{"webhook and event", hookd.DeliveryFilter{WebhookID: b.ID, EventID: events[1]}, 1},
		{"status", hookd.DeliveryFilter{Status: hookd.DeliveryFailed}, 0},
		{"since until", hookd.DeliveryFilter{Since: &since, Until: &until}, 2},
		{"limit", hookd.DeliveryFilter{Page: hookd.Page{Limit: 4}}, 4},
		{"offset", hookd.DeliveryFilter{Page: hookd.Page{Offset: 5}}, 1},
		{"cursor", hookd.DeliveryFilter{Page: hookd.Page{Cursor: all[1].ID}}, 4},
	} {
		if got := count(c.f); got != c.want {
			t.Errorf("%s: %d deliveries, want %d", c.name, got, c.want)
		}
	}
	page, err := e.svc.Deliveries.FindDeliveries(e.ctx, s, hookd.DeliveryFilter{Page: hookd.Page{Limit: 2, Cursor: all[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{all[2].ID, all[3].ID}, []string{page[0].ID, page[1].ID}); diff != "" {
		t.Errorf("cursor page (-want +got):\n%s", diff)
	}
	_, _, err = e.svc.Deliveries.FindDeliveryByID(e.ctx, s, "dlv_missing")
	wantCode(t, err, hookd.ENOTFOUND, "dlv_missing")
}
