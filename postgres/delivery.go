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
	d.Mode, d.Status = hookd.Mode(mode), hookd.DeliveryStatus(status)
	d.NextAttemptAt = utcPtr(d.NextAttemptAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func scanDeliveryOnly(r pgx.Row) (*hookd.Delivery, error) {
	var manual bool
	return scanDelivery(r, &manual)
}

// FindDeliveries implements hookd.DeliveryService.
func (db *DB) FindDeliveries(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter) ([]*hookd.Delivery, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE tenant_id = $1 AND mode = $2 AND ($3 = '' OR webhook_id = $3) AND ($4 = '' OR event_id = $4)
		AND ($5 = '' OR status = $5)
		AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
		AND ($8 = '' OR id < $8) ORDER BY id DESC LIMIT $9 OFFSET $10`,
		s.TenantID, string(s.Mode), f.WebhookID, f.EventID, string(f.Status), pgTimePtr(f.Since), pgTimePtr(f.Until),
		f.Cursor, f.Limit, offsetUnlessCursor(f.Page))
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

// FindDeliveryByID implements hookd.DeliveryService.
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

// RetryDelivery implements hookd.DeliveryService. A delivery that is not
// pending becomes a manual one: one attempt, not rescheduled on failure.
func (db *DB) RetryDelivery(ctx context.Context, s hookd.Scope, id string) (*hookd.Delivery, error) {
	now := db.now()
	var d *hookd.Delivery
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if d, err = findDelivery(ctx, tx, s, id, true); err != nil {
			return err
		}
		if _, err := findWebhook(ctx, tx, s, d.WebhookID, false); hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ECONFLICT, "delivery %s cannot be retried: its webhook %s was deleted", id, d.WebhookID)
		} else if err != nil {
			return err
		}
		d, err = scanDeliveryOnly(tx.QueryRow(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = $1,
			manual = (status <> 'pending'), lease_owner = NULL, lease_until = NULL, updated_at = $1
			WHERE id = $2 RETURNING `+deliveryColumns, now, id))
		if err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		return notify(ctx, tx)
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
		end = pgTime(*until)
	}
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := findWebhook(ctx, tx, s, webhookID, false); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, manual = true,
			lease_owner = NULL, lease_until = NULL, updated_at = $1
			WHERE webhook_id = $2 AND tenant_id = $3 AND mode = $4 AND status = 'failed' AND created_at >= $5 AND created_at < $6`,
			now, webhookID, s.TenantID, string(s.Mode), pgTime(since), end)
		if err != nil {
			return fmt.Errorf("recover webhook: %w", err)
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

// notifySQL wakes the dispatchers of every instance when the transaction commits.
const notifySQL = `SELECT pg_notify('` + notifyChannel + `', '')`

func notify(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, notifySQL); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}
