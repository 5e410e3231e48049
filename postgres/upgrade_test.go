package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/storetest"
)

// TestUpgradeFromKeptDatabase loads a database made by an earlier release
// (kept as pg_dump --inserts output) and opens it: the migrations since then
// apply, and everything it held still works.
func TestUpgradeFromKeptDatabase(t *testing.T) {
	t.Parallel()
	for _, f := range []struct {
		dump string
		storetest.UpgradeFixture
	}{
		// 7f2a6fa: the last commit with migration 00001 alone.
		{"upgrade-7f2a6fa.sql", storetest.UpgradeFixture{
			LiveKey: "sk_live_S1oIqsnfOCXX0iZJmGDtG7AVopDrqTah507G3fGA8rU",
			TestKey: "sk_test_0Ki5BZFIibqKuHrONouvJvKw4ghch2JH8JYd8tJl7FQ",
		}},
	} {
		t.Run(f.dump, func(t *testing.T) {
			dump, err := os.ReadFile(filepath.Join("testdata", f.dump))
			if err != nil {
				t.Fatal(err)
			}
			url := pgtest.NewDatabase(t)
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			// The simple protocol runs the whole script as one request.
			if _, err := conn.PgConn().Exec(ctx, string(dump)).ReadAll(); err != nil {
				t.Fatalf("load %s: %v", f.dump, err)
			}
			conn.Close(ctx)
			storetest.CheckUpgrade(t, open(t, url, nil), f.UpgradeFixture)
		})
	}
}

// A delivery leased by an instance of a release before migration 00015,
// whose claim moved next_attempt_at to the lease's expiry, is neither
// claimed nor reported due by a newer instance while that lease holds, and
// is claimed once it runs out: old and new instances can share one queue
// during a rolling upgrade (docs/operations.md).
func TestLeaseOfAnEarlierReleaseDuringUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	db := open(t, url, func() time.Time { return now })
	s, _ := setup(t, db)
	res := publish(t, db, s, 1)
	expiry := now.Add(time.Minute)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE queue SET lease_owner = 'old.1', lease_until = $1, next_attempt_at = $1`, expiry); err != nil {
		t.Fatal(err)
	}
	claim := func(at time.Time, perWebhook int) []*hookd.Job {
		t.Helper()
		jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "new.1", Limit: 10, Lease: time.Minute, Now: at, PerWebhook: perWebhook})
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	for _, perWebhook := range []int{0, 128} {
		if jobs := claim(now.Add(30*time.Second), perWebhook); len(jobs) != 0 {
			t.Fatalf("claim (%d a webhook) took %d deliveries under an earlier release's live lease", perWebhook, len(jobs))
		}
	}
	if next, err := db.NextDueAt(ctx); err != nil || next == nil || !next.Equal(expiry) {
		t.Errorf("NextDueAt = %v, %v; want the lease's expiry %v", next, err, expiry)
	}
	jobs := claim(expiry.Add(time.Second), 128)
	if len(jobs) != 1 || jobs[0].Event.ID != res[0].Event.ID {
		t.Fatalf("after the lease ran out, claimed %d deliveries, want the one of event %s", len(jobs), res[0].Event.ID)
	}
}
