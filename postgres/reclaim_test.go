package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	neturl "net/url"
	"strings"
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

// A role that may not vacuum the queue table (PostgreSQL would answer each
// VACUUM with a warning and do nothing) never vacuums: ReclaimQueue says so
// once in the log and reports nothing done, however many rows are dead.
func TestReclaimQueueByARoleThatMayNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	owner := open(t, url, time.Now)
	s, w := setup(t, owner)
	churn(t, owner, s, w, 2000)

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	role := "nv_" + strings.TrimPrefix(u.Path, "/") // roles are the server's: one per test database
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := admin.Exec(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	// Wait until the statistics count the removed rows, so that the owner
	// would vacuum now.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var dead int64
		if err := admin.QueryRow(ctx, `SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'queue'`).Scan(&dead); err != nil {
			t.Fatal(err)
		}
		if dead >= 1500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the statistics count %d dead queue rows 30 s after 2,000 were removed", dead)
		}
	}
	u.User = neturl.User(role)
	var logged bytes.Buffer
	db, err := postgres.Open(ctx, u.String(), postgres.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 3 {
		if did, err := db.ReclaimQueue(ctx); err != nil || did {
			t.Fatalf("ReclaimQueue by a role that may not vacuum: %v, %v; want nothing done", did, err)
		}
	}
	if n := strings.Count(logged.String(), "neither owns the queue table"); n != 1 {
		t.Errorf("logged the missing right %d times, want once:\n%s", n, logged.String())
	}
}
