package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const webhookColumns = `number, id, tenant_id, mode, name, description, url, event_types, filter, fields,
	enabled, status, secret, single_use, expires_at, tls_verify, headers, rate_limit, metadata, source,
	created_at, updated_at, previous_secret, previous_secret_expires_at, failing_since`

// webhookWriteColumns are webhookColumns without number, which the database assigns.
var webhookWriteColumns = strings.Split(strings.Join(strings.Fields(strings.TrimPrefix(webhookColumns, "number, ")), ""), ",")

func scanWebhook(r pgx.Row) (*hookd.Webhook, error) {
	var (
		w            hookd.Webhook
		mode, status string
		filter       []byte
		rateLimit    *int32
	)
	err := r.Scan(&w.Number, &w.ID, &w.TenantID, &mode, &w.Name, &w.Description, &w.URL, &w.EventTypes, &filter, &w.Fields,
		&w.Enabled, &status, &w.Secret, &w.SingleUse, &w.ExpiresAt, &w.TLSVerify, &w.Headers, &rateLimit, &w.Metadata, &w.Source,
		&w.CreatedAt, &w.UpdatedAt, &w.PreviousSecret, &w.PreviousSecretExpiresAt, &w.FailingSince)
	if err != nil {
		return nil, err
	}
	w.Mode, w.Status = hookd.Mode(mode), hookd.WebhookStatus(status)
	if len(filter) > 0 {
		w.Filter = json.RawMessage(filter)
	}
	if rateLimit != nil {
		n := int(*rateLimit)
		w.RateLimit = &n
	}
	w.FillEmpty()
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	w.ExpiresAt = utcPtr(w.ExpiresAt)
	w.PreviousSecretExpiresAt = utcPtr(w.PreviousSecretExpiresAt)
	w.FailingSince = utcPtr(w.FailingSince)
	return &w, nil
}

// webhookValues are w's columns in webhookWriteColumns order.
func webhookValues(w *hookd.Webhook) []any {
	var filter []byte
	if len(w.Filter) > 0 && string(w.Filter) != "null" {
		filter = w.Filter
	}
	var rateLimit *int32
	if w.RateLimit != nil {
		n := int32(*w.RateLimit) // Validate bounds it by MaxRateLimit
		rateLimit = &n
	}
	w.FillEmpty()
	return []any{w.ID, w.TenantID, string(w.Mode), w.Name, w.Description, w.URL, w.EventTypes, filter,
		w.Fields, w.Enabled, string(w.Status), w.Secret, w.SingleUse, w.ExpiresAt, w.TLSVerify,
		w.Headers, rateLimit, w.Metadata, w.Source, w.CreatedAt, w.UpdatedAt, w.PreviousSecret,
		w.PreviousSecretExpiresAt, w.FailingSince}
}

// normalizeWebhook keeps times at the store's precision and drops a null filter.
func normalizeWebhook(w *hookd.Webhook) {
	w.ExpiresAt = pgTimePtr(w.ExpiresAt)
	w.PreviousSecretExpiresAt = pgTimePtr(w.PreviousSecretExpiresAt)
	w.FailingSince = pgTimePtr(w.FailingSince)
	if string(w.Filter) == "null" || len(w.Filter) == 0 {
		w.Filter = nil
	}
}

var insertWebhookSQL = `INSERT INTO webhooks (` + strings.Join(webhookWriteColumns, ", ") + `) VALUES (` +
	placeholders(1, len(webhookWriteColumns)) + `) RETURNING number`

var updateWebhookSQL = func() string {
	set := make([]string, len(webhookWriteColumns))
	for i, c := range webhookWriteColumns {
		set[i] = fmt.Sprintf("%s = $%d", c, i+1)
	}
	return `UPDATE webhooks SET ` + strings.Join(set, ", ") + fmt.Sprintf(` WHERE number = $%d`, len(set)+1)
}()

// placeholders returns "$from, $from+1, …" with n marks.
func placeholders(from, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(marks, ", ")
}

