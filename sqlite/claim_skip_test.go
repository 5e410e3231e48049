package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd"
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
	var claiming time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		publishBatch(b, db, s, batch)
		b.StartTimer()
		start := time.Now()
		jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "bench", Limit: batch, Lease: time.Minute, Now: start})
		claiming += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(jobs) != batch {
			b.Fatalf("claimed %d, want %d", len(jobs), batch)
		}
		outs := make([]hookd.Outcome, len(jobs))
		for i, j := range jobs {
			outs[i] = hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "bench", Kind: hookd.OutcomeSucceeded,
				Attempt: &hookd.Attempt{At: time.Now(), StatusCode: 200, DurationMS: 3}}
		}
		if err := db.CompleteDeliveries(ctx, outs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(claiming.Microseconds())/float64(b.N), "claim-µs")
}
