package postgres

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

// A queue of hundreds of thousands of rows is not counted whole: its
// gauges are estimated from a sample of its pages, within a few percent,
// and its oldest due time is read exactly. Once most of it is gone, the
// table keeps its pages but the few rows left are counted exactly again.
func TestStatsEstimatesALargeQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, pgtest.NewDatabase(t), Options{MaxConns: 4})
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Two of three rows due (the first of them leased, the next the oldest
	// due, two hours ago), one of three due in an hour.
	const rows = 600_000
	_, err := db.pool.Exec(ctx, `INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at, lease_owner, lease_until)
		SELECT 'dlv_' || lpad(i::text, 7, '0'), 'ten', 'wh_' || (i % 10),
			CASE WHEN i % 3 = 0 THEN $1::timestamptz + interval '1 hour'
				ELSE $1::timestamptz - interval '2 hours' + i * interval '1 millisecond' END,
			CASE WHEN i = 1 THEN 'someone' END, CASE WHEN i = 1 THEN $1::timestamptz + interval '1 minute' END
		FROM generate_series(1, $2::int) AS i`, now, rows)
	if err != nil {
		t.Fatal(err)
	}
	// The sample reads a small share of the table's pages.
	var sampled, due, leased int
	var percent float64
	var oldest *time.Time
	if err := db.queryRow(ctx, pinPlansQuery, statsSampleSQL, []any{now}, &sampled, &due, &leased, &percent, &oldest); err != nil {
		t.Fatal(err)
	}
	if percent >= 20 || sampled >= rows/5 {
		t.Fatalf("the sample read %.1f %% of the pages, %d rows of %d: want a small share", percent, sampled, rows)
	}
	near := func(name string, got, want int) {
		t.Helper()
		if math.Abs(float64(got-want)) > 0.1*float64(want) {
			t.Errorf("%s %d, want %d within 10 %%", name, got, want)
		}
	}
	st, err := db.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	near("pending", st.Pending, rows)
	near("due", st.Due, rows*2/3)
	if want := 2*time.Hour - 2*time.Millisecond; st.OldestDueAge != want {
		t.Errorf("oldest due age %v, want %v (the row due first is leased)", st.OldestDueAge, want)
	}

	if _, err := db.pool.Exec(ctx, `DELETE FROM queue WHERE delivery_id > 'dlv_0005000'`); err != nil {
		t.Fatal(err)
	}
	st, err = db.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 1..5000: 1,666 due in an hour, 3,334 due now of which one is leased.
	if st.Pending != 5000 || st.Due != 3333 || st.Leased != 1 {
		t.Errorf("after the delete: pending %d, due %d, leased %d; want exactly 5000, 3333, 1", st.Pending, st.Due, st.Leased)
	}
}
