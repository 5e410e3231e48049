package postgres

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// claimSQL leases due deliveries: it rewrites their rows of the small queue
// table (migration 00008) and returns their rows of the delivery log, which
// a claim does not write. SKIP LOCKED lets concurrent claimers of every
// instance take disjoint rows without waiting for one another; queue_due
// serves the inner scan. A claim writes only the lease, which no index of
// queue holds, so that its update is HOT (heap-only: no index entry is
// written, one WAL record per row instead of about six); a leased row stays
// where it was in the due indexes, due again when a crashed worker's lease
// runs out, and later claims step over the rows in flight.
//
// The rows are found by the inner scan and written by their physical
// address (ctid), which it returns locked: see byAddress.
const claimSQL = `WITH c AS (UPDATE queue SET lease_owner = $1, lease_until = $2
	WHERE ctid = ANY(ARRAY(SELECT ctid FROM queue WHERE next_attempt_at <= $3
		AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED))
	RETURNING delivery_id)
	SELECT ` + qualifiedDeliveryColumns + ` FROM c JOIN deliveries d ON d.id = c.delivery_id`

// byAddress: the statements that write queue rows find them first (by the
// batch's ids, or the claim's scan) and then write them by ctid, never by
// joining queue to the batch. Queue's statistics cannot be trusted: a
// queue that drained leaves its pages empty, VACUUM or ANALYZE then counts
// no row in them, and a backlog that fills them again adds no page, so the
// planner, which scales the rows counted per page by the pages there are,
// takes the queue for empty whatever it holds. Joined to a batch, the
// "empty" queue became the outer side of a nested loop: each batch read the
// whole queue, once per batch row, and delivery stalled (TestHotPlansAfterGrowth,
// "vacuumed after the queue drained"). A lookup by id in a LATERAL subquery
// fenced by OFFSET 0 can only be driven by the batch, and a scan by
// ctid = ANY(array) costs what the array holds: neither plan depends on
// what the statistics say. FOR UPDATE makes the address found the row's
// current one, and keeps it so until the write.

const claimEventsSQL = `SELECT ` + eventColumns + ` FROM unnest($1::text[], $2::text[], $3::text[]) AS r (t, m, k)
	JOIN events e ON e.tenant_id = r.t AND e.mode = r.m AND e.id = r.k`

const claimWebhooksSQL = `SELECT ` + webhookColumns + ` FROM webhooks WHERE id = ANY($1)`

