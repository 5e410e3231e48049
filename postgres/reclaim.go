package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

var _ hookd.QueueReclaimer = (*DB)(nil)

// Reclaiming starts when the queue table holds at least this many removed
// row versions, plus a tenth of its live rows: each vacuum reads the pages
// that changed since the last one, so a large backlog is vacuumed less
// often than a queue that holds a few hundred rows.
const (
	reclaimMinDead   = 1000
	reclaimLiveShare = 10
)

// reclaimer holds the connection the queue's vacuums run on, apart from
// the pool: a vacuum of a large queue takes seconds, which a pool of four
// connections cannot lend.
type reclaimer struct {
	mu   sync.Mutex
	conn *pgx.Conn
	// denied: hookd's role may not vacuum the table (it neither owns it nor
	// the database, nor is a superuser). Said once in the log; autovacuum
	// is left to do it.
	denied bool
}

// ReclaimQueue vacuums the queue table when enough rows were removed from
// it since it was last vacuumed (by any instance, or by autovacuum), as
// PostgreSQL's statistics count them, so that the space of removed rows is
// reused and the table stays the size of what is pending. SKIP_LOCKED: an
// instance whose vacuum finds another one under way on the table skips it
// rather than waiting. A role that may not vacuum the table (PostgreSQL
// would only warn, every time) is found on the first call, logged once, and
// never vacuums: autovacuum still does.
func (db *DB) ReclaimQueue(ctx context.Context) (bool, error) {
	r := &db.reclaim
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.denied {
		return false, nil
	}
	if r.conn == nil || r.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
		if err != nil {
			return false, fmt.Errorf("connect: %w", err)
		}
		var may bool
		err = conn.QueryRow(ctx, `SELECT pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE') OR r.rolsuper
			FROM pg_class c, pg_database d, pg_roles r
			WHERE c.oid = 'queue'::regclass AND d.datname = current_database() AND r.rolname = current_user`).Scan(&may)
		if err != nil {
			conn.Close(context.Background())
			return false, fmt.Errorf("may vacuum queue: %w", err)
		}
		if !may {
			conn.Close(context.Background())
			r.denied = true
			db.logger.Warn("hookd's database role neither owns the queue table nor the database: the queue's removed rows are left to autovacuum (docs/operations.md, \"The queue table's size\")")
			return false, nil
		}
		r.conn = conn
	}
	var dead, live int64
	err := r.conn.QueryRow(ctx, `SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relid = 'queue'::regclass`).
		Scan(&dead, &live)
	if err == nil && dead < reclaimMinDead+live/reclaimLiveShare {
		return false, nil
	}
	if err == nil {
		_, err = r.conn.Exec(ctx, "VACUUM (SKIP_LOCKED, TRUNCATE false) queue")
	}
	if err != nil {
		r.close()
		return false, fmt.Errorf("vacuum queue: %w", err)
	}
	return true, nil
}

func (r *reclaimer) close() {
	if r.conn != nil {
		r.conn.Close(context.Background())
		r.conn = nil
	}
}
