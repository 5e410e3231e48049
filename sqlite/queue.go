package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// jsonList is ids as a JSON array, for `IN (SELECT value FROM json_each(?))`:
// one statement whatever the number of ids.
func jsonList(ids []string) (string, error) {
	b, err := json.Marshal(ids)
	return string(b), err
}

const (
	// dueIDsSQL walks the claim index: due pending rows in key order
	// (next_attempt_at, rowid), after the key of a skip mark (see skipMark).
	// It reads the index alone; rows leased by this process are among them
	// and are skipped in memory. The rows due at the mark's time come from
	// a search of (next_attempt_at = ? AND rowid > ?): a row-value
	// comparison would walk every row due at that millisecond first.
	// Arguments: mark time, mark rowid, now, mark time, now.
	dueIDsSQL = `SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' AND next_attempt_at = ? AND id > ? AND next_attempt_at <= ?
		UNION ALL SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' AND next_attempt_at > ? AND next_attempt_at <= ?
		ORDER BY 2, 1`
	// skipCheckSQL reads the largest delivery rowid, and whether a pending
	// row above a rowid is due before a time: inserted after a skip mark,
	// yet sorting before it. It reads the rows above the rowid (inserted
	// since the mark moved), not the due index.
	skipCheckSQL = `SELECT (SELECT coalesce(max(id), 0) FROM deliveries),
		EXISTS (SELECT 1 FROM deliveries WHERE id > ? AND status = 'pending' AND +next_attempt_at < ?)`
	claimRowsSQL = `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id IN (SELECT value FROM json_each(?))`
)

// ClaimDeliveries implements hookd.Queue without writing: it reads due
// pending rows on the reader pool and leases them in memory (see
// leaseTable). A delivery whose webhook was deleted, or is no longer
// deliverable (unless the attempt was asked for by a person), is cancelled
// instead of returned.
func (db *DB) ClaimDeliveries(ctx context.Context, r hookd.ClaimRequest) ([]*hookd.Job, error) {
	if r.Limit <= 0 {
		return nil, nil
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	now := r.Now.UTC().Truncate(time.Millisecond)
	db.leases.sweep(now)
	jobs, rows, err := db.claim(ctx, r, now)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	kept := make([]*hookd.Job, 0, len(jobs))
	var cancel []cancelled
	for i, j := range jobs {
		if why := j.UndeliverableReason(now); why != "" {
			cancel = append(cancel, cancelled{rows[i], why})
			continue
		}
		kept = append(kept, j)
	}
	if len(cancel) > 0 {
		if err := db.cancelUndeliverable(ctx, cancel, now); err != nil {
			db.leases.drop(rows, r.Owner) // claimable again at once rather than when the leases run out
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	return kept, nil
}

// cancelled is a claimed delivery (by rowid) that cannot be sent, and why.
type cancelled struct {
	row int64
	why string
}

// claim leases due rows and loads them with their events and webhooks, all
// from one snapshot of the reader pool. It returns the jobs and their rowids.
func (db *DB) claim(ctx context.Context, r hookd.ClaimRequest, now time.Time) (jobs []*hookd.Job, leased []int64, err error) {
	// The snapshot is read after beginClaim: a claim whose skip mark a
	// commit voided sees that commit.
	sc := db.leases.beginClaim(ms(now))
	defer db.leases.endClaim(sc.began)
	tx, err := db.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a read: nothing to undo
	var ids []int64
	if r.PerWebhook > 0 {
		ids, err = db.takeFair(ctx, tx, r, now, sc)
	} else {
		ids, err = db.takeDue(ctx, tx, r, now, sc)
	}
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			db.leases.drop(ids, r.Owner)
		}
	}()
	st, err := db.stmt(ctx, tx, claimRowsSQL)
	if err != nil {
		return nil, nil, err
	}
	rows, err := st.QueryContext(ctx, appendRowList(make([]byte, 0, 20*len(ids)), ids))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var webhookIDs []string
	var eventNumbers []int64
	seenWebhook, seenEvent := map[string]bool{}, map[int64]bool{}
	leased, leasedWebhooks := make([]int64, 0, len(ids)), make([]string, 0, len(ids))
	jobEvents := make([]int64, 0, len(ids))
	for rows.Next() {
		j := &hookd.Job{}
		var event int64
		if j.Delivery, err = scanDelivery(rows, &j.ManualAttempt, &event); err != nil {
			return nil, nil, err
		}
		row, _ := deliveryRow(j.Delivery.ID)
		jobs = append(jobs, j)
		jobEvents = append(jobEvents, event)
		leased, leasedWebhooks = append(leased, row), append(leasedWebhooks, j.Delivery.WebhookID)
		if !seenWebhook[j.Delivery.WebhookID] {
			seenWebhook[j.Delivery.WebhookID] = true
			webhookIDs = append(webhookIDs, j.Delivery.WebhookID)
		}
		if !seenEvent[event] {
			seenEvent[event] = true
			eventNumbers = append(eventNumbers, event)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows.Close()
	db.leases.annotate(leased, leasedWebhooks, r.Owner)
	events, err := db.eventsByNumber(ctx, tx, eventNumbers)
	if err != nil {
		return nil, nil, err
	}
	webhooks, err := db.webhooksByID(ctx, tx, webhookIDs)
	if err != nil {
		return nil, nil, err
	}
	for i, j := range jobs {
		j.Event = events[jobEvents[i]]
		j.Webhook = webhooks[j.Delivery.WebhookID]
	}
	return jobs, leased, nil
}

// takeDue walks the due rows of tx's snapshot, after the skip mark the
// claim sc began with, and leases up to r.Limit of them that are free in
// memory. The rows it walked become the new mark.
func (db *DB) takeDue(ctx context.Context, tx *sql.Tx, r hookd.ClaimRequest, now time.Time, sc claimScan) ([]int64, error) {
	nowMS, until := ms(now), ms(now.Add(r.Lease))
	p := sc.from
	var behind bool
	if err := tx.StmtContext(ctx, db.readHot[skipCheckSQL]).QueryRowContext(ctx, p.maxRow, p.at).Scan(&p.maxRow, &behind); err != nil {
		return nil, err
	}
	if behind {
		p = p.restart(nowMS)
	}
	st, err := db.stmt(ctx, tx, dueIDsSQL)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, p.at, p.row, nowMS, p.at, nowMS)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	taken := make([]int64, 0, r.Limit)
	// Read ids in chunks and lease each chunk under one lock.
	n := min(r.Limit, 256)
	ids, ats := make([]int64, 0, n), make([]int64, 0, n)
	for len(taken) < r.Limit {
		ids, ats = ids[:0], ats[:0]
		for len(ids) < cap(ids) && rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				db.leases.drop(taken, r.Owner)
				return nil, err
			}
			ids, ats = append(ids, id), append(ats, at)
		}
		if len(ids) == 0 {
			break
		}
		taken = db.leases.take(taken, ids, ats, r.Limit-len(taken), r.Owner, nowMS, until, sc.began, &p)
	}
	if err := rows.Err(); err != nil {
		db.leases.drop(taken, r.Owner)
		return nil, err
	}
	db.leases.advance(sc, p)
	return taken, nil
}

