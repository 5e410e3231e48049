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
}

// ReclaimQueue vacuums the queue table when enough rows were removed from
// it since it was last vacuumed (by any instance, or by autovacuum), as
// PostgreSQL's statistics count them, so that the space of removed rows is
// reused and the table stays the size of what is pending. SKIP_LOCKED: an
// instance whose vacuum finds another one under way on the table skips it
// rather than waiting. A role that does not own the table gets a warning
// from PostgreSQL and nothing is vacuumed (autovacuum still is).
func (db *DB) ReclaimQueue(ctx context.Context) (bool, error) {
	r := &db.reclaim
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil || r.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
		if err != nil {
			return false, fmt.Errorf("connect: %w", err)
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
