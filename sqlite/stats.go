package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// WebhookHealth implements hookd.StatsStore. Each webhook's rows are a range
// of the deliveries_webhook index (an entry ends in the rowid, which begins
// with the creation time), so the window is a range of it.
func (db *DB) WebhookHealth(ctx context.Context, s hookd.Scope, ids []string, since time.Time) ([]hookd.WebhookHealth, error) {
	out := []hookd.WebhookHealth{}
	for _, id := range ids {
		h := hookd.WebhookHealth{WebhookID: id}
		var last sql.NullInt64
		err := db.reader.QueryRowContext(ctx, `SELECT
				COALESCE(SUM(status = 'succeeded' AND id >= ?1), 0),
				COALESCE(SUM(status = 'failed' AND id >= ?1), 0),
				COALESCE(SUM(status = 'pending'), 0),
				MAX(CASE WHEN attempts > 0 AND id >= ?1 THEN updated_at END)
			FROM deliveries INDEXED BY deliveries_webhook
			WHERE webhook_id = ?2 AND tenant_id = ?3 AND mode = ?4 AND (id >= ?1 OR status = 'pending')`,
			firstRowAt(since), id, s.TenantID, string(s.Mode)).Scan(&h.Succeeded, &h.Failed, &h.Pending, &last)
		if err != nil {
			return nil, fmt.Errorf("webhook health: %w", err)
		}
		h.LastAttemptAt = fromNullMS(last)
		if h.Succeeded+h.Failed+h.Pending > 0 || h.LastAttemptAt != nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// DeliverySeries implements hookd.StatsStore.
func (db *DB) DeliverySeries(ctx context.Context, s hookd.Scope, webhookID string, since time.Time, width time.Duration) ([]hookd.SeriesPoint, error) {
	w := width.Milliseconds()
	if w <= 0 {
		return nil, hookd.Errorf(hookd.EINVALID, "bucket width must be at least a millisecond")
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT (created_at - ?1) / ?2 AS b,
			SUM(status = 'succeeded'), SUM(status = 'failed'), SUM(status = 'pending')
		FROM deliveries INDEXED BY deliveries_webhook
		WHERE webhook_id = ?3 AND tenant_id = ?4 AND mode = ?5 AND id >= ?6 AND created_at >= ?1
		GROUP BY b ORDER BY b`,
		ms(since), w, webhookID, s.TenantID, string(s.Mode), firstRowAt(since))
	if err != nil {
		return nil, fmt.Errorf("delivery series: %w", err)
	}
	defer rows.Close()
	out := []hookd.SeriesPoint{}
	for rows.Next() {
		var (
			b int64
			p hookd.SeriesPoint
		)
		if err := rows.Scan(&b, &p.Succeeded, &p.Failed, &p.Pending); err != nil {
			return nil, fmt.Errorf("delivery series: %w", err)
		}
		p.At = since.Add(time.Duration(b) * width).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery series: %w", err)
	}
	return out, nil
}

// FailingWebhooks implements hookd.StatsStore, on the webhooks_failing index.
func (db *DB) FailingWebhooks(ctx context.Context, limit int) ([]*hookd.Webhook, error) {
	out, err := queryAll(ctx, db.reader, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks
		WHERE failing_since IS NOT NULL AND enabled = 1 ORDER BY failing_since, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("failing webhooks: %w", err)
	}
	return out, nil
}