// cancelUndeliverable cancels claimed deliveries that cannot be sent.
func (db *DB) cancelUndeliverable(ctx context.Context, cancel []cancelled, now time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, c := range cancel {
			_, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, manual = 0,
				last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, c.why, ms(now), c.row)
			if err != nil {
				return fmt.Errorf("cancel delivery %s: %w", deliveryID(c.row), err)
			}
			db.finishOnCommit(c.row)
		}
		return nil
	})
}

const (
	eventsByNumberSQL = `SELECT number, ` + eventColumns + ` FROM events WHERE number IN (SELECT value FROM json_each(?))`
	webhooksByIDSQL   = `SELECT ` + webhookColumns + ` FROM webhooks WHERE id IN (SELECT value FROM json_each(?))`
)

// eventsByNumber loads events by rowid.
func (db *DB) eventsByNumber(ctx context.Context, tx *sql.Tx, numbers []int64) (map[int64]*hookd.Event, error) {
	st, err := db.stmt(ctx, tx, eventsByNumberSQL)
	if err != nil {
		return nil, fmt.Errorf("claim: load events: %w", err)
	}
	rows, err := st.QueryContext(ctx, appendRowList(make([]byte, 0, 20*len(numbers)), numbers))
	if err != nil {
		return nil, fmt.Errorf("claim: load events: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]*hookd.Event, len(numbers))
	for rows.Next() {
		var number int64
		var n int
		e, err := scanEvent(rowPrefix{rows, &number}, &n)
		if err != nil {
			return nil, fmt.Errorf("claim: load events: %w", err)
		}
		out[number] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim: load events: %w", err)
	}
	return out, nil
}

// rowPrefix scans a leading column into dst, then the rest with Scan's
// caller's destinations.
type rowPrefix struct {
	s   scanner
	dst any
}

func (r rowPrefix) Scan(dest ...any) error { return r.s.Scan(append([]any{r.dst}, dest...)...) }

var attemptsInsert = insertSpec{table: "attempts", chunk: 32, cols: []string{"id", "delivery_id", "at", "duration_ms",
	"status_code", "error_class", "error", "response_excerpt"}}

// completeSpec is the UPDATE of a group of outcomes that change their
// deliveries alike (typically: every success of a batch), by id, prepared
// for chunks of 64, 32, … 1 ids: their leases were checked in memory, so
// it needs neither a join nor RETURNING.
var completeSpec = idListSpec{chunk: 64, head: `UPDATE deliveries SET status = ?, attempts = attempts + ?, next_attempt_at = ?,
	last_error = COALESCE(?, last_error), last_status = COALESCE(?, last_status), manual = manual AND ?, updated_at = ?
	WHERE id IN (`}

// change is what a group of outcomes writes to each of its deliveries.
type change struct {
	status    hookd.DeliveryStatus
	attempted bool
	next      int64 // unix ms, if hasNext
	hasNext   bool
	lastErr   string // if attempted
	code      int    // if attempted
	keep      bool
}

func (c change) args(now time.Time) []any {
	var next, lastErr, code any
	inc := 0
	if c.hasNext {
		next = c.next
	}
	if c.attempted {
		inc, lastErr, code = 1, c.lastErr, c.code
	}
	return []any{string(c.status), inc, next, lastErr, code, boolInt(c.keep), ms(now)}
}

// CompleteDeliveries implements hookd.Queue. The owner check is against
// the in-memory leases, made inside the write transaction so that it is in
// commit order with every other write.
func (db *DB) CompleteDeliveries(ctx context.Context, outs []hookd.Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	now := db.now()
	changes := make([]change, len(outs))
	for i := range outs {
		o := &outs[i]
		c, err := o.Change()
		if err != nil {
			return err
		}
		ch := change{status: c.Status, attempted: c.Attempted, keep: c.KeepManual}
		if c.NextAttemptAt != nil {
			ch.next, ch.hasNext = ms(*c.NextAttemptAt), true
		}
		if c.Attempted {
			ch.lastErr, ch.code = o.Attempt.Error, o.Attempt.StatusCode
		}
		changes[i] = ch
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		webhookOf := make([]string, len(outs)) // "" when the lease was lost
		groups := map[change][]int64{}
		var order []change
		for i := range outs {
			row, ok := deliveryRow(outs[i].DeliveryID)
			if !ok {
				continue // not a delivery of this store: no lease
			}
			// A second outcome of one delivery finds the lease completing, not held.
			if webhookOf[i] = db.leases.complete(row, outs[i].Owner); webhookOf[i] == "" {
				continue
			}
			db.restoreOnRollback(row)
			db.finishOnCommit(row)
			if c := changes[i]; c.status == hookd.DeliveryPending {
				db.requeueOnCommit(c.next)
			}
			if _, ok := groups[changes[i]]; !ok {
				order = append(order, changes[i])
			}
			groups[changes[i]] = append(groups[changes[i]], row)
		}
		for _, c := range order {
			if err := db.execIDList(ctx, tx, completeSpec, c.args(now), groups[c]); err != nil {
				return err
			}
		}
		fx := hookd.EffectsOf(outs, webhookOf, now)
		attempts := db.newBatchInsert(tx, attemptsInsert)
		for _, a := range fx.Attempts {
			row, _ := deliveryRow(a.DeliveryID) // an attempt is of an outcome whose lease was held
			err := attempts.add(ctx, a.ID, row, ms(a.At), a.DurationMS, a.StatusCode, string(a.ErrorClass), a.Error, a.ResponseExcerpt)
			if err != nil {
				return err
			}
		}
		if err := attempts.flush(ctx); err != nil {
			return err
		}
		for _, a := range fx.StaleAttempts {
			row, ok := deliveryRow(a.DeliveryID)
			if !ok {
				continue
			}
			// Kept only while the delivery is (a deleted tenant's are not).
			if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (delivery_id, id, at, duration_ms, status_code, error_class, error, response_excerpt)
				SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?)`,
				row, a.ID, ms(a.At), a.DurationMS, a.StatusCode, string(a.ErrorClass), a.Error, a.ResponseExcerpt, row); err != nil {
				return err
			}
		}
		for _, w := range fx.Webhooks {
			if err := db.applyWebhookChange(ctx, tx, w, now); err != nil {
				return err
			}
		}
		return insertOutbox(ctx, tx, fx.Announce, now)
	})
	if err != nil {
		return fmt.Errorf("complete deliveries: %w", err)
	}
	return nil
}

// pruneDeliveries deletes one chunk of finished deliveries created before
// `before` and their attempts, and reports whether there may be more.
func (db *DB) pruneDeliveries(ctx context.Context, floor int64, before time.Time) (deleted int, more bool, err error) {
	err = db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT json_group_array(id), count(*) FROM (SELECT id FROM deliveries
			WHERE id < ? AND created_at < ? AND status != 'pending' LIMIT ?)`, floor, ms(before), pruneChunk)
		if err != nil {
			return err
		}
		var list string
		var n int
		if rows.Next() {
			err = rows.Scan(&list, &n)
		}
		rows.Close()
		if err != nil || n == 0 {
			return errors.Join(err, rows.Err())
		}
		more = n == pruneChunk
		for _, table := range []string{"attempts WHERE delivery_id", "deliveries WHERE id"} {
			res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` IN (SELECT value FROM json_each(?))`, list)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			deleted += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("prune deliveries: %w", err)
	}
	return deleted, more, nil
}

// applyWebhookChange writes what a batch of outcomes did to one webhook.
func (db *DB) applyWebhookChange(ctx context.Context, tx *sql.Tx, w hookd.WebhookChange, now time.Time) error {
	var err error
	webhookID := w.WebhookID
	switch w.Failing {
	case hookd.FailingCleared:
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, webhookID)
	case hookd.FailingRestarted:
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET failing_since = ? WHERE id = ?`, ms(w.At), webhookID)
	case hookd.FailingContinued:
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?`, ms(w.At), webhookID)
	}
	if err != nil {
		return fmt.Errorf("webhook %s health: %w", webhookID, err)
	}
	switch {
	case w.Delete:
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, webhookID); err != nil {
			return fmt.Errorf("delete webhook %s: %w", webhookID, err)
		}
		return db.cancelPending(ctx, tx, webhookID, now, "webhook deleted")
	case w.Disable:
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET enabled = 0, status = 'auto_disabled', updated_at = ? WHERE id = ?`, ms(now), webhookID)
		if err != nil {
			return fmt.Errorf("disable webhook %s: %w", webhookID, err)
		}
		return db.cancelPending(ctx, tx, webhookID, now, "webhook auto_disabled")
	}
	return nil
}

// nextDueSQL walks pending rows in due order, for NextDueAt and Stats to
// skip the ones leased in memory.
const nextDueSQL = `SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' ORDER BY next_attempt_at`

