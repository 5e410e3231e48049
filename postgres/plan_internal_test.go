package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
)

// hotStatement is a statement of the delivery path and the plan it is
// written for: the plan must name every index in use and none of avoid.
type hotStatement struct {
	name   string
	sql    string
	args   []any
	pinned bool // runs in inPipeTx
	// custom: pinned as the retention is, planned at each execution
	// (pinShapesQuery), not generically.
	custom bool
	// labelJoin: the plan may test a label against an event's few labels
	// (at most the labels one message carries) as a Join Filter.
	labelJoin bool
	use       []string
	avoid     []string
}

// settings is what the statement's transaction sets first.
func (st hotStatement) settings() string {
	if st.custom {
		return pinShapesQuery
	}
	return pinPlansQuery
}

// Sizes of the grown table: a slow phase's finished deliveries, then a
// backlog, of which one claim's batch is leased.
const (
	finishedRows = 20_000
	pendingRows  = 200_000
	leasedRows   = 1024
)

// TestHotPlansAfterGrowth checks the plans of the hot statements on a
// deliveries table that grew from empty to a backlog of 200,000 pending
// rows, in the two histories that led to the stall of issue 16: never
// analyzed, and analyzed while nothing was pending (a queue keeping up). In
// each, the statements were prepared and run six times on the empty table
// first, as pgx's statement cache does, so that a generic plan made then
// shows: the pinned statements keep theirs (see pinPlansQuery) unless the
// history's ANALYZE or VACUUM makes it again. Each must read through the
// indexes it is written for. HOOKD_SHOW_PLANS=1 logs the plans.
func TestHotPlansAfterGrowth(t *testing.T) {
	t.Parallel()
	for _, h := range []struct {
		name    string
		history growth
	}{
		{"never analyzed", neverAnalyzed},
		{"analyzed while nothing was pending", analyzedEmpty},
		{"vacuumed after the queue drained", vacuumedDrained},
		{"one webhook's backlog, analyzed", oneWebhookAnalyzed},
	} {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			conn, exec := planConn(t)
			// The history must be the test's, not autovacuum's.
			for _, table := range []string{"deliveries", "queue", "events"} {
				exec("ALTER TABLE " + table + " SET (autovacuum_enabled = false)")
			}

			hot := hotStatements()
			for i, st := range hot {
				exec(fmt.Sprintf("PREPARE hot%d AS %s", i, st.sql))
				for range 6 {
					// A pinned statement's generic plan is made here, on
					// the empty tables, and kept through the growth unless
					// the history's ANALYZE or VACUUM replaces it.
					exec("BEGIN")
					if st.pinned {
						exec(st.settings())
					}
					exec(executeSQL(i, len(st.args)), simple(st.args)...)
					exec("ROLLBACK")
				}
			}
			growQueue(t, conn, h.history)

			for i, st := range hot {
				exec("BEGIN")
				if st.pinned {
					exec(st.settings())
				}
				plan := explain(t, conn, executeSQL(i, len(st.args)), st.args)
				exec("ROLLBACK")
				if os.Getenv("HOOKD_SHOW_PLANS") != "" {
					t.Logf("%s:\n%s", st.name, plan)
				}
				// A join whose condition is tested as a filter reads one
				// side whole for each row of the other: the statement's
				// joins must all go into an index from the batch.
				avoid := st.avoid
				if !st.labelJoin {
					avoid = append(avoid, "Join Filter")
				}
				for _, bad := range avoid {
					if strings.Contains(plan, bad) {
						t.Errorf("%s: plan has %q:\n%s", st.name, bad, plan)
					}
				}
				for _, good := range st.use {
					if !strings.Contains(plan, good) {
						t.Errorf("%s: plan lacks %q:\n%s", st.name, good, plan)
					}
				}
			}
		})
	}
}

