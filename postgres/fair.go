package postgres

import (
	"context"
	"fmt"
	"sort"

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

// dueOfSQL counts up to $5 due, unleased deliveries of the webhook X, or
// none if X is in $3 (skipped).
func dueOfSQL(x string) string {
	return `(SELECT count(*) FROM (SELECT 1 FROM queue WHERE ` + webhookDueSQL(x, "$2") + ` AND ` + x + ` <> ALL($3)
		ORDER BY webhook_id, next_attempt_at LIMIT $5) c)::int`
}

// fairHooksSQL walks the webhooks with pending deliveries after $1 (see
// nextHookSQL) and returns each with its visit number and how many
// deliveries it has to give (see dueOfSQL). It stops when those add up to
// $4, after $6 webhooks, or when it comes back to the first.
//
// OFFSET 0 keeps each step's subqueries from being pulled up into the
// statement, which would evaluate the next webhook and its count once per
// reference instead of once.
var fairHooksSQL = `WITH RECURSIVE hooks (w, first, n, due, total) AS (
		SELECT f.w, f.w, 1, f.due, f.due
		FROM (SELECT z.w, ` + dueOfSQL("z.w") + ` AS due FROM (SELECT ` + nextHookSQL("$1") + ` AS w OFFSET 0) z OFFSET 0) f
		WHERE f.w IS NOT NULL
	UNION ALL
		SELECT x.w, h.first, h.n + 1, x.due, h.total + x.due
		FROM hooks h, LATERAL (SELECT y.w, ` + dueOfSQL("y.w") + ` AS due FROM (SELECT ` + nextHookSQL("h.w") + ` AS w OFFSET 0) y OFFSET 0) x
		WHERE h.n < $6 AND h.total < $4 AND x.w <> h.first
	)
	SELECT w, n, due FROM hooks`

// fairClaimSQL leases, of each webhook in $5 in turn, up to $6 of its
// oldest due deliveries, and at most $4 in all. SKIP LOCKED leaves rows
// another claimer holds to it, and the rows are written by address, as in
// claimSQL.
var fairClaimSQL = `WITH c AS (UPDATE queue SET lease_owner = $1, lease_until = $2
	WHERE ctid = ANY(ARRAY(SELECT q.ctid FROM unnest($5::text[]) AS h (w), LATERAL (SELECT ctid FROM queue
			WHERE ` + webhookDueSQL("h.w", "$3") + `
			ORDER BY webhook_id, next_attempt_at LIMIT $6 FOR UPDATE SKIP LOCKED) q
		LIMIT $4))
	RETURNING delivery_id)
	SELECT ` + qualifiedDeliveryColumns + ` FROM c JOIN deliveries d ON d.id = c.delivery_id`

// fairHook is a webhook a fair claim visited.
type fairHook struct {
	id  string
	n   int // visit order
	due int // deliveries it had to give, up to PerWebhook
}

// claimFair runs the fair claim's two statements in tx, each its own round
// trip: the walk of the webhooks, then the claim of their due rows.
func (db *DB) claimFair(ctx context.Context, tx *pipeTx, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	now := pgTime(r.Now)
	after := db.cursorAt()
	skip := r.Skip
	if skip == nil {
		skip = []string{}
	}
	var visited []fairHook
	var walk pgx.Batch
	walk.Queue(fairHooksSQL, after, now, skip, r.Limit, r.PerWebhook, maxFairVisits).Query(func(rows pgx.Rows) error {
		var err error
		visited, err = collect(rows, func(row pgx.Row) (fairHook, error) {
			var h fairHook
			err := row.Scan(&h.id, &h.n, &h.due)
			return h, err
		})
		return err
	})
	if err := tx.send(ctx, &walk); err != nil {
		return nil, fmt.Errorf("walk webhooks: %w", err)
	}
	if len(visited) == 0 {
		return nil, nil
	}
	sort.Slice(visited, func(i, j int) bool { return visited[i].n < visited[j].n })
	var hooks []string
	for _, h := range visited {
		if h.due > 0 {
			hooks = append(hooks, h.id)
		}
	}
	last := visited[len(visited)-1].id
	var jobs []*hookd.Job
	if len(hooks) > 0 {
		var claim pgx.Batch
		claim.Queue(fairClaimSQL, r.Owner, now.Add(r.Lease), now, r.Limit, hooks, r.PerWebhook).Query(func(rows pgx.Rows) error {
			var err error
			jobs, err = collectJobs(rows)
			return err
		})
		if err := tx.send(ctx, &claim); err != nil {
			return nil, err
		}
	}
	if len(jobs) >= r.Limit {
		// Full before every webhook with due rows had its turn: the next
		// claim starts after the last that gave rows.
		claimed := make([]string, len(jobs))
		for i, j := range jobs {
			claimed[i] = j.Delivery.WebhookID
		}
		last = lastVisited(after, claimed)
	}
	db.cursor.Store(last)
	return jobs, nil
}

// lastVisited is, of the webhook ids claimed (each visited in id order
// after `after`, wrapping around), the one visited last.
func lastVisited(after string, claimed []string) string {
	var wrapped, ahead string
	for _, id := range claimed {
		if id <= after {
			wrapped = max(wrapped, id)
		} else {
			ahead = max(ahead, id)
		}
	}
	if wrapped != "" {
		return wrapped
	}
	return ahead
}

// cursorAt is where the next fair claim starts: after the last webhook
// the previous one visited ("" at first).
func (db *DB) cursorAt() string {
	after, _ := db.cursor.Load().(string)
	return after
}