// firstFree returns the due time of the earliest pending delivery not
// leased at nowMS, or NULL. It reads past the leased ones, which are at
// most what the dispatcher holds.
func (db *DB) firstFree(ctx context.Context, nowMS int64) (sql.NullInt64, error) {
	var next sql.NullInt64
	rows, err := db.readHot[nextDueSQL].QueryContext(ctx)
	if err != nil {
		return next, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &next); err != nil {
			return next, err
		}
		if !db.leases.held(id, nowMS) {
			return next, nil
		}
	}
	return sql.NullInt64{}, rows.Err()
}

// NextDueAt implements hookd.Queue: the earliest due time of a pending
// delivery not leased, or the earliest lease expiry if sooner.
func (db *DB) NextDueAt(ctx context.Context) (*time.Time, error) {
	nowMS := ms(db.now())
	next, err := db.firstFree(ctx, nowMS)
	if err != nil {
		return nil, fmt.Errorf("next due: %w", err)
	}
	if n, expiry := db.leases.heldCount(nowMS); n > 0 && (!next.Valid || expiry < next.Int64) {
		next = sql.NullInt64{Int64: expiry, Valid: true}
	}
	return fromNullMS(next), nil
}

// Stats implements hookd.Queue. Leased counts the leases held in memory;
// their rows are pending and were due when claimed.
func (db *DB) Stats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	t := ms(now)
	var st hookd.QueueStats
	err := db.reader.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(next_attempt_at <= ?), 0)
		FROM deliveries WHERE status = 'pending'`, t).Scan(&st.Pending, &st.Due)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	st.Leased, _ = db.leases.heldCount(t)
	st.Due = max(0, st.Due-st.Leased)
	oldest, err := db.firstFree(ctx, t)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	if oldest.Valid && oldest.Int64 <= t {
		st.OldestDueAge = time.Duration(t-oldest.Int64) * time.Millisecond
	}
	return st, nil
}

// AutoDisableWebhooks implements hookd.Queue. Their pending deliveries are
// cancelled, as for a 410.
func (db *DB) AutoDisableWebhooks(ctx context.Context, failingBefore time.Time) ([]*hookd.Webhook, error) {
	now := db.now()
	var out []*hookd.Webhook
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE webhooks SET enabled = 0, status = 'auto_disabled', updated_at = ?
			WHERE failing_since IS NOT NULL AND failing_since < ? AND enabled = 1 AND status = 'active'
			RETURNING `+webhookColumns, ms(now), ms(failingBefore))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				return err
			}
			out = append(out, w)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, w := range out {
			if err := db.cancelPending(ctx, tx, w.ID, now, "webhook auto_disabled"); err != nil {
				return err
			}
			if err := insertOutbox(ctx, tx, []hookd.Announcement{hookd.AutoDisabledAnnouncement(w)}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auto-disable webhooks: %w", err)
	}
	return out, nil
}

