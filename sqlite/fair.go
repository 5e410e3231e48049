package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// The fair claim (ClaimRequest.PerWebhook > 0) visits the webhooks that
// have pending deliveries in webhook id order, going on after the last one
// the previous claim visited and wrapping around, and leases at most
// PerWebhook due deliveries of each, oldest due first. The partial index
// deliveries_fair (webhook_id, next_attempt_at) serves both steps: the
// next webhook after an id is its next key, and a webhook's oldest due
// rows its first entries. A claim reads, of each webhook it visits, its
// rows leased in memory (at most what this process holds of it) and the
// rows it takes: never a backlog it does not take.

// maxFairVisits bounds the webhooks one claim visits, so that many
// webhooks with pending but not yet due deliveries (retries) cost a claim
// a bounded walk; the next claim goes on where this one stopped.
const maxFairVisits = 4096

const (
	// nextHookSQL is the first webhook with pending rows after an id, or
	// the first of all when none is after it (the walk wraps around).
	nextHookSQL = `SELECT coalesce((SELECT webhook_id FROM deliveries WHERE status = 'pending' AND webhook_id > ? ORDER BY webhook_id LIMIT 1),
		(SELECT webhook_id FROM deliveries WHERE status = 'pending' AND webhook_id > '' ORDER BY webhook_id LIMIT 1))`
	// hookDueSQL walks one webhook's due rows, oldest first.
	hookDueSQL = `SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' AND webhook_id = ? AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id`
)

// takeFair is takeDue for a fair claim: it leases up to r.PerWebhook due
// rows of each webhook in turn, until r.Limit.
func (db *DB) takeFair(ctx context.Context, tx *sql.Tx, r hookd.ClaimRequest, now time.Time, sc claimScan) ([]int64, error) {
	nowMS, until := ms(now), ms(now.Add(r.Lease))
	next, err := db.stmt(ctx, tx, nextHookSQL)
	if err != nil {
		return nil, err
	}
	due, err := db.stmt(ctx, tx, hookDueSQL)
	if err != nil {
		return nil, err
	}
	taken := make([]int64, 0, r.Limit)
	cur, first := db.cursorAt(), ""
	for visits := 0; visits < maxFairVisits && len(taken) < r.Limit; visits++ {
		var w sql.NullString
		if err := next.QueryRowContext(ctx, cur).Scan(&w); err != nil {
			db.leases.drop(taken, r.Owner)
			return nil, err
		}
		if !w.Valid || w.String == first {
			break // none pending, or every webhook visited
		}
		if visits == 0 {
			first = w.String
		}
		cur = w.String
		if slices.Contains(r.Skip, cur) {
			continue
		}
		if taken, err = db.takeHook(ctx, due, taken, cur, min(r.PerWebhook, r.Limit-len(taken)), r.Owner, nowMS, until, sc.began); err != nil {
			db.leases.drop(taken, r.Owner)
			return nil, err
		}
	}
	db.cursor.Store(cur)
	return taken, nil
}

// takeHook leases up to limit due rows of webhook w that are free in
// memory, appended to taken.
func (db *DB) takeHook(ctx context.Context, due *sql.Stmt, taken []int64, w string, limit int, owner string, nowMS, until int64, began uint64) ([]int64, error) {
	rows, err := due.QueryContext(ctx, w, nowMS)
	if err != nil {
		return taken, err
	}
	defer rows.Close()
	var p skipMark // the fair claim keeps no skip mark
	ids, ats := make([]int64, 0, limit), make([]int64, 0, limit)
	for limit > 0 {
		ids, ats = ids[:0], ats[:0]
		for len(ids) < limit && rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				return taken, err
			}
			ids, ats = append(ids, id), append(ats, at)
		}
		if len(ids) == 0 {
			break
		}
		n := len(taken)
		taken = db.leases.take(taken, ids, ats, limit, owner, nowMS, until, began, &p)
		limit -= len(taken) - n
	}
	return taken, rows.Err()
}

// cursorAt is where the next fair claim starts: after the last webhook
// the previous one visited ("" at first).
func (db *DB) cursorAt() string {
	after, _ := db.cursor.Load().(string)
	return after
}
