package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// The fair claim (ClaimRequest.PerWebhook > 0) visits the webhooks that
// have pending deliveries in webhook id order, going on after the last one
// the previous claim visited and wrapping around, and takes at most
// PerWebhook due deliveries of each. The index queue_fair
// (webhook_id, next_attempt_at) of the queue table serves every step: the next webhook after
// an id is its next key, and a webhook's oldest due rows its first entries.
// A claim writes only the lease (see claimSQL), so the rows a webhook has
// in flight stay first in its entries and each visit steps over them: a
// claim costs a few index probes per webhook it visits plus one per row in
// flight, whatever any webhook's backlog, and never reads a backlog it does
// not take.

// maxFairVisits bounds the webhooks one claim visits, so that many
// webhooks with pending but not yet due deliveries (retries) cost a claim
// a bounded walk; the next claim goes on where this one stopped.
const maxFairVisits = 4096

// nextHookSQL is the first webhook with pending rows after the id X, or
// the first of all when none is after X (the walk wraps around).
func nextHookSQL(x string) string {
	return `COALESCE((SELECT webhook_id FROM queue WHERE webhook_id > ` + x + ` ORDER BY webhook_id LIMIT 1),
		(SELECT webhook_id FROM queue ORDER BY webhook_id LIMIT 1))`
}

// webhookDueSQL selects the rows of the webhook X due at T in
// queue_fair's order, in terms that only queue_fair can serve: a range of
// (webhook_id, next_attempt_at) pairs, ordered by both columns. Written as
// webhook_id = X and next_attempt_at <= T ordered by next_attempt_at, it
// let the planner read queue_due in due order and test each row's webhook:
// once ANALYZE had seen one webhook's backlog fill the queue, it expected
// any webhook's rows to come as densely, and a claim of another webhook's
// few rows read the whole backlog (TestHotPlansAfterGrowth, "one webhook's
// backlog, analyzed"). With no equality on webhook_id the planner cannot
// drop it from the ordering, which queue_due cannot give without a sort.
func webhookDueSQL(x, t string) string {
	return `(webhook_id, next_attempt_at) >= (` + x + `, '-infinity'::timestamptz)
		AND (webhook_id, next_attempt_at) <= (` + x + `, ` + t + `)
		AND (lease_until IS NULL OR lease_until < ` + t + `)`
}

// takeOfSQL locks, in queue_fair's order, up to $6 (and at most LIM)
// due, unleased deliveries of the webhook X, none if X is in $5
// (skipped), and returns their addresses. SKIP LOCKED leaves rows another
// claimer holds to it.
func takeOfSQL(x, lim string) string {
	return `ARRAY(SELECT ctid FROM queue WHERE ` + webhookDueSQL(x, "$3") + ` AND ` + x + ` <> ALL($5)
		ORDER BY webhook_id, next_attempt_at LIMIT least($6::int, ` + lim + `) FOR UPDATE SKIP LOCKED)`
}

// fairClaimSQL is the whole fair claim in one statement. Its recursive
// part walks the webhooks with pending deliveries after $7 (see
// nextHookSQL) and, at each, locks what it may take of that webhook (see
// takeOfSQL); the walk stops when it has $4 rows, after $8 webhooks, or
// when it comes back to the first. The rows taken are then leased, written
// by address as in claimSQL, and returned with their log rows, each with
// the webhook the walk visited last (the next claim's place in the round);
// when nothing was taken, one row of NULLs carries it.
//
// Each webhook's due rows are read once, by the walk step that takes them,
// and the walk goes no further than the claim needs. OFFSET 0 keeps each
// step's subqueries from being pulled up into the statement, which would
// evaluate the next webhook and its rows once per reference instead of
// once.
var fairClaimSQL = `WITH RECURSIVE hooks (w, first, n, took, total) AS (
		SELECT f.w, f.w, 1, f.took, cardinality(f.took)
		FROM (SELECT z.w, ` + takeOfSQL("z.w", "$4::int") + ` AS took
			FROM (SELECT ` + nextHookSQL("$7::text") + ` AS w OFFSET 0) z OFFSET 0) f
		WHERE f.w IS NOT NULL
	UNION ALL
		SELECT x.w, h.first, h.n + 1, x.took, h.total + cardinality(x.took)
		FROM hooks h, LATERAL (SELECT y.w, ` + takeOfSQL("y.w", "$4::int - h.total") + ` AS took
			FROM (SELECT ` + nextHookSQL("h.w") + ` AS w OFFSET 0) y OFFSET 0) x
		WHERE h.n < $8::int AND h.total < $4::int AND x.w <> h.first
	),
	c AS (UPDATE queue SET lease_owner = $1, lease_until = $2
		WHERE ctid = ANY(ARRAY(SELECT unnest(took) FROM hooks))
		RETURNING delivery_id)
	SELECT ` + qualifiedDeliveryColumns + `, l.w
	FROM (SELECT w FROM hooks WHERE n = (SELECT max(n) FROM hooks)) l
	LEFT JOIN (c JOIN deliveries d ON d.id = c.delivery_id) ON true`

// claimFair runs the fair claim (fairClaimSQL) in tx, one round trip, and
// keeps the webhook it visited last as the next claim's place in the
// round.
func (db *DB) claimFair(ctx context.Context, tx *pipeTx, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	now := pgTime(r.Now)
	skip := r.Skip
	if skip == nil {
		skip = []string{}
	}
	var jobs []*hookd.Job
	var last *string
	var claim pgx.Batch
	claim.Queue(fairClaimSQL, r.Owner, now.Add(r.Lease), now, r.Limit, skip, r.PerWebhook, db.cursorAt(), maxFairVisits).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			if rows.RawValues()[0] == nil {
				// Nothing taken: the one row says only where the walk ended.
				dest := make([]any, len(rows.FieldDescriptions()))
				dest[len(dest)-1] = &last
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				continue
			}
			j := &hookd.Job{}
			var err error
			j.Delivery, err = scanDelivery(lastColumn{rows, &last}, &j.ManualAttempt)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err := tx.send(ctx, &claim); err != nil {
		return nil, err
	}
	if last != nil {
		db.cursor.Store(*last)
	}
	return jobs, nil
}

// lastColumn is a row whose last column, beyond those a scan asks for,
// goes to last.
type lastColumn struct {
	pgx.Rows
	last **string
}

func (r lastColumn) Scan(dest ...any) error { return r.Rows.Scan(append(dest, r.last)...) }

// cursorAt is where the next fair claim starts: after the last webhook
// the previous one visited ("" at first).
func (db *DB) cursorAt() string {
	after, _ := db.cursor.Load().(string)
	return after
}