// ClaimDeliveries implements hookd.Queue in one transaction of two round
// trips (see pipeTx): BEGIN with the plans pinned and the claim; the events
// and webhooks of the claimed rows together, with COMMIT. Its commit is
// asynchronous (see asyncCommitQuery). A delivery whose webhook was deleted,
// or is no longer deliverable (unless the attempt was asked for by a
// person), is then cancelled instead of returned, if its lease still holds.
func (db *DB) ClaimDeliveries(ctx context.Context, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	if r.Limit <= 0 {
		return nil, nil
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	now := pgTime(r.Now)
	var kept []*hookd.Job
	var cancelIDs, cancelWhy []string
	err := db.inPipeTx(ctx, func(tx *pipeTx) error {
		jobs, err := db.claim(ctx, tx, r)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if why := j.UndeliverableReason(now); why != "" {
				cancelIDs, cancelWhy = append(cancelIDs, j.Delivery.ID), append(cancelWhy, why)
				continue
			}
			kept = append(kept, j)
		}
		return nil
	}, pinPlansQuery, asyncCommitQuery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(cancelIDs) > 0 {
		err := db.inPipeTx(ctx, func(tx *pipeTx) error {
			var batch pgx.Batch
			batch.Queue(cancelClaimedSQL, cancelIDs, cancelWhy, db.now(), r.Owner)
			return tx.commit(ctx, &batch)
		}, pinPlansQuery)
		if err != nil {
			return nil, fmt.Errorf("cancel undeliverable: %w", err)
		}
	}
	return kept, nil
}

// collectJobs reads the rows a claim returned.
func collectJobs(rows pgx.Rows) ([]*hookd.Job, error) {
	return collect(rows, func(row pgx.Row) (*hookd.Job, error) {
		j := &hookd.Job{}
		var err error
		j.Delivery, err = scanDelivery(row, &j.ManualAttempt)
		return j, err
	})
}

// claim leases the deliveries (in due order, or fairly: see claimFair),
// loads their events and webhooks, and commits.
func (db *DB) claim(ctx context.Context, tx *pipeTx, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	now := pgTime(r.Now)
	var jobs []*hookd.Job
	var err error
	if r.PerWebhook > 0 {
		jobs, err = db.claimFair(ctx, tx, r)
	} else {
		var claim pgx.Batch
		claim.Queue(claimSQL, r.Owner, now.Add(r.Lease), now, r.Limit).Query(func(rows pgx.Rows) error {
			var err error
			jobs, err = collectJobs(rows)
			return err
		})
		err = tx.send(ctx, &claim)
	}
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, tx.commit(ctx, nil)
	}
	evT, evM, evID := make([]string, 0, len(jobs)), make([]string, 0, len(jobs)), make([]string, 0, len(jobs))
	seenEvent := make(map[eventKey]bool, len(jobs))
	for _, j := range jobs {
		d := j.Delivery
		if k := (eventKey{d.TenantID, d.Mode, d.EventID}); !seenEvent[k] {
			seenEvent[k] = true
			evT, evM, evID = append(evT, d.TenantID), append(evM, string(d.Mode)), append(evID, d.EventID)
		}
	}
	events := make(map[eventKey]*hookd.Event, len(evID))
	var batch pgx.Batch
	batch.Queue(claimEventsSQL, evT, evM, evID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var n int
			e, err := scanEvent(rows, &n)
			if err != nil {
				return err
			}
			events[eventKey{e.TenantID, e.Mode, e.ID}] = e
		}
		return rows.Err()
	})
	loadWebhooks(&batch, jobs)
	if err := tx.commit(ctx, &batch); err != nil {
		return nil, fmt.Errorf("load events and webhooks: %w", err)
	}
	for _, j := range jobs {
		d := j.Delivery
		j.Event = events[eventKey{d.TenantID, d.Mode, d.EventID}]
	}
	return jobs, nil
}

// loadWebhooks queues in batch the read of the jobs' webhooks (each once);
// when the batch runs, every job gets its webhook, or keeps nil if the
// webhook is gone.
func loadWebhooks(batch *pgx.Batch, jobs []*hookd.Job) {
	var ids []string
	byID := make(map[string][]*hookd.Job)
	for _, j := range jobs {
		id := j.Delivery.WebhookID
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], j)
	}
	batch.Queue(claimWebhooksSQL, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				return err
			}
			for _, j := range byID[w.ID] {
				j.Webhook = w
			}
		}
		return rows.Err()
	})
}

// cancelClaimedSQL cancels claimed deliveries that may not be sent, if
// their claim still holds: their queue rows go (found by id and lease, then
// deleted by address: see byAddress) and their log rows are cancelled.
const cancelClaimedSQL = `WITH c AS (SELECT c.id, c.why, q.qid FROM unnest($1::text[], $2::text[]) AS c (id, why),
		LATERAL (SELECT ctid AS qid FROM queue WHERE delivery_id = c.id AND lease_owner = $4 OFFSET 0 FOR UPDATE) q),
	gone AS (DELETE FROM queue WHERE ctid = ANY(ARRAY(SELECT qid FROM c)))
	UPDATE deliveries d SET status = 'cancelled', next_attempt_at = NULL, manual = false, last_error = c.why, updated_at = $3
	FROM c WHERE d.id = c.id`

type eventKey struct {
	tenantID string
	mode     hookd.Mode
	id       string
}