// TestStatsPlanSerial: the queue gauges' count, the one statement that
// reads the whole queue, stays in one process on a large queue.
func TestStatsPlanSerial(t *testing.T) {
	t.Parallel()
	conn, exec := planConn(t)
	growQueue(t, conn, analyzedEmpty)
	exec("ANALYZE queue")
	args := []any{time.Now().UTC()}
	for _, c := range []struct {
		settings string
		parallel bool
	}{{"", true}, {serialQuery, false}} {
		exec("BEGIN")
		if c.settings != "" {
			exec(c.settings)
		}
		plan := explain(t, conn, statsSQL, args)
		exec("ROLLBACK")
		if got := strings.Contains(plan, "Gather"); got != c.parallel {
			t.Errorf("with %q, the count's plan is parallel: %v, want %v:\n%s", c.settings, got, c.parallel, plan)
		}
	}
}

// openDB opens the store on the database at url, closed when the test ends.
func openDB(t *testing.T, url string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// planConn opens a fresh database and returns a connection to it, held
// until the test ends, and a helper that runs a statement on it.
func planConn(t *testing.T) (*pgxpool.Conn, func(sql string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t, pgtest.NewDatabase(t), Options{MaxConns: 1})
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	return conn, func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", strings.Fields(sql)[0], err)
		}
	}
}

// explain returns the plan (without costs) of the statement run with args
// in the simple protocol.
func explain(t *testing.T, conn *pgxpool.Conn, sql string, args []any) string {
	t.Helper()
	var lines []string
	rows, _ := conn.Query(context.Background(), "EXPLAIN (COSTS OFF) "+sql, simple(args)...)
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}

// executeSQL runs the prepared statement hot<i> with n parameters.
func executeSQL(i, n int) string {
	ps := make([]string, n)
	for j := range ps {
		ps[j] = fmt.Sprintf("$%d", j+1)
	}
	if n == 0 {
		return fmt.Sprintf("EXECUTE hot%d", i)
	}
	return fmt.Sprintf("EXECUTE hot%d(%s)", i, strings.Join(ps, ", "))
}

// simple sends args in the simple protocol: pgx writes them into the text
// as literals, since EXECUTE's arguments cannot be bound parameters.
func simple(args []any) []any { return append([]any{pgx.QueryExecModeSimpleProtocol}, args...) }

// leasedID is the id of the i-th leased delivery of growQueue.
func leasedID(i int) string { return fmt.Sprintf("dlv_p%09d", i) }

