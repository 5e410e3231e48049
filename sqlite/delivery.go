package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const deliveryColumns = `id, tenant_id, mode, event_id, webhook_id, event_type, status, attempts, next_attempt_at,
	last_error, last_status, created_at, updated_at, manual`

// scanDelivery reads deliveryColumns; the manual flag goes to manual.
func scanDelivery(s scanner, manual *bool) (*hookd.Delivery, error) {
	var (
		d                hookd.Delivery
		mode, status     string
		next             sql.NullInt64
		created, updated int64
	)
	err := s.Scan(&d.ID, &d.TenantID, &mode, &d.EventID, &d.WebhookID, &d.EventType, &status, &d.Attempts, &next,
		&d.LastError, &d.LastStatus, &created, &updated, manual)
	if err != nil {
		return nil, err
	}
	d.Mode, d.Status = hookd.Mode(mode), hookd.DeliveryStatus(status)
	d.NextAttemptAt = fromNullMS(next)
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return &d, nil
}

// FindDeliveries implements hookd.DeliveryService.
func (db *DB) FindDeliveries(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter) ([]*hookd.Delivery, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, err
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE tenant_id = ? AND mode = ?`
	args := []any{s.TenantID, string(s.Mode)}
	if f.WebhookID != "" {
		q += ` AND webhook_id = ?`
		args = append(args, f.WebhookID)
	}
	if f.EventID != "" {
		q += ` AND event_id = ?`
		args = append(args, f.EventID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q, args = newestFirst(q, args, f.Since, f.Until, f.Page)
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Delivery{}
	for rows.Next() {
		var manual bool
		d, err := scanDelivery(rows, &manual)
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

func findDelivery(ctx context.Context, q querier, s hookd.Scope, id string) (*hookd.Delivery, error) {
	var manual bool
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ? AND tenant_id = ? AND mode = ?`,
		id, s.TenantID, string(s.Mode)), &manual)
	if err != nil {
		return nil, notFound(err, "find delivery", fmt.Sprintf("delivery %s not found", id))
	}
	return d, nil
}

// FindDeliveryByID implements hookd.DeliveryService.
func (db *DB) FindDeliveryByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Delivery, []*hookd.Attempt, error) {
	d, err := findDelivery(ctx, db.reader, s, id)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT id, delivery_id, at, duration_ms, status_code, error_class, error, response_excerpt
		FROM attempts WHERE delivery_id = ? ORDER BY id`, id)
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
		if err := rows.Scan(&a.ID, &a.DeliveryID, &at, &a.DurationMS, &a.StatusCode, &class, &a.Error, &a.ResponseExcerpt); err != nil {
			return nil, nil, fmt.Errorf("find attempts: %w", err)
		}
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

// RetryDelivery implements hookd.DeliveryService. A delivery that is not
// pending becomes a manual one: one attempt, not rescheduled on failure.
func (db *DB) RetryDelivery(ctx context.Context, s hookd.Scope, id string) (*hookd.Delivery, error) {
	now := db.now()
	var d *hookd.Delivery
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = findDelivery(ctx, tx, s, id); err != nil {
			return err
		}
		if _, err := findWebhook(ctx, tx, s, d.WebhookID); hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ECONFLICT, "delivery %s cannot be retried: its webhook %s was deleted", id, d.WebhookID)
		} else if err != nil {
			return err
		}
		var manual bool
		d, err = scanDelivery(tx.QueryRowContext(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?,
			manual = CASE WHEN status = 'pending' THEN manual ELSE 1 END, updated_at = ?
			WHERE id = ? RETURNING `+deliveryColumns, ms(now), ms(now), id), &manual)
		if err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		db.finishOnCommit(id) // a lease held on it is lost: its outcome is not written
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RecoverWebhook implements hookd.DeliveryService. Recovered deliveries are
// manual: one more attempt each.
func (db *DB) RecoverWebhook(ctx context.Context, s hookd.Scope, webhookID string, since time.Time, until *time.Time) (int, error) {
	now := db.now()
	end := now
	if until != nil {
		end = *until
	}
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := findWebhook(ctx, tx, s, webhookID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, manual = 1, updated_at = ?
			WHERE webhook_id = ? AND tenant_id = ? AND mode = ? AND status = 'failed' AND created_at >= ? AND created_at < ?`,
			ms(now), ms(now), webhookID, s.TenantID, string(s.Mode), ms(since), ms(end))
		if err != nil {
			return fmt.Errorf("recover webhook: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