// completeSQL writes the outcomes whose owner still holds the lease, all in
// one statement, and returns which ones it wrote. The lease is the fence:
// each outcome's queue row is looked up by primary key and owner and
// locked (held); a finished delivery's row is then deleted and a retried
// one's rewritten, by address (see byAddress); the delivery log is updated
// for exactly those, by primary key. No index of deliveries holds a column
// that this changes, so with the table's fillfactor the update is HOT: no
// index entry is written.
//
// An earlier version tested status = 'pending' on deliveries, which let the
// planner read the partial index deliveries_due instead; after an ANALYZE
// that saw no pending row, its cached generic plan rescanned the batch for
// every pending row: O(pending × batch), 40 s and more per batch once a
// backlog of 850,000 stood (issue 16).
const completeSQL = `WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[],
			$6::text[], $7::int[], $8::boolean[]) AS u (id, owner, status, inc, next, err, code, keep_manual)),
	held AS (SELECT u.*, q.qid FROM u,
		LATERAL (SELECT ctid AS qid FROM queue WHERE delivery_id = u.id AND lease_owner = u.owner OFFSET 0 FOR UPDATE) q),
	done AS (DELETE FROM queue WHERE ctid = ANY(ARRAY(SELECT qid FROM held WHERE status <> 'pending'))),
	again AS (UPDATE queue q SET next_attempt_at = h.next, lease_owner = NULL, lease_until = NULL
		FROM held h WHERE q.ctid = h.qid AND h.status = 'pending')
	UPDATE deliveries d SET status = h.status, attempts = d.attempts + h.inc, next_attempt_at = h.next,
		last_error = COALESCE(h.err, d.last_error), last_status = COALESCE(h.code, d.last_status),
		manual = d.manual AND h.keep_manual, updated_at = $9
	FROM held h WHERE d.id = h.id
	RETURNING d.id, d.webhook_id`

const insertAttemptsSQL = `INSERT INTO attempts (id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt)
	SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[])`

// insertStaleAttemptsSQL is insertAttemptsSQL for the attempts of outcomes
// whose lease was lost: kept only while their delivery is.
const insertStaleAttemptsSQL = `INSERT INTO attempts (id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt)
	SELECT u.* FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[])
		AS u (id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt)
	WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.delivery_id)`

// healthSQL writes what a batch did to each webhook's failure streak:
// kind 0 = a success ended it, 1 = it restarted at `at` after a success,
// 2 = it goes on (or starts at `at`). Rows it would not change are not
// touched, so the steady state of successes locks no webhook.
const healthSQL = `UPDATE webhooks w SET failing_since = CASE u.kind WHEN 0 THEN NULL WHEN 1 THEN u.at
	ELSE COALESCE(w.failing_since, u.at) END
	FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS u (id, kind, at)
	WHERE w.id = u.id AND (u.kind = 1 OR (u.kind = 0 AND w.failing_since IS NOT NULL) OR (u.kind = 2 AND w.failing_since IS NULL))`

// CompleteDeliveries implements hookd.Queue: one transaction of two round
// trips (see pipeTx: BEGIN and the lease-checked update, then attempts,
// webhook changes and COMMIT), retried if it deadlocks with another
// instance's.
func (db *DB) CompleteDeliveries(ctx context.Context, outs []hookd.Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	for i := range outs {
		if outs[i].Kind < hookd.OutcomeSucceeded || outs[i].Kind > hookd.OutcomeReleased {
			return hookd.Errorf(hookd.EINVALID, "delivery %s: unknown outcome kind %d", outs[i].DeliveryID, outs[i].Kind)
		}
	}
	for try := 1; ; try++ {
		err := db.inPipeTx(ctx, func(tx *pipeTx) error { return db.complete(ctx, tx, outs) }, pinPlansQuery)
		if err == nil {
			return nil
		}
		if !isDeadlock(err) || try == maxPublishTries {
			return fmt.Errorf("complete deliveries: %w", err)
		}
	}
}

