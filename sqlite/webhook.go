package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const webhookColumns = `number, id, tenant_id, mode, name, description, url, event_types, filter, fields,
	enabled, status, secret, single_use, expires_at, tls_verify, headers, rate_limit, metadata, source,
	created_at, updated_at, previous_secret, previous_secret_expires_at, failing_since`

// updateWebhookSQL writes every column of webhookColumns but number, in
// webhookValues' order, to the row numbered by the last argument.
var updateWebhookSQL = func() string {
	cols := strings.Split(strings.TrimPrefix(webhookColumns, "number, "), ",")
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = strings.TrimSpace(c) + " = ?"
	}
	return `UPDATE webhooks SET ` + strings.Join(set, ", ") + ` WHERE number = ?`
}()

func scanWebhook(s scanner) (*hookd.Webhook, error) {
	var (
		w                                        hookd.Webhook
		mode, status                             string
		eventTypes, fields, headers, metadata    []byte
		filter                                   []byte
		enabled, singleUse, tlsVerify            bool
		expires, rateLimit, prevExpires, failing sql.NullInt64
		created, updated                         int64
	)
	err := s.Scan(&w.Number, &w.ID, &w.TenantID, &mode, &w.Name, &w.Description, &w.URL, &eventTypes, &filter, &fields,
		&enabled, &status, &w.Secret, &singleUse, &expires, &tlsVerify, &headers, &rateLimit, &metadata, &w.Source,
		&created, &updated, &w.PreviousSecret, &prevExpires, &failing)
	if err != nil {
		return nil, err
	}
	w.Mode, w.Status = hookd.Mode(mode), hookd.WebhookStatus(status)
	w.Enabled, w.SingleUse, w.TLSVerify = enabled, singleUse, tlsVerify
	if err := unmarshalColumns(
		eventTypes, &w.EventTypes, fields, &w.Fields, headers, &w.Headers, metadata, &w.Metadata,
	); err != nil {
		return nil, fmt.Errorf("webhook %s: %w", w.ID, err)
	}
	if len(filter) > 0 {
		w.Filter = json.RawMessage(filter)
	}
	w.ExpiresAt = fromNullMS(expires)
	if rateLimit.Valid {
		n := int(rateLimit.Int64)
		w.RateLimit = &n
	}
	w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
	w.PreviousSecretExpiresAt = fromNullMS(prevExpires)
	w.FailingSince = fromNullMS(failing)
	return &w, nil
}

// unmarshalColumns decodes pairs of (JSON text, destination).
func unmarshalColumns(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		if err := json.Unmarshal(pairs[i].([]byte), pairs[i+1]); err != nil {
			return fmt.Errorf("decode JSON column: %w", err)
		}
	}
	return nil
}

// webhookValues are the stored forms of w's columns after number, in
// webhookColumns order.
func webhookValues(w *hookd.Webhook) ([]any, error) {
	w.FillEmpty()
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	eventTypes, err := enc(w.EventTypes)
	if err != nil {
		return nil, err
	}
	fields, err := enc(w.Fields)
	if err != nil {
		return nil, err
	}
	headers, err := enc(w.Headers)
	if err != nil {
		return nil, err
	}
	metadata, err := enc(w.Metadata)
	if err != nil {
		return nil, err
	}
	var filter any
	if len(w.Filter) > 0 && string(w.Filter) != "null" {
		filter = string(w.Filter)
	}
	var rateLimit any
	if w.RateLimit != nil {
		rateLimit = *w.RateLimit
	}
	return []any{w.ID, w.TenantID, string(w.Mode), w.Name, w.Description, w.URL, eventTypes, filter, fields,
		boolInt(w.Enabled), string(w.Status), w.Secret, boolInt(w.SingleUse), msPtr(w.ExpiresAt), boolInt(w.TLSVerify),
		headers, rateLimit, metadata, w.Source, ms(w.CreatedAt), ms(w.UpdatedAt), w.PreviousSecret,
		msPtr(w.PreviousSecretExpiresAt), msPtr(w.FailingSince)}, nil
}

// normalizeWebhook keeps times at the store's precision and drops a null filter.
func normalizeWebhook(w *hookd.Webhook) {
	w.ExpiresAt = truncPtr(w.ExpiresAt)
	w.PreviousSecretExpiresAt = truncPtr(w.PreviousSecretExpiresAt)
	w.FailingSince = truncPtr(w.FailingSince)
	if string(w.Filter) == "null" || len(w.Filter) == 0 {
		w.Filter = nil
	}
}

