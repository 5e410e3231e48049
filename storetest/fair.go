package storetest

import (
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

var fairTests = []test{
	{"Queue/FairClaimTakesFreshRows", testFairClaimTakesFreshRows},
	{"Queue/FairClaimRoundRobin", testFairClaimRoundRobin},
	{"Queue/FairClaimSkip", testFairClaimSkip},
	{"Queue/FairConcurrentClaimers", func(e *env) { concurrentClaimers(e, 3) }},
	{"Queue/FairLeaseExpiry", testFairLeaseExpiry},
}

// A fair claim leaves a delivery that another claim holds until its lease
// runs out, then takes it.
func testFairLeaseExpiry(e *env) {
	t := e.t
	s := e.scope("acme")
	e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	held := e.fairClaim("worker-1", 10, 4)
	if len(held) != 1 {
		t.Fatalf("the first fair claim took %d jobs, want 1", len(held))
	}
	e.clock.Advance(59 * time.Second)
	if jobs := e.fairClaim("worker-2", 10, 4); len(jobs) != 0 {
		t.Fatalf("a fair claim took %d jobs that another claim held, 1 s before its lease ran out", len(jobs))
	}
	e.clock.Advance(2 * time.Second)
	jobs := e.fairClaim("worker-2", 10, 4)
	if len(jobs) != 1 || jobs[0].Delivery.ID != held[0].Delivery.ID {
		t.Fatalf("after the lease ran out a fair claim took %d jobs, want the abandoned one", len(jobs))
	}
}

// fairClaim is a fair claim of up to limit deliveries, perWebhook of each.
func (e *env) fairClaim(owner string, limit, perWebhook int, skip ...string) []*hookd.Job {
	e.t.Helper()
	jobs, err := e.store.ClaimDeliveries(e.ctx, hookd.ClaimRequest{Owner: owner, Limit: limit, Lease: time.Minute,
		Now: e.clock.Now(), PerWebhook: perWebhook, Skip: skip})
	if err != nil {
		e.t.Fatalf("ClaimDeliveries: %v", err)
	}
	return jobs
}

// backlog publishes n events to s, one request each, in one batch.
func (e *env) backlog(s hookd.Scope, n int) {
	e.t.Helper()
	reqs := make([]hookd.PublishRequest, n)
	for i := range reqs {
		reqs[i] = hookd.PublishRequest{Scope: s, Event: e.event("a.one", fmt.Sprintf(`{"i":%d}`, i))}
	}
	e.publish(reqs...)
}

// perWebhook counts jobs by webhook id.
func perWebhook(jobs []*hookd.Job) map[string]int {
	n := map[string]int{}
	for _, j := range jobs {
		n[j.Delivery.WebhookID]++
	}
	return n
}

// A webhook's backlog due long before another tenant's fresh delivery does
// not keep that delivery out of a claim: the claim takes at most
// PerWebhook of the backlog. (A claim in due order returns the backlog.)
func testFairClaimTakesFreshRows(e *env) {
	t := e.t
	big := e.scope("big")
	bw := e.webhook(big, nil)
	e.backlog(big, 200)
	e.clock.Advance(time.Hour)
	small := e.scope("small")
	sw := e.webhook(small, nil)
	fresh := e.publishOne(small, e.event("a.one", `{"fresh":true}`))

	jobs := e.fairClaim("w", 10, 4)
	n := perWebhook(jobs)
	if n[sw.ID] != 1 {
		t.Fatalf("a fair claim of 10 took %d of the fresh delivery (event %s) behind a backlog of 200; want it (jobs per webhook: %v)",
			n[sw.ID], fresh.Event.ID, n)
	}
	if n[bw.ID] != 4 {
		t.Errorf("a fair claim took %d of the backlog's webhook, want its bound of 4", n[bw.ID])
	}
	// The backlog's oldest come first.
	for _, j := range jobs {
		if j.Delivery.WebhookID == bw.ID && j.Delivery.CreatedAt.After(Start.Add(time.Minute)) {
			t.Errorf("claimed a backlog delivery created at %s, not among the oldest", j.Delivery.CreatedAt)
		}
	}
	// A lone webhook still gets its bound, claim after claim.
	for i := range 3 {
		if got := perWebhook(e.fairClaim("w", 10, 4))[bw.ID]; got != 4 {
			t.Fatalf("claim %d after: %d of the backlog, want 4", i+2, got)
		}
	}
}

// Webhooks with due rows take turns: over claims smaller than what all of
// them have, each gets the same share, whatever its backlog.
func testFairClaimRoundRobin(e *env) {
	t := e.t
	var hooks []string
	for i, size := range []int{60, 6, 30} {
		s := e.scope(fmt.Sprintf("tenant%d", i))
		hooks = append(hooks, e.webhook(s, nil).ID)
		e.backlog(s, size)
	}
	total := map[string]int{}
	for c := range 3 {
		jobs := e.fairClaim("w", 4, 2)
		if len(jobs) != 4 {
			t.Fatalf("claim %d took %d, want 4", c+1, len(jobs))
		}
		for id, k := range perWebhook(jobs) {
			if k > 2 {
				t.Errorf("claim %d took %d of webhook %s, above its bound of 2", c+1, k, id)
			}
			total[id] += k
		}
	}
	for _, id := range hooks {
		if total[id] != 4 {
			t.Errorf("three claims of 4, 2 a webhook, took %v; want 4 of each of the three webhooks", total)
			break
		}
	}
}

// A webhook the claimer skips gives nothing; the others still do.
func testFairClaimSkip(e *env) {
	t := e.t
	s := e.scope("acme")
	a := e.webhook(s, nil)
	b := e.webhook(s, nil)
	e.backlog(s, 5)
	n := perWebhook(e.fairClaim("w", 100, 100, a.ID))
	if n[a.ID] != 0 || n[b.ID] != 5 {
		t.Errorf("claim skipping %s took %v; want the other webhook's 5 only", a.ID, n)
	}
	if n := perWebhook(e.fairClaim("w", 100, 100)); n[a.ID] != 5 {
		t.Errorf("claim not skipping took %v; want the 5 of %s", n, a.ID)
	}
}