// InsertWebhook implements hookd.WebhookStore.
func (db *DB) InsertWebhook(ctx context.Context, w *hookd.Webhook, max *int, announce ...hookd.Announcement) error {
	normalizeWebhook(w)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if max == nil {
			if err := tx.QueryRow(ctx, insertWebhookSQL, webhookValues(w)...).Scan(&w.Number); err != nil {
				return fmt.Errorf("insert webhook: %w", badText(err, "webhook fields"))
			}
			return insertOutbox(ctx, tx, announce, db.now())
		}
		// The tenant's row lock serializes its inserts. The count is a
		// statement of its own: in READ COMMITTED each statement sees what
		// committed before it began, so it counts the webhooks inserted by
		// the transaction that held the lock before (a subquery of the
		// locking statement would count from before the wait).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, w.TenantID).Scan(&one); err != nil {
			return notFound(err, "tenant %s", w.TenantID)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE tenant_id = $1 AND mode = $2`, w.TenantID, string(w.Mode)).Scan(&n); err != nil {
			return fmt.Errorf("count webhooks: %w", err)
		}
		if n >= *max {
			return hookd.Errorf(hookd.EFORBIDDEN, "the scope has %d webhooks, its limit", n)
		}
		if err := tx.QueryRow(ctx, insertWebhookSQL, webhookValues(w)...).Scan(&w.Number); err != nil {
			return fmt.Errorf("insert webhook: %w", badText(err, "webhook fields"))
		}
		return insertOutbox(ctx, tx, announce, db.now())
	})
}

// FindWebhookByID implements hookd.WebhookStore.
func (db *DB) FindWebhookByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Webhook, error) {
	return findWebhook(ctx, db.pool, s, id, false)
}

// findWebhook reads one webhook of the scope, locking it for update if asked.
func findWebhook(ctx context.Context, q pgxQuerier, s hookd.Scope, id string, forUpdate bool) (*hookd.Webhook, error) {
	query := `SELECT ` + webhookColumns + ` FROM webhooks WHERE tenant_id = $1 AND mode = $2 AND id = $3`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	w, err := scanWebhook(q.QueryRow(ctx, query, s.TenantID, string(s.Mode), id))
	if err != nil {
		return nil, notFound(err, "webhook %s", id)
	}
	return w, nil
}

// FindWebhookByNumber implements hookd.WebhookStore.
func (db *DB) FindWebhookByNumber(ctx context.Context, s hookd.Scope, n int64) (*hookd.Webhook, error) {
	w, err := scanWebhook(db.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE tenant_id = $1 AND mode = $2 AND number = $3`, s.TenantID, string(s.Mode), n))
	if err != nil {
		return nil, notFound(err, "webhook %d", n)
	}
	return w, nil
}

// ListWebhooks implements hookd.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, s hookd.Scope, q hookd.WebhookQuery) ([]*hookd.Webhook, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE tenant_id = $1 AND mode = $2 AND ($3 = '' OR url = $3) AND ($4::boolean IS NULL OR enabled = $4)
		AND ($5 = '' OR name = $5) ORDER BY id`,
		s.TenantID, string(s.Mode), q.URL, q.Enabled, q.Name)
	all, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return all, nil
}

// UpdateWebhook implements hookd.WebhookStore. The row is locked (FOR
// UPDATE) from the read to the write.
func (db *DB) UpdateWebhook(ctx context.Context, s hookd.Scope, id string, change func(*hookd.Webhook) (hookd.WebhookWrite, error)) (*hookd.Webhook, error) {
	var w *hookd.Webhook
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if w, err = findWebhook(ctx, tx, s, id, true); err != nil {
			return err
		}
		wr, err := change(w)
		if err != nil {
			return err
		}
		normalizeWebhook(w)
		if _, err := tx.Exec(ctx, updateWebhookSQL, append(webhookValues(w), w.Number)...); err != nil {
			return fmt.Errorf("update webhook: %w", badText(err, "webhook fields"))
		}
		if err := insertOutbox(ctx, tx, wr.Announce, db.now()); err != nil {
			return err
		}
		if wr.CancelPending != "" {
			return cancelPending(ctx, tx, []string{w.ID}, db.now(), wr.CancelPending)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// cancelPendingSQL cancels every pending delivery of the webhooks $1: their
// queue rows go (leases with them, so late outcomes find their lease lost).
const cancelPendingSQL = `WITH c AS (DELETE FROM queue WHERE webhook_id = ANY($1) RETURNING delivery_id)
	UPDATE deliveries d SET status = 'cancelled', next_attempt_at = NULL, manual = false, last_error = $2, updated_at = $3
	FROM c WHERE d.id = c.delivery_id`

// cancelPending cancels every pending delivery of the webhooks ids, and
// tells every instance, when tx commits, to start no new request to them.
func cancelPending(ctx context.Context, tx pgx.Tx, ids []string, now time.Time, why string) error {
	if _, err := tx.Exec(ctx, cancelPendingSQL, ids, why, now); err != nil {
		return fmt.Errorf("cancel deliveries of webhooks %v: %w", ids, err)
	}
	for _, change := range hookd.StopChanges(ids) {
		if err := notifyChange(ctx, tx, change); err != nil {
			return err
		}
	}
	return nil
}

// DeleteWebhook implements hookd.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, s hookd.Scope, id, why string, announce ...hookd.Announcement) error {
	now := db.now()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE tenant_id = $1 AND mode = $2 AND id = $3`, s.TenantID, string(s.Mode), id)
		if err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
		}
		if err := insertOutbox(ctx, tx, announce, now); err != nil {
			return err
		}
		return cancelPending(ctx, tx, []string{id}, now, why)
	})
}