// pruneEventsSQL deletes events inserted and created before a time whose
// deliveries are all gone: event numbers, like delivery rowids, begin with
// the insertion time.
const pruneEventsSQL = `DELETE FROM events WHERE number IN (SELECT e.number FROM events e
	WHERE e.number < ? AND e.created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d
		WHERE d.id >= e.first_delivery AND d.id < e.first_delivery + e.deliveries)
	LIMIT ?) RETURNING tenant_id, mode, id, labels`

// pruneLabelsSQL deletes the index rows of a deleted event's labels.
const pruneLabelsSQL = `DELETE FROM event_labels WHERE tenant_id = ? AND mode = ? AND event_id = ?
	AND label IN (SELECT value FROM json_each(?))`

// pruneChunk bounds how many rows one retention transaction deletes, so
// that publishes wait for the writer only briefly.
const pruneChunk = 1000

// Prune implements hookd.Queue, in transactions of at most pruneChunk
// deliveries (with their attempts) or events.
func (db *DB) Prune(ctx context.Context, before time.Time) (int, error) {
	// Delivery rowids and event numbers begin with their creation time
	// (rowid.go): every row made before `before` is below the first
	// rowid of `before`.
	floor := firstRowAt(before)
	total := 0
	for {
		n, more, err := db.pruneDeliveries(ctx, floor, before)
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			break
		}
	}
	for {
		var n int64
		err := db.write(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = pruneEvents(ctx, tx, floor, before)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += int(n)
		if n < pruneChunk {
			return total, nil
		}
	}
}