// InsertWebhook implements hookd.WebhookStore.
func (db *DB) InsertWebhook(ctx context.Context, w *hookd.Webhook, max *int, announce ...hookd.Announcement) error {
	normalizeWebhook(w)
	vals, err := webhookValues(w)
	if err != nil {
		return fmt.Errorf("insert webhook: %w", err)
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if max != nil {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE tenant_id = ? AND mode = ?`, w.TenantID, string(w.Mode)).Scan(&n); err != nil {
				return fmt.Errorf("count webhooks: %w", err)
			}
			if n >= *max {
				return hookd.Errorf(hookd.EFORBIDDEN, "the scope has %d webhooks, its limit", n)
			}
		}
		cols := strings.TrimPrefix(webhookColumns, "number, ")
		err := tx.QueryRowContext(ctx, `INSERT INTO webhooks (`+cols+`) VALUES (`+placeholders(len(vals))+`) RETURNING number`, vals...).Scan(&w.Number)
		if err != nil {
			return fmt.Errorf("insert webhook: %w", err)
		}
		return insertOutbox(ctx, tx, announce, db.now())
	})
}

// FindWebhookByID implements hookd.WebhookStore.
func (db *DB) FindWebhookByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Webhook, error) {
	return findWebhook(ctx, db.reader, s, id)
}

func findWebhook(ctx context.Context, q querier, s hookd.Scope, id string) (*hookd.Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE tenant_id = ? AND mode = ? AND id = ?`,
		s.TenantID, string(s.Mode), id))
	if err != nil {
		return nil, notFound(err, "find webhook", fmt.Sprintf("webhook %s not found", id))
	}
	return w, nil
}

// FindWebhookByNumber implements hookd.WebhookStore.
func (db *DB) FindWebhookByNumber(ctx context.Context, s hookd.Scope, n int64) (*hookd.Webhook, error) {
	w, err := scanWebhook(db.reader.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE tenant_id = ? AND mode = ? AND number = ?`,
		s.TenantID, string(s.Mode), n))
	if err != nil {
		return nil, notFound(err, "find webhook", fmt.Sprintf("webhook %d not found", n))
	}
	return w, nil
}

// ListWebhooks implements hookd.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, s hookd.Scope, f hookd.WebhookQuery) ([]*hookd.Webhook, error) {
	q := `SELECT ` + webhookColumns + ` FROM webhooks WHERE tenant_id = ? AND mode = ?`
	args := []any{s.TenantID, string(s.Mode)}
	if f.URL != "" {
		q += ` AND url = ?`
		args = append(args, f.URL)
	}
	if f.Enabled != nil {
		q += ` AND enabled = ?`
		args = append(args, boolInt(*f.Enabled))
	}
	if f.Name != "" {
		q += ` AND name = ?`
		args = append(args, f.Name)
	}
	q += ` ORDER BY id`
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	all := []*hookd.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		all = append(all, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return all, nil
}

// UpdateWebhook implements hookd.WebhookStore. SQLite has one writer: the
// transaction holds the row from the read to the write.
func (db *DB) UpdateWebhook(ctx context.Context, s hookd.Scope, id string, change func(*hookd.Webhook) (hookd.WebhookWrite, error)) (*hookd.Webhook, error) {
	var w *hookd.Webhook
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if w, err = findWebhook(ctx, tx, s, id); err != nil {
			return err
		}
		wr, err := change(w)
		if err != nil {
			return err
		}
		normalizeWebhook(w)
		vals, err := webhookValues(w)
		if err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		if _, err := tx.ExecContext(ctx, updateWebhookSQL, append(vals, w.Number)...); err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		if err := insertOutbox(ctx, tx, wr.Announce, db.now()); err != nil {
			return err
		}
		if wr.CancelPending != "" {
			return db.cancelPending(ctx, tx, w.ID, db.now(), wr.CancelPending)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

const cancelPendingSQL = `UPDATE deliveries INDEXED BY deliveries_webhook SET status = 'cancelled', next_attempt_at = NULL,
	manual = 0, last_error = ?, updated_at = ? WHERE webhook_id = ? AND status = 'pending' RETURNING id`

// cancelPending cancels every pending delivery of a webhook, and ends
// their leases when tx commits: an outcome for one of them is not written.
func (db *DB) cancelPending(ctx context.Context, tx *sql.Tx, webhookID string, now time.Time, why string) error {
	rows, err := tx.QueryContext(ctx, cancelPendingSQL, why, ms(now), webhookID)
	if err != nil {
		return fmt.Errorf("cancel deliveries of webhook %s: %w", webhookID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("cancel deliveries of webhook %s: %w", webhookID, err)
		}
		db.finishOnCommit(id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cancel deliveries of webhook %s: %w", webhookID, err)
	}
	return nil
}

// DeleteWebhook implements hookd.WebhookStore.
func (db *DB) DeleteWebhook(ctx context.Context, s hookd.Scope, id, why string, announce ...hookd.Announcement) error {
	now := db.now()
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE tenant_id = ? AND mode = ? AND id = ?`, s.TenantID, string(s.Mode), id)
		if err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
		}
		if err := insertOutbox(ctx, tx, announce, now); err != nil {
			return err
		}
		return db.cancelPending(ctx, tx, id, now, why)
	})
}