func (db *DB) complete(ctx context.Context, tx *pipeTx, outs []hookd.Outcome) error {
	now := db.now()
	n := len(outs)
	var (
		ids, owners, statuses = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		incs, codes           = make([]int32, 0, n), make([]*int32, 0, n)
		nexts                 = make([]*time.Time, 0, n)
		errs                  = make([]*string, 0, n)
		keeps                 = make([]bool, 0, n)
		first                 = make(map[string]int, n) // delivery id → its first outcome
	)
	for i := range outs {
		o := &outs[i]
		if _, dup := first[o.DeliveryID]; dup {
			continue // the first outcome releases the lease; a second one would find it lost
		}
		first[o.DeliveryID] = i
		c, err := o.Change()
		if err != nil {
			return err
		}
		var inc int32
		var lastErr *string
		var lastStatus *int32
		if c.Attempted {
			msg, code := pgText(o.Attempt.Error), int32(o.Attempt.StatusCode)
			inc, lastErr, lastStatus = 1, &msg, &code
		}
		ids, owners, statuses = append(ids, o.DeliveryID), append(owners, o.Owner), append(statuses, string(c.Status))
		incs, nexts, errs, codes, keeps = append(incs, inc), append(nexts, pgTimePtr(c.NextAttemptAt)), append(errs, lastErr), append(codes, lastStatus), append(keeps, c.KeepManual)
	}
	written := make(map[string]string, len(ids)) // delivery id → webhook id
	var update pgx.Batch
	update.Queue(completeSQL, ids, owners, statuses, incs, nexts, errs, codes, keeps, now).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id, webhookID string
			if err := rows.Scan(&id, &webhookID); err != nil {
				return err
			}
			written[id] = webhookID
		}
		return rows.Err()
	})
	if err := tx.send(ctx, &update); err != nil {
		return err
	}

	// Attempts and webhook changes of the written outcomes, in their order.
	webhookOf := make([]string, len(outs))
	for i := range outs {
		if first[outs[i].DeliveryID] == i {
			webhookOf[i] = written[outs[i].DeliveryID] // "" when the lease was lost
		}
	}
	fx := hookd.EffectsOf(outs, webhookOf, now)
	var (
		aID, aDelivery, aClass, aErr, aExcerpt []string
		aAt                                    []time.Time
		aDur                                   []int64
		aCode                                  []int32
	)
	for _, a := range fx.Attempts {
		aID, aDelivery, aAt, aDur = append(aID, a.ID), append(aDelivery, a.DeliveryID), append(aAt, pgTime(a.At)), append(aDur, a.DurationMS)
		aCode, aClass = append(aCode, int32(a.StatusCode)), append(aClass, string(a.ErrorClass))
		aErr, aExcerpt = append(aErr, pgText(a.Error)), append(aExcerpt, pgText(a.ResponseExcerpt))
	}

	var batch pgx.Batch
	if len(aID) > 0 {
		batch.Queue(insertAttemptsSQL, aID, aDelivery, aAt, aDur, aCode, aClass, aErr, aExcerpt)
	}
	if len(fx.StaleAttempts) > 0 {
		var sID, sDelivery, sClass, sErr, sExcerpt []string
		var sAt []time.Time
		var sDur []int64
		var sCode []int32
		for _, a := range fx.StaleAttempts {
			sID, sDelivery, sAt, sDur = append(sID, a.ID), append(sDelivery, a.DeliveryID), append(sAt, pgTime(a.At)), append(sDur, a.DurationMS)
			sCode, sClass = append(sCode, int32(a.StatusCode)), append(sClass, string(a.ErrorClass))
			sErr, sExcerpt = append(sErr, pgText(a.Error)), append(sExcerpt, pgText(a.ResponseExcerpt))
		}
		batch.Queue(insertStaleAttemptsSQL, sID, sDelivery, sAt, sDur, sCode, sClass, sErr, sExcerpt)
	}
	// Webhooks in id order: concurrent batches then lock them in one order.
	sort.Slice(fx.Webhooks, func(i, j int) bool { return fx.Webhooks[i].WebhookID < fx.Webhooks[j].WebhookID })
	var hID []string
	var hKind []int32
	var hAt []*time.Time
	var deleted, disabled []string
	for _, w := range fx.Webhooks {
		switch w.Failing {
		case hookd.FailingCleared:
			hID, hKind, hAt = append(hID, w.WebhookID), append(hKind, 0), append(hAt, nil)
		case hookd.FailingRestarted:
			hID, hKind, hAt = append(hID, w.WebhookID), append(hKind, 1), append(hAt, pgTimePtr(&w.At))
		case hookd.FailingContinued:
			hID, hKind, hAt = append(hID, w.WebhookID), append(hKind, 2), append(hAt, pgTimePtr(&w.At))
		}
		switch {
		case w.Delete:
			deleted = append(deleted, w.WebhookID)
		case w.Disable:
			disabled = append(disabled, w.WebhookID)
		}
	}
	if len(hID) > 0 {
		batch.Queue(healthSQL, hID, hKind, hAt)
	}
	if len(deleted) > 0 {
		batch.Queue(`DELETE FROM webhooks WHERE id = ANY($1)`, deleted)
		batch.Queue(cancelPendingSQL, deleted, "webhook deleted", now)
	}
	if len(disabled) > 0 {
		batch.Queue(`UPDATE webhooks SET enabled = false, status = 'auto_disabled', updated_at = $2 WHERE id = ANY($1)`, disabled, now)
		batch.Queue(cancelPendingSQL, disabled, "webhook auto_disabled", now)
	}
	// Every instance stops sending to them when this commits.
	for _, change := range hookd.StopChanges(append(deleted, disabled...)) {
		batch.Queue(`SELECT pg_notify('`+changesChannel+`', $1)`, change)
	}
	if args := outboxArgs(fx.Announce, now); args != nil {
		batch.Queue(insertOutboxSQL, args...)
	}
	return tx.commit(ctx, &batch)
}

