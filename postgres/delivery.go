package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const deliveryColumns = `id, tenant_id, mode, event_id, webhook_id, event_type, status, attempts, next_attempt_at,
	last_error, last_status, created_at, updated_at, manual`

// qualifiedDeliveryColumns is deliveryColumns of deliveries d, for joins.
const qualifiedDeliveryColumns = `d.id, d.tenant_id, d.mode, d.event_id, d.webhook_id, d.event_type, d.status, d.attempts,
	d.next_attempt_at, d.last_error, d.last_status, d.created_at, d.updated_at, d.manual`

// scanDelivery reads deliveryColumns; the manual flag goes to manual.
func scanDelivery(r pgx.Row, manual *bool) (*hookd.Delivery, error) {
	var (
		d            hookd.Delivery
		mode, status string
	)
	err := r.Scan(&d.ID, &d.TenantID, &mode, &d.EventID, &d.WebhookID, &d.EventType, &status, &d.Attempts, &d.NextAttemptAt,
		&d.LastError, &d.LastStatus, &d.CreatedAt, &d.UpdatedAt, manual)
	if err != nil {
		return nil, err
	}
	d.Manual = *manual
	d.Mode, d.Status = hookd.Mode(mode), hookd.DeliveryStatus(status)
	d.NextAttemptAt = utcPtr(d.NextAttemptAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func scanDeliveryOnly(r pgx.Row) (*hookd.Delivery, error) {
	var manual bool
	return scanDelivery(r, &manual)
}

// FindDeliveries implements hookd.DeliveryStore.
func (db *DB) FindDeliveries(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter) ([]*hookd.Delivery, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE tenant_id = $1 AND mode = $2 AND ($3 = '' OR webhook_id = $3) AND ($4 = '' OR event_id = $4)
		AND ($5 = '' OR status = $5)
		AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
		AND ($8 = '' OR id < $8) AND ($11 = '' OR event_type = $11) ORDER BY id DESC LIMIT $9 OFFSET $10`,
		s.TenantID, string(s.Mode), f.WebhookID, f.EventID, string(f.Status), pgTimePtr(f.Since), pgTimePtr(f.Until),
		f.Cursor, f.Limit, offsetUnlessCursor(f.Page), f.EventType)
	out, err := collect(rows, scanDeliveryOnly)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	return out, nil
}

func findDelivery(ctx context.Context, q pgxQuerier, s hookd.Scope, id string, forUpdate bool) (*hookd.Delivery, error) {
	query := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id = $1 AND tenant_id = $2 AND mode = $3`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	d, err := scanDeliveryOnly(q.QueryRow(ctx, query, id, s.TenantID, string(s.Mode)))
	if err != nil {
		return nil, notFound(err, "delivery %s", id)
	}
	return d, nil
}

// FindDeliveryByID implements hookd.DeliveryStore.
func (db *DB) FindDeliveryByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Delivery, []*hookd.Attempt, error) {
	d, err := findDelivery(ctx, db.pool, s, id, false)
	if err != nil {
		return nil, nil, err
	}
	rows, _ := db.pool.Query(ctx, `SELECT id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt
		FROM attempts WHERE delivery_id = $1 ORDER BY seq`, id)
	attempts, err := collect(rows, func(r pgx.Row) (*hookd.Attempt, error) {
		var (
			a     hookd.Attempt
			class string
		)
		if err := r.Scan(&a.ID, &a.DeliveryID, &a.At, &a.DurationMS, &a.StatusCode, &class, &a.Error, &a.ResponseExcerpt); err != nil {
			return nil, err
		}
		a.At = a.At.UTC()
		a.Duration = time.Duration(a.DurationMS) * time.Millisecond
		a.ErrorClass = hookd.ErrorClass(class)
		return &a, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find attempts: %w", err)
	}
	return d, attempts, nil
}

// RequeueDelivery implements hookd.DeliveryStore. The row is locked (FOR
// UPDATE) from the read to the write.
func (db *DB) RequeueDelivery(ctx context.Context, s hookd.Scope, id string, dueAt time.Time, decide func(*hookd.Delivery) (bool, error)) (*hookd.Delivery, error) {
	dueAt = pgTime(dueAt)
	var d *hookd.Delivery
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := findDelivery(ctx, tx, s, id, true)
		if err != nil {
			return err
		}
		manual, err := decide(cur)
		if err != nil {
			return err
		}
		d, err = scanDeliveryOnly(tx.QueryRow(ctx, `WITH d AS (UPDATE deliveries SET status = 'pending', next_attempt_at = $1,
				manual = $2, updated_at = $1 WHERE id = $3 RETURNING *),
			q AS (`+enqueueSQL+`)
			SELECT `+deliveryColumns+` FROM d`, dueAt, manual, id))
		if err != nil {
			return fmt.Errorf("requeue delivery: %w", err)
		}
		return notify(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RequeueDeliveries implements hookd.DeliveryStore.
func (db *DB) RequeueDeliveries(ctx context.Context, s hookd.Scope, r hookd.Requeue) (int, error) {
	statuses := make([]string, len(r.Statuses))
	for i, st := range r.Statuses {
		statuses[i] = string(st)
	}
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `WITH d AS (UPDATE deliveries SET status = 'pending', next_attempt_at = $1, manual = $2, updated_at = $1
				WHERE webhook_id = $3 AND tenant_id = $4 AND mode = $5 AND status = ANY($6) AND created_at >= $7 AND created_at < $8
				RETURNING *)
			`+enqueueSQL,
			pgTime(r.DueAt), r.Manual, r.WebhookID, s.TenantID, string(s.Mode), statuses, pgTime(r.CreatedSince), pgTime(r.CreatedUntil))
		if err != nil {
			return fmt.Errorf("requeue deliveries: %w", err)
		}
		if n = tag.RowsAffected(); n > 0 {
			return notify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// enqueueSQL puts the deliveries of d (updated to pending, due at $1) in the
// queue, or back at the head of it without a lease if they were there:
// a lease still held on one is lost, as for a finished delivery.
const enqueueSQL = `INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
	SELECT id, tenant_id, webhook_id, $1 FROM d
	ON CONFLICT (delivery_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at, lease_owner = NULL, lease_until = NULL`

// notifySQL wakes the dispatchers of every instance when the transaction commits.
const notifySQL = `SELECT pg_notify('` + notifyChannel + `', '')`

func notify(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, notifySQL); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}