// hotStatements are the statements of publish, claim and complete, with
// arguments of full batches against growQueue's rows.
func hotStatements() []hotStatement {
	now := time.Now().UTC()
	ids, owners, statuses, whys := make([]string, leasedRows), make([]string, leasedRows), make([]string, leasedRows), make([]string, leasedRows)
	incs, codes := make([]int32, leasedRows), make([]*int32, leasedRows)
	nexts, errs, keeps := make([]*time.Time, leasedRows), make([]*string, leasedRows), make([]bool, leasedRows)
	for i := range ids {
		ids[i], owners[i], statuses[i], whys[i], incs[i] = leasedID(i), "w1", "succeeded", "webhook deleted", 1
	}
	evT, evM, evID := make([]string, 100), make([]string, 100), make([]string, 100)
	for i := range evID {
		evT[i], evM[i], evID[i] = "ten_1", "live", fmt.Sprintf("msg_p%09d", i)
	}
	evL := make([]string, 100)
	for i := range evL {
		evL[i] = "tag:x"
	}
	byKey := []string{"Seq Scan", "queue_due", "Hash Join", "Merge Join", "Bitmap"}
	cutoff := now.Add(-30 * 24 * time.Hour)
	return []hotStatement{
		{name: "claim", sql: claimSQL, args: []any{"w2", now.Add(time.Minute), now, 1024}, pinned: true,
			use:   []string{"Index Scan using queue_due on queue", "Tid Scan on queue", "Index Scan using deliveries_pkey on deliveries"},
			avoid: []string{"Seq Scan", "Sort", "Hash Join", "Merge Join", "Bitmap"}},
		{name: "fair claim", sql: fairClaimSQL, args: []any{"w2", now.Add(time.Minute), now, 1024, []string{"wh_3"}, 64, "", maxFairVisits}, pinned: true,
			use: []string{"Index Only Scan using queue_fair on queue", "Index Scan using queue_fair on queue",
				"Index Cond: ((ROW(webhook_id, next_attempt_at) >=", "Tid Scan on queue", "Index Scan using deliveries_pkey on deliveries"},
			avoid: []string{"Seq Scan", "Sort", "queue_due", "Hash Join", "Merge Join", "Bitmap"}},
		{name: "complete", sql: completeSQL, args: []any{ids, owners, statuses, incs, nexts, errs, codes, keeps, now}, pinned: true,
			use:   []string{"Index Scan using queue_pkey on queue", "Tid Scan on queue", "Index Scan using deliveries_pkey on deliveries"},
			avoid: byKey},
		{name: "cancel claimed", sql: cancelClaimedSQL, args: []any{ids, whys, now, "w1"}, pinned: true,
			use:   []string{"Index Scan using queue_pkey on queue", "Tid Scan on queue", "Index Scan using deliveries_pkey on deliveries"},
			avoid: byKey},
		{name: "cancel a webhook's pending", sql: cancelPendingSQL, args: []any{[]string{"wh_none"}, "webhook deleted", now}, pinned: true,
			use: []string{"Index Scan using queue_fair on queue", "Index Scan using deliveries_pkey on deliveries"}, avoid: byKey},
		{name: "queue stats sample", sql: statsSampleSQL, args: []any{now}, pinned: true,
			use: []string{"Sample Scan on queue", "Index Scan using queue_due on queue"}, avoid: []string{"Seq Scan", "Sort", "Bitmap", "using queue_fair"}},
		{name: "next due", sql: nextDueSQL, args: []any{now}, pinned: true,
			use: []string{"Index Scan using queue_due on queue"}, avoid: []string{"Seq Scan", "Sort", "Bitmap", "using queue_fair"}},
		{name: "prune deliveries", sql: pruneDeliveriesSQL, args: []any{cutoff, pruneChunk, hookd.FirstIDAt("dlv", cutoff)}, pinned: true, custom: true,
			use: []string{"Index Scan using deliveries_pkey on deliveries"}, avoid: []string{"Seq Scan"}},
		{name: "prune events", sql: pruneEventsSQL, args: []any{cutoff, pruneChunk}, pinned: true, custom: true, labelJoin: true,
			use:   []string{"Index Scan using events_created on events", "using deliveries_event on deliveries"},
			avoid: []string{"Seq Scan", "deliveries_event_type", "deliveries_scope"}},
		{name: "claim's events", sql: claimEventsSQL, args: []any{evT, evM, evID}, pinned: true,
			use: []string{"Index Scan using events_pkey on events"}, avoid: []string{"Seq Scan on events"}},
		{name: "publish's event lookup", sql: lookupEventsSQL, args: []any{evT, evM, evID, evT, evM, evID}, pinned: true,
			// The keys through events_idempotency_key on all three columns,
			// not the scope's prefix of events_pkey with the key as a
			// filter, which one tenant's many events would make long.
			use: []string{"Index Scan using events_pkey on events", "Index Scan using events_idempotency_key on events",
				"(idempotency_key = (r_1.k)::text)"},
			avoid: []string{"Seq Scan on events", "Filter: (idempotency_key"}},
	}
}

// growth is a history of the tables before the backlog comes.
type growth int

const (
	neverAnalyzed growth = iota
	// analyzedEmpty: ANALYZE ran while the queue was empty, before it had
	// a page.
	analyzedEmpty
	// vacuumedDrained: a backlog as large as the one to come drained, and
	// VACUUM and ANALYZE ran while its pages stood empty. They count no
	// row in those pages, and the backlog to come fills them again
	// without adding pages: the planner, which scales the rows counted
	// per page by the pages there are now, takes the queue for empty
	// whatever it holds. Every queue stalled this way once it drained.
	vacuumedDrained
	// oneWebhookAnalyzed: the backlog is nearly all one webhook's (wh_0)
	// and ANALYZE saw it so, as with a tenant's backlog to a slow
	// receiver: a claim of another webhook's few rows that walked
	// queue_due in due order, testing each row's webhook, read the whole
	// backlog (the neighbours scenario on PostgreSQL, 200 ms a claim).
	oneWebhookAnalyzed
)