// pruneEvents deletes one chunk of events, and the label index rows of
// those that have labels, and returns how many events it deleted.
func pruneEvents(ctx context.Context, tx *sql.Tx, floor int64, before time.Time) (int64, error) {
	rows, err := tx.QueryContext(ctx, pruneEventsSQL, floor, ms(before), pruneChunk)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	type labelled struct{ tenant, mode, id, labels string }
	var n int64
	var ls []labelled
	for rows.Next() {
		var (
			l      labelled
			labels sql.NullString
		)
		if err := rows.Scan(&l.tenant, &l.mode, &l.id, &labels); err != nil {
			return 0, err
		}
		n++
		if labels.Valid {
			l.labels = labels.String
			ls = append(ls, l)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	for _, l := range ls {
		if _, err := tx.ExecContext(ctx, pruneLabelsSQL, l.tenant, l.mode, l.id, l.labels); err != nil {
			return 0, fmt.Errorf("delete labels: %w", err)
		}
	}
	return n, nil
}

// webhooksByID loads webhooks by id, across scopes.
func (db *DB) webhooksByID(ctx context.Context, tx *sql.Tx, ids []string) (map[string]*hookd.Webhook, error) {
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	st, err := db.stmt(ctx, tx, webhooksByIDSQL)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	rows, err := st.QueryContext(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*hookd.Webhook, len(ids))
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
		out[w.ID] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	return out, nil
}

// Instances implements hookd.Queue: a SQLite file is served by one process
// (its leases live in that process's memory, and serve locks the file).
func (db *DB) Instances(context.Context, string, time.Time, time.Duration) (int, error) {
	return 1, nil
}
