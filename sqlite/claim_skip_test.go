package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/storetest"
)

// BenchmarkClaimWithInflight is the dispatcher under load: 1,000
// deliveries stay leased (the oldest due rows), and each iteration claims
// 64 more and completes them as successes. A claim must not pay for the
// leased rows it cannot take. The outcome's commit (an fsync) dominates
// ns/op, so the claim's own time is reported too, as claim-µs.
func BenchmarkClaimWithInflight(b *testing.B) {
	const inflight, batch = 1000, 64
	db, s := benchStore(b, 1)
	ctx := context.Background()
	publishBatch(b, db, s, inflight)
	held, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "held", Limit: inflight, Lease: time.Hour, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if len(held) != inflight {
		b.Fatalf("leased %d, want %d", len(held), inflight)
	}
	b.ResetTimer()
	claiming := claimCompleteLoop(b, db, s, batch)
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(claiming.Microseconds())/float64(b.N), "claim-µs")
}

// skipStore is a store on a test clock with one webhook that every event
// goes to: n events make n deliveries.
type skipStore struct {
	t     *testing.T
	db    *sqlite.DB
	s     hookd.Scope
	clock *storetest.Clock
}

func newSkipStore(t *testing.T) *skipStore {
	t.Helper()
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	db := open(t, filepath.Join(t.TempDir(), "hookd.db"), clock.Now)
	ctx := context.Background()
	ten, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	if err := services(db).Webhooks.CreateWebhook(ctx, s, &hookd.Webhook{URL: "https://r.example/", Enabled: true, TLSVerify: true}); err != nil {
		t.Fatal(err)
	}
	return &skipStore{t: t, db: db, s: s, clock: clock}
}

func (st *skipStore) publish(n int) {
	st.t.Helper()
	reqs := make([]hookd.PublishRequest, n)
	for i := range reqs {
		reqs[i] = hookd.PublishRequest{Scope: st.s, Event: &hookd.Event{Type: "a.b", Data: []byte(`{}`)}}
	}
	res, err := st.db.PublishEvents(context.Background(), reqs)
	if err != nil {
		st.t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.Deliveries != 1 {
			st.t.Fatalf("publish: %+v", r)
		}
	}
}

// claim claims up to limit deliveries for owner now, leased for lease,
// and returns their ids in claim order.
func (st *skipStore) claim(owner string, limit int, lease time.Duration) []string {
	st.t.Helper()
	jobs, err := st.db.ClaimDeliveries(context.Background(), hookd.ClaimRequest{Owner: owner, Limit: limit, Lease: lease, Now: st.clock.Now()})
	if err != nil {
		st.t.Fatal(err)
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.Delivery.ID
	}
	return ids
}

func (st *skipStore) complete(owner string, kind hookd.OutcomeKind, retryAt time.Time, ids ...string) {
	st.t.Helper()
	outs := make([]hookd.Outcome, len(ids))
	for i, id := range ids {
		outs[i] = hookd.Outcome{DeliveryID: id, Owner: owner, Kind: kind, RetryAt: retryAt}
		if kind != hookd.OutcomeReleased {
			outs[i].Attempt = &hookd.Attempt{At: st.clock.Now(), StatusCode: 500}
			if kind == hookd.OutcomeSucceeded {
				outs[i].Attempt.StatusCode = 200
			}
		}
	}
	if err := st.db.CompleteDeliveries(context.Background(), outs); err != nil {
		st.t.Fatal(err)
	}
}

// TestClaimSkipsLeased holds the oldest deliveries leased while others are
// published, claimed a few at a time and completed: every other delivery
// is claimed exactly once, and no held one is handed out.
func TestClaimSkipsLeased(t *testing.T) {
	t.Parallel()
	st := newSkipStore(t)
	st.publish(50)
	held := st.claim("held", 30, time.Hour)
	if len(held) != 30 {
		t.Fatalf("held %d, want 30", len(held))
	}
	claimed := map[string]int{}
	for _, id := range held {
		claimed[id] = -1
	}
	total := 50
	for round := 0; ; round++ {
		if round < 40 {
			st.publish(7)
			total += 7
		}
		st.clock.Advance(10 * time.Millisecond) // 40 rounds stay within a skip mark's life
		ids := st.claim("w", 5, time.Hour)
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			claimed[id]++
		}
		st.complete("w", hookd.OutcomeSucceeded, time.Time{}, ids...)
	}
	var bad []string
	for id, n := range claimed {
		if n != -1 && n != 1 {
			bad = append(bad, fmt.Sprintf("%s claimed %d times", id, n+1))
		}
		if n == 0 {
			bad = append(bad, id+" held and claimed again")
		}
	}
	if len(bad) > 0 || len(claimed) != total {
		t.Errorf("claimed %d distinct of %d deliveries; %v", len(claimed), total, bad)
	}
}

