package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/postgres/pgtest"
)

// Deliveries come and go through the queue table; with ReclaimQueue called
// as Maintenance does, the space of those gone is reused, and the table
// stays the size one round of them needed, not the sum of all rounds. A
// queue with few rows removed is left alone.
func TestReclaimQueueKeepsItsSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := open(t, url, time.Now)
	s, w := setup(t, db)
	probe, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close(ctx)
	pages := func() int64 {
		t.Helper()
		var n int64
		if err := probe.QueryRow(ctx, `SELECT pg_relation_size('queue') / current_setting('block_size')::int`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if did, err := db.ReclaimQueue(ctx); err != nil || did {
		t.Fatalf("ReclaimQueue on an untouched queue: %v, %v; want nothing to do", did, err)
	}

	const round = 4000
	var first int64
	for r := range 2 {
		churn(t, db, s, w, round)
		reclaimed(t, db)
		if r == 0 {
			first = pages()
			continue
		}
		if got := pages(); got > first+first/4 {
			t.Fatalf("after %d rounds of %d deliveries the queue table has %d pages, after the first %d: removed rows' space not reused",
				r+1, round, got, first)
		}
	}
	var vacuums int64
	if err := probe.QueryRow(ctx, `SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'queue'`).Scan(&vacuums); err != nil {
		t.Fatal(err)
	}
	if vacuums < 2 {
		t.Errorf("queue vacuumed %d times, want once a round (2)", vacuums)
	}
}

// churn publishes n deliveries to w, claims them and completes them, which
// removes their queue rows.
func churn(t *testing.T, db *postgres.DB, s hookd.Scope, w *hookd.Webhook, n int) {
	t.Helper()
	ctx := context.Background()
	publish(t, db, s, n)
	for left := n; left > 0; {
		jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "churn", Limit: 500, Lease: time.Minute, Now: time.Now(), PerWebhook: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			t.Fatalf("claimed nothing with %d of %d left", left, n)
		}
		outs := make([]hookd.Outcome, 0, len(jobs))
		for _, j := range jobs {
			outs = append(outs, hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "churn", Kind: hookd.OutcomeSucceeded,
				Attempt: &hookd.Attempt{At: time.Now(), StatusCode: 200, Duration: time.Millisecond}})
		}
		if err := db.CompleteDeliveries(ctx, outs); err != nil {
			t.Fatal(err)
		}
		left -= len(jobs)
	}
}

// reclaimed calls ReclaimQueue until it reclaims: PostgreSQL's statistics
// count removed rows a second or so after their transactions.
func reclaimed(t *testing.T, db *postgres.DB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		did, err := db.ReclaimQueue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if did {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("ReclaimQueue did nothing for 20 s after thousands of queue rows were removed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
