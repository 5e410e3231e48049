package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const deliveryColumns = `id, event_number, tenant_id, mode, event_id, webhook_id, event_type, status, attempts, next_attempt_at,
	last_error, last_status, created_at, updated_at, manual`

// scanDelivery reads deliveryColumns; the manual flag goes to manual, the
// event's rowid to eventNumber.
func scanDelivery(s scanner, manual *bool, eventNumber *int64) (*hookd.Delivery, error) {
	var (
		d                hookd.Delivery
		row              int64
		mode, status     string
		next             sql.NullInt64
		created, updated int64
	)
	err := s.Scan(&row, eventNumber, &d.TenantID, &mode, &d.EventID, &d.WebhookID, &d.EventType, &status, &d.Attempts, &next,
		&d.LastError, &d.LastStatus, &created, &updated, manual)
	if err != nil {
		return nil, err
	}
	d.ID = deliveryID(row)
	d.Manual = *manual
	d.Mode, d.Status = hookd.Mode(mode), hookd.DeliveryStatus(status)
	d.NextAttemptAt = fromNullMS(next)
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return &d, nil
}

// FindDeliveries implements hookd.DeliveryStore.
func (db *DB) FindDeliveries(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter) ([]*hookd.Delivery, error) {
	var event *[2]int64
	if f.EventID != "" {
		// The event's deliveries are a range of rowids.
		var first, n int64
		err := db.reader.QueryRowContext(ctx, eventRangeSQL, s.TenantID, string(s.Mode), f.EventID).Scan(&first, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return []*hookd.Delivery{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("find deliveries: %w", err)
		}
		event = &[2]int64{first, first + n}
	}
	q, args, err := deliveriesQuery(s, f, event)
	if err != nil {
		return nil, err
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Delivery{}
	for rows.Next() {
		var (
			manual bool
			event  int64
		)
		d, err := scanDelivery(rows, &manual, &event)
		if err != nil {
			return nil, fmt.Errorf("find deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	return out, nil
}

// findDelivery finds a delivery of scope s, and returns its rowid.
const eventRangeSQL = `SELECT first_delivery, deliveries FROM events WHERE tenant_id = ? AND mode = ? AND id = ?`

// deliveriesQuery is FindDeliveries' query for f, with event the rowid
// range [first, end) of f.EventID's deliveries. Every filter that narrows
// the rowids does so in the index's range: an index entry ends in the rowid.
func deliveriesQuery(s hookd.Scope, f hookd.DeliveryFilter, event *[2]int64) (string, []any, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE tenant_id = ? AND mode = ?`
	args := []any{s.TenantID, string(s.Mode)}
	// Without statistics the planner cannot tell a rare status or type
	// from a common one, and a wrong guess walks the scope's million rows:
	// take the index of the filter that is most often the rare one. A
	// status other than succeeded (failed, pending, cancelled) usually is;
	// a status and a type are walked by status. deliveries_status leaves
	// succeeded rows out (a success, the usual outcome, then writes no
	// entry of it): the literal term lets the planner use it.
	switch {
	case f.WebhookID != "" || event != nil:
	case f.Status != "" && f.Status != hookd.DeliverySucceeded:
		q = `SELECT ` + deliveryColumns + ` FROM deliveries INDEXED BY deliveries_status WHERE tenant_id = ? AND mode = ? AND status <> 'succeeded'`
	case f.EventType != "":
		q = `SELECT ` + deliveryColumns + ` FROM deliveries INDEXED BY deliveries_event_type WHERE tenant_id = ? AND mode = ?`
	}
	if f.WebhookID != "" {
		// Without statistics the planner prefers the two-column scope index,
		// which holds every delivery of the scope.
		q = `SELECT ` + deliveryColumns + ` FROM deliveries INDEXED BY deliveries_webhook WHERE webhook_id = ? AND tenant_id = ? AND mode = ?`
		args = []any{f.WebhookID, s.TenantID, string(s.Mode)}
	}
	if event != nil {
		q += ` AND id >= ? AND id < ?`
		args = append(args, event[0], event[1])
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.EventType != "" {
		q += ` AND event_type = ?`
		args = append(args, f.EventType)
	}
	if f.Since != nil {
		// A delivery's rowid is at least the first of its creation time.
		q += ` AND id >= ?`
		args = append(args, firstRowAt(*f.Since))
	}
	if f.Until != nil {
		// And it is the first of its creation time unless more than a
		// million deliveries were made in a millisecond, or the clock
		// stepped back: those few (whose ids show the later time) are
		// placed by their ids' time, so that a time before most rows does
		// not walk them all.
		q += ` AND id < ?`
		args = append(args, firstRowAt(*f.Until))
	}
	page := f.Page
	if page.Cursor != "" {
		row, ok := deliveryRow(page.Cursor)
		if !ok {
			return "", nil, hookd.Errorf(hookd.EINVALID, "cursor %q is not a delivery id", page.Cursor)
		}
		q += ` AND id < ?`
		args = append(args, row)
		page.Cursor, page.Offset = "", 0
	}
	q, args = newestFirst(q, args, f.Since, f.Until, page)
	return q, args, nil
}

func findDelivery(ctx context.Context, q querier, s hookd.Scope, id string) (*hookd.Delivery, int64, error) {
	row, ok := deliveryRow(id)
	if !ok {
		return nil, 0, hookd.Errorf(hookd.ENOTFOUND, "delivery %s not found", id)
	}
	var (
		manual bool
		event  int64
	)
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ? AND tenant_id = ? AND mode = ?`,
		row, s.TenantID, string(s.Mode)), &manual, &event)
	if err != nil {
		return nil, 0, notFound(err, "find delivery", fmt.Sprintf("delivery %s not found", id))
	}
	return d, row, nil
}

// FindDeliveryByID implements hookd.DeliveryStore.
func (db *DB) FindDeliveryByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Delivery, []*hookd.Attempt, error) {
	d, row, err := findDelivery(ctx, db.reader, s, id)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt
		FROM attempts WHERE delivery_id = ? ORDER BY id`, row)
	if err != nil {
		return nil, nil, fmt.Errorf("find attempts: %w", err)
	}
	defer rows.Close()
	attempts := []*hookd.Attempt{}
	for rows.Next() {
		var (
			a     hookd.Attempt
			at    int64
			class string
		)
		var delivery int64
		if err := rows.Scan(&a.ID, &delivery, &at, &a.DurationMS, &a.StatusCode, &class, &a.Error, &a.ResponseExcerpt); err != nil {
			return nil, nil, fmt.Errorf("find attempts: %w", err)
		}
		a.DeliveryID = id
		a.At = fromMS(at)
		a.Duration = time.Duration(a.DurationMS) * time.Millisecond
		a.ErrorClass = hookd.ErrorClass(class)
		attempts = append(attempts, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("find attempts: %w", err)
	}
	return d, attempts, nil
}

// RequeueDelivery implements hookd.DeliveryStore.
func (db *DB) RequeueDelivery(ctx context.Context, s hookd.Scope, id string, dueAt time.Time, decide func(*hookd.Delivery) (bool, error)) (*hookd.Delivery, error) {
	var d *hookd.Delivery
	err := db.write(ctx, func(tx *sql.Tx) error {
		cur, row, err := findDelivery(ctx, tx, s, id)
		if err != nil {
			return err
		}
		manual, err := decide(cur)
		if err != nil {
			return err
		}
		var event int64
		d, err = scanDelivery(tx.QueryRowContext(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?,
			manual = ?, updated_at = ? WHERE id = ? RETURNING `+deliveryColumns, ms(dueAt), boolInt(manual), ms(dueAt), row), &manual, &event)
		if err != nil {
			return fmt.Errorf("requeue delivery: %w", err)
		}
		db.finishOnCommit(row) // a lease held on it is lost: its outcome is not written
		db.requeueOnCommit(ms(dueAt))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// requeueDeliveriesSQL makes a webhook's deliveries of a time window and
// of one of n statuses pending. A delivery's rowid is at least the first of
// its creation time, which bounds the index range from below.
func requeueDeliveriesSQL(n int) string {
	return `UPDATE deliveries INDEXED BY deliveries_webhook SET status = 'pending', next_attempt_at = ?, manual = ?, updated_at = ?
		WHERE webhook_id = ? AND id >= ? AND tenant_id = ? AND mode = ? AND status IN (` + placeholders(n) + `)
		AND created_at >= ? AND created_at < ?`
}

// RequeueDeliveries implements hookd.DeliveryStore.
func (db *DB) RequeueDeliveries(ctx context.Context, s hookd.Scope, r hookd.Requeue) (int, error) {
	if len(r.Statuses) == 0 {
		return 0, nil
	}
	args := []any{ms(r.DueAt), boolInt(r.Manual), ms(r.DueAt), r.WebhookID, firstRowAt(r.CreatedSince), s.TenantID, string(s.Mode)}
	for _, st := range r.Statuses {
		args = append(args, string(st))
	}
	args = append(args, ms(r.CreatedSince), ms(r.CreatedUntil))
	q := requeueDeliveriesSQL(len(r.Statuses))
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("requeue deliveries: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("requeue deliveries: %w", err)
		}
		if n > 0 {
			db.requeueOnCommit(ms(r.DueAt)) // due now: claims walk from the start again
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