// growQueue fills the empty tables as a queue growing under load does,
// after history: a slow phase's finished deliveries, then a backlog of
// pending ones, leasedRows of them claimed by "w1", ten deliveries an event.
func growQueue(t *testing.T, conn *pgxpool.Conn, history growth) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{
		fmt.Sprintf(`INSERT INTO events (tenant_id, mode, id, type, data, created_at, idempotency_key, body_hash, deliveries)
			SELECT 'ten_1', 'live', 'msg_f' || lpad(i::text, 9, '0'), 'order.created', '{}', now(), 'key_f' || i, '\x00', 10
			FROM generate_series(0, %d) i`, finishedRows/10-1),
		fmt.Sprintf(`INSERT INTO deliveries (id, tenant_id, mode, event_id, webhook_id, event_type, status, attempts,
				next_attempt_at, created_at, updated_at)
			SELECT 'dlv_f' || lpad(i::text, 9, '0'), 'ten_1', 'live', 'msg_f' || lpad((i / 10)::text, 9, '0'), 'wh_' || i %% 10,
				'order.created', 'succeeded', 1, NULL, now(), now()
			FROM generate_series(0, %d) i`, finishedRows-1),
	}
	switch history {
	case analyzedEmpty:
		stmts = append(stmts, "ANALYZE deliveries", "ANALYZE queue", "ANALYZE events")
	case vacuumedDrained:
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
				SELECT 'dlv_d' || lpad(i::text, 9, '0'), 'ten_1', 'wh_' || i %% 10, now()
				FROM generate_series(0, %d) i`, pendingRows-1),
			"DELETE FROM queue",
			"VACUUM (TRUNCATE false) queue", "ANALYZE deliveries", "ANALYZE queue", "ANALYZE events")
	}
	stmts = append(stmts,
		fmt.Sprintf(`INSERT INTO events (tenant_id, mode, id, type, data, created_at, idempotency_key, body_hash, deliveries)
			SELECT 'ten_1', 'live', 'msg_p' || lpad(i::text, 9, '0'), 'order.created', '{}', now(), 'key_p' || i, '\x00', 10
			FROM generate_series(0, %d) i`, pendingRows/10-1),
		fmt.Sprintf(`INSERT INTO deliveries (id, tenant_id, mode, event_id, webhook_id, event_type, status,
				next_attempt_at, created_at, updated_at)
			SELECT 'dlv_p' || lpad(i::text, 9, '0'), 'ten_1', 'live', 'msg_p' || lpad((i / 10)::text, 9, '0'), 'wh_' || i %% 10,
				'order.created', 'pending', now(), now(), now()
			FROM generate_series(0, %[1]d) i`, pendingRows-1),
		fmt.Sprintf(`INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at, lease_owner, lease_until)
			SELECT 'dlv_p' || lpad(i::text, 9, '0'), 'ten_1', 'wh_' || i %% 10,
				now() - CASE WHEN i < %[2]d THEN interval '1 second' ELSE interval '0' END,
				CASE WHEN i < %[2]d THEN 'w1' END, CASE WHEN i < %[2]d THEN now() + interval '1 minute' END
			FROM generate_series(0, %[1]d) i`, pendingRows-1, leasedRows),
	)
	if history == oneWebhookAnalyzed {
		stmts = append(stmts, `UPDATE queue SET webhook_id = 'wh_0' WHERE substr(delivery_id, 6)::int % 100 >= 10`, "ANALYZE queue")
	}
	for _, sql := range stmts {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("grow the queue: %v\n%s", err, sql)
		}
	}
}