// pgText makes s storable in a text column: PostgreSQL refuses NUL bytes
// and invalid UTF-8, which a receiver's response may well contain.
func pgText(s string) string {
	if hookd.StorableText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// nextDueSQL is when the first pending delivery becomes due: the first
// row of queue_due that no live lease holds, or the earliest expiry of
// the leases held before it, if sooner. The rows in flight keep the due
// time they were claimed at (see claimSQL), so they come first in
// queue_due, and the second scan reads just them. Each is written as a
// scan ordered by due time: with the plans pinned (it runs in a pipeTx with
// pinPlansQuery, so a sort is ruled out) only queue_due serves them. The
// second was a plain range once, and a generic plan made after the queue
// had drained and been vacuumed served it from queue_fair, whose second
// column it is: the whole index, 60–230 ms a call with a million rows
// queued (issue 16, session 8).
const nextDueSQL = `WITH f AS (SELECT next_attempt_at FROM queue WHERE lease_until IS NULL OR lease_until < $1
		ORDER BY next_attempt_at LIMIT 1)
	SELECT LEAST((SELECT next_attempt_at FROM f), (SELECT min(lease_until) FROM (SELECT lease_until FROM queue
		WHERE next_attempt_at <= COALESCE((SELECT next_attempt_at FROM f), 'infinity') AND lease_until >= $1
		ORDER BY next_attempt_at) leased))`

// NextDueAt implements hookd.Queue.
func (db *DB) NextDueAt(ctx context.Context) (*time.Time, error) {
	var next *time.Time
	if err := db.queryRow(ctx, pinPlansQuery, nextDueSQL, []any{db.now()}, &next); err != nil {
		return nil, fmt.Errorf("next due: %w", err)
	}
	return utcPtr(next), nil
}

// serialQuery keeps the transaction's statements in one process: a
// background count is not worth two more processes' CPU to finish sooner
// (a parallel count of 76,000 queue rows took three processes 185 ms).
const serialQuery = `SELECT set_config('max_parallel_workers_per_gather', '0', true)`

const statsSQL = `SELECT count(*),
	count(*) FILTER (WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)),
	min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)),
	count(*) FILTER (WHERE lease_until >= $1)
	FROM queue`

// A queue estimated to hold at least statsExactBelow rows is not counted
// whole: its counts are estimated from a sample of about statsSamplePages
// of its pages (TABLESAMPLE SYSTEM, each page taken or not as a whole),
// and its oldest due time is read exactly from queue_due. A million rows
// took 0.3–0.75 s of a server core to count, every 15–35 s and at every
// start, holding one of the pool's connections meanwhile; a thousand pages
// are a few milliseconds, and the estimate's error a few percent.
const (
	statsExactBelow  = 100_000
	statsSamplePages = 1000
)

// statsSamplePercent is the share of queue's pages that makes about
// statsSamplePages (all of them, for a smaller table).
var statsSamplePercent = fmt.Sprintf("LEAST(100, 100.0 * %d / GREATEST(1, pg_relation_size('queue') / current_setting('block_size')::int))", statsSamplePages)

// statsSampleSQL is the sample's counts, the share of pages it read, and
// the oldest due time. Run with the plans pinned: the oldest due row is
// the first unleased one in queue_due, whose walk steps over the rows in
// flight only.
var statsSampleSQL = `WITH s AS (SELECT count(*) AS n,
		count(*) FILTER (WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)) AS due,
		count(*) FILTER (WHERE lease_until >= $1) AS leased
		FROM queue TABLESAMPLE SYSTEM (` + statsSamplePercent + `))
	SELECT n, due, leased, ` + statsSamplePercent + `::float8, (SELECT next_attempt_at FROM queue
		WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
		ORDER BY next_attempt_at LIMIT 1) FROM s`

// Stats implements hookd.Queue. The sample (statsSampleSQL) of a table of
// at most statsSamplePages pages is the whole table, and its counts are
// exact; a larger table that the sample says holds fewer than
// statsExactBelow rows is counted whole, in one pass in one process; a
// larger queue gets the sample's estimates, scaled, and its exact oldest
// due time. (The maintenance loop also bounds how often it runs: see
// delivery.statsWait.)
func (db *DB) Stats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	now = pgTime(now)
	var (
		st     hookd.QueueStats
		oldest *time.Time
	)
	var percent float64
	if err := db.queryRow(ctx, pinPlansQuery, statsSampleSQL, []any{now}, &st.Pending, &st.Due, &st.Leased, &percent, &oldest); err != nil {
		return st, fmt.Errorf("queue stats sample: %w", err)
	}
	scale := func(n int) int { return int(math.Round(float64(n) * 100 / max(percent, 1e-9))) }
	switch {
	case percent >= 100: // the sample read every page: its counts are exact
	case scale(st.Pending) >= statsExactBelow:
		st.Pending, st.Due, st.Leased = scale(st.Pending), scale(st.Due), scale(st.Leased)
	default:
		if err := db.queryRow(ctx, serialQuery, statsSQL, []any{now}, &st.Pending, &st.Due, &oldest, &st.Leased); err != nil {
			return st, fmt.Errorf("queue stats: %w", err)
		}
	}
	if oldest != nil {
		st.OldestDueAge = now.Sub(*oldest)
	}
	return st, nil
}