// TestClaimAfterRequeue makes rows of the skipped prefix claimable again
// without moving the clock past the skip mark's life: the next claim must
// find them.
func TestClaimAfterRequeue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newSkipStore(t)
	st.publish(10)
	a := st.claim("a", 10, time.Hour)
	st.publish(5)
	if got := st.claim("b", 2, time.Hour); len(got) != 2 {
		t.Fatalf("b claimed %v, want 2 of the new deliveries", got)
	}
	want := func(what string, got []string, ids ...string) {
		t.Helper()
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("claim after %s (-want +got):\n%s", what, diff)
		}
	}

	st.complete("a", hookd.OutcomeReleased, st.clock.Now(), a[3])
	want("a release due now", st.claim("b", 1, time.Hour), a[3])

	// The last claim walked from the start up to a[3]: a[1] is before it.
	if _, err := services(st.db).Deliveries.RetryDelivery(ctx, st.s, a[1]); err != nil {
		t.Fatal(err)
	}
	want("a manual retry", st.claim("b", 1, time.Hour), a[1])

	// A failed delivery recovered through its webhook is due now, before
	// the mark, and is the next claim's.
	st.complete("a", hookd.OutcomeFailed, time.Time{}, a[2])
	st.claim("b", 1, time.Hour) // moves the mark past a[2]'s key again
	whs, _, err := services(st.db).Webhooks.FindWebhooks(ctx, st.s, hookd.WebhookFilter{})
	if err != nil || len(whs) != 1 {
		t.Fatalf("FindWebhooks = %v, %v", whs, err)
	}
	until := st.clock.Now().Add(time.Millisecond) // the clock stands still: include this millisecond
	if n, err := services(st.db).Deliveries.RecoverWebhook(ctx, st.s, whs[0].ID, st.clock.Now().Add(-time.Hour), &until); err != nil || n.Total() != 1 {
		t.Fatalf("RecoverWebhook = %d, %v; want 1", n, err)
	}
	want("a recovery", st.claim("b", 1, time.Hour), a[2])

	st.complete("a", hookd.OutcomeRetry, st.clock.Now().Add(500*time.Millisecond), a[5])
	st.clock.Advance(500 * time.Millisecond)
	got := st.claim("b", 10, time.Hour)
	slices.Sort(got)
	if !slices.Contains(got, a[5]) || len(got) != 3 {
		t.Errorf("claim after a retry came due = %v, want %s and the 2 unclaimed new deliveries", got, a[5])
	}
}

// TestClaimExpiredLeaseInPrefix lets leases in the skipped prefix run out:
// their deliveries are claimable at once, before or after the skip mark's
// life ends.
func TestClaimExpiredLeaseInPrefix(t *testing.T) {
	t.Parallel()
	for _, lease := range []time.Duration{300 * time.Millisecond, 2 * time.Second} {
		t.Run(lease.String(), func(t *testing.T) {
			t.Parallel()
			st := newSkipStore(t)
			st.publish(10)
			a := st.claim("a", 10, lease)
			st.publish(5)
			if got := st.claim("b", 2, time.Hour); len(got) != 2 {
				t.Fatalf("b claimed %v, want 2 of the new deliveries", got)
			}
			st.clock.Advance(lease)
			if got := st.claim("b", 20, time.Hour); len(got) != 3 {
				t.Fatalf("b claimed %v before the leases ran out, want the 3 unclaimed new deliveries", got)
			}
			st.clock.Advance(time.Millisecond)
			got := st.claim("b", 20, time.Hour)
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("claim after a's leases ran out (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClaimFindsRowsPublishedBehindMark publishes a delivery due before the
// skip mark (its publisher's clock is behind the claimer's, as when a
// publish waited for the writer): the next claim finds it.
func TestClaimFindsRowsPublishedBehindMark(t *testing.T) {
	t.Parallel()
	st := newSkipStore(t)
	st.publish(3)
	st.claim("a", 3, time.Hour)
	if got := st.claim("b", 1, time.Hour); len(got) != 0 {
		t.Fatalf("b claimed %v, want nothing", got)
	}
	st.clock.Advance(-100 * time.Millisecond)
	st.publish(1)
	st.clock.Advance(100 * time.Millisecond)
	if got := st.claim("b", 1, time.Hour); len(got) != 1 {
		t.Errorf("b claimed %v, want the delivery published behind the skip mark", got)
	}
}
