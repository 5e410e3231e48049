package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeTx is a transaction whose BEGIN (with its settings) travels in the
// pipeline of its first batch of statements, and whose COMMIT in the
// pipeline of its last: the delivery path's transactions take two round
// trips instead of four. pgx.Tx cannot do this, since its Begin and Commit
// wait for their answers.
type pipeTx struct {
	conn  *pgxpool.Conn
	begin []string // statements not yet sent that open the transaction
	sent  bool     // BEGIN has been sent: a failure must roll back
}

// pinPlansQuery leaves the planner one plan for the queue's statements,
// whatever the table's statistics say: an ordered walk of queue_due
// for the claim, and nested loops from the batch into a primary key for
// every statement that finds rows by id. What it turns off (sorts, bitmap
// and sequential scans, hash and merge joins) is what the planner picks
// when its statistics say the queue is nearly empty, from a table analyzed
// while the queue kept up or never analyzed at all; those plans read every
// pending row per batch, which in a backlog of 850,000 made each claim and
// completion take seconds to minutes (issue 16). Only the transactions of
// inPipeTx (and publish's) run with it: every statement in them is written
// for these plans, which TestHotPlansAfterGrowth checks. It is one
// statement, since a pipeline runs one statement a query.
//
// With the plans pinned, the statements also keep their generic plans
// (plan_cache_mode, which the session sets to force_custom_plan: see
// sessionQuery): the settings leave a generic plan made on an empty
// table the same shape as one made on a backlog, so planning each
// execution again only costs (GetCachedPlan held 14 % of the backends'
// samples in the latency benchmark; the server's CPU fell 3 and 11 % in
// two runs). TestHotPlansAfterGrowth makes the generic plans on
// the empty tables and checks them after the growth.
const pinPlansQuery = pinShapes + `, set_config('plan_cache_mode', 'force_generic_plan', true)`

// pinShapesQuery is pinPlansQuery with custom plans instead of the generic
// one: the same shapes, planned again at each execution on the tables as
// they are (whatever plan_cache_mode the session or role has). It is
// for the statements that run rarely and whose choice among indexes of the
// same shape depends on the tables' size: the retention's anti-join from
// old events into deliveries, whose generic plan made on an empty,
// never-analyzed deliveries table went into deliveries_event_type on the
// scope alone (reading each of a tenant's deliveries for every old event)
// instead of deliveries_event on the event.
const pinShapesQuery = pinShapes + `, set_config('plan_cache_mode', 'force_custom_plan', true)`

// pinShapes turns off what the pinned plans must not use.
const pinShapes = `SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
	set_config('enable_mergejoin', 'off', true)`

// asyncCommitQuery makes the transaction's commit return before its WAL
// reaches the disk. Only the claim uses it: a lease lost in a crash of the
// database only makes its delivery due again, which a crash of hookd does
// too (at least once), and the outcome that ends the lease commits
// synchronously, flushing the claim's WAL before its own.
const asyncCommitQuery = `SELECT set_config('synchronous_commit', 'off', true)`

// inPipeTx runs fn in a pipeTx that begins with the settings (set_config
// statements local to the transaction: pinPlansQuery, pinShapesQuery,
// asyncCommitQuery); it commits if fn's last call was commit, and rolls
// back if fn fails.
func (db *DB) inPipeTx(ctx context.Context, fn func(*pipeTx) error, settings ...string) (err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	t := &pipeTx{conn: conn, begin: append([]string{"BEGIN"}, settings...)}
	err = fn(t)
	if err != nil && t.sent {
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// The connection's state is unknown: the pool must not reuse it.
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}
	return err
}

// send sends batch, preceded by the transaction's BEGIN if not yet sent.
func (t *pipeTx) send(ctx context.Context, batch *pgx.Batch) error {
	if len(t.begin) > 0 {
		full := &pgx.Batch{}
		for _, q := range t.begin {
			full.Queue(q)
		}
		full.QueuedQueries = append(full.QueuedQueries, batch.QueuedQueries...)
		batch, t.begin, t.sent = full, nil, true
	}
	return t.conn.SendBatch(ctx, batch).Close()
}

// commit sends batch (which may be empty) followed by COMMIT, and reports
// whether the commit took: a transaction that failed answers COMMIT with
// ROLLBACK, which the batch's errors name first.
func (t *pipeTx) commit(ctx context.Context, batch *pgx.Batch) error {
	if batch == nil {
		batch = &pgx.Batch{}
	}
	var committed bool
	batch.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		committed = tag.String() == "COMMIT"
		return nil
	})
	if err := t.send(ctx, batch); err != nil {
		return err
	}
	if !committed {
		return errors.New("commit: the transaction was rolled back")
	}
	t.sent = false
	return nil
}

// queryRow runs sql, a statement that returns one row, in a pipeTx that
// begins with settings, and scans the row into dest: one round trip.
func (db *DB) queryRow(ctx context.Context, settings, sql string, args []any, dest ...any) error {
	return db.inPipeTx(ctx, func(tx *pipeTx) error {
		var batch pgx.Batch
		batch.Queue(sql, args...).QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
		return tx.commit(ctx, &batch)
	}, settings)
}