// AutoDisableWebhooks implements hookd.Queue. Their pending deliveries are
// cancelled, as for a 410.
func (db *DB) AutoDisableWebhooks(ctx context.Context, failingBefore time.Time) ([]*hookd.Webhook, error) {
	now := db.now()
	var out []*hookd.Webhook
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE webhooks SET enabled = false, status = 'auto_disabled', updated_at = $1
			WHERE failing_since IS NOT NULL AND failing_since < $2 AND enabled AND status = 'active'
			RETURNING `+webhookColumns, now, pgTime(failingBefore))
		var err error
		if out, err = collect(rows, scanWebhook); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		anns := make([]hookd.Announcement, len(out))
		for i, w := range out {
			ids[i], anns[i] = w.ID, hookd.AutoDisabledAnnouncement(w)
		}
		if err := insertOutbox(ctx, tx, anns, now); err != nil {
			return err
		}
		return cancelPending(ctx, tx, ids, now, "webhook auto_disabled")
	})
	if err != nil {
		return nil, fmt.Errorf("auto-disable webhooks: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// pruneChunk bounds how many rows one retention transaction deletes, so
// that no transaction holds many locks for long.
const pruneChunk = 1000

// pruneDeliveriesSQL deletes one chunk of finished deliveries and their
// attempts, and counts both. A delivery's id begins with its creation time
// (hookd.NewIDAt): those created before $1 are the ids before $3, oldest
// first in deliveries_pkey, which spares every publish an index of
// created_at (migration 00016).
const pruneDeliveriesSQL = `WITH d AS (
		SELECT id FROM deliveries WHERE id < $3 AND created_at < $1 AND status <> 'pending' ORDER BY id LIMIT $2
		FOR UPDATE SKIP LOCKED),
	a AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM d) RETURNING 1),
	x AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM d) RETURNING 1)
	SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM x)`

// pruneEventsSQL deletes one chunk of old events that no delivery refers
// to, with the label index rows of those that have labels, and counts the
// events.
const pruneEventsSQL = `WITH e AS (DELETE FROM events WHERE ctid IN (SELECT e.ctid FROM events e
	WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d
		WHERE d.tenant_id = e.tenant_id AND d.mode = e.mode AND d.event_id = e.id)
	LIMIT $2) RETURNING tenant_id, mode, id, labels),
	l AS (DELETE FROM event_labels l USING e, unnest(e.labels) AS x (label)
		WHERE e.labels IS NOT NULL AND l.tenant_id = e.tenant_id AND l.mode = e.mode AND l.label = x.label AND l.event_id = e.id)
	SELECT count(*) FROM e`

// Prune implements hookd.Queue, in transactions of at most pruneChunk
// deliveries (with their attempts) or events, each with the plans' shapes
// pinned (pinShapesQuery): old events are found through events_created and
// old deliveries through deliveries_pkey, never by reading the table —
// which the planner did for events once its statistics said half of them
// were old (300 ms a minute at 200,000 events, none of them old). They are
// planned at each run, not generically: see pinShapesQuery.
func (db *DB) Prune(ctx context.Context, before time.Time) (int, error) {
	before = pgTime(before)
	total := 0
	for {
		var attempts, deliveries int
		err := db.queryRow(ctx, pinShapesQuery, pruneDeliveriesSQL, []any{before, pruneChunk, hookd.FirstIDAt("dlv", before)},
			&attempts, &deliveries)
		if err != nil {
			return total, fmt.Errorf("prune deliveries: %w", err)
		}
		total += attempts + deliveries
		if deliveries < pruneChunk {
			break
		}
	}
	for {
		var n int
		if err := db.queryRow(ctx, pinShapesQuery, pruneEventsSQL, []any{before, pruneChunk}, &n); err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// Instances implements hookd.Queue: each dispatcher's heartbeat is a row,
// and rows older than the ttl go.
func (db *DB) Instances(ctx context.Context, owner string, now time.Time, ttl time.Duration) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var batch pgx.Batch
		batch.Queue(`INSERT INTO instances (owner, seen_at) VALUES ($1, $2)
			ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, owner, pgTime(now))
		batch.Queue(`DELETE FROM instances WHERE seen_at < $1`, pgTime(now.Add(-ttl)))
		batch.Queue(`SELECT count(*) FROM instances`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
		return tx.SendBatch(ctx, &batch).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("instances: %w", err)
	}
	return max(n, 1), nil
}
