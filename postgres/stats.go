package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// WebhookHealth implements hookd.StatsStore: one statement for every id,
// each webhook's rows read through deliveries_webhook (webhook_id, status).
func (db *DB) WebhookHealth(ctx context.Context, s hookd.Scope, ids []string, since time.Time) ([]hookd.WebhookHealth, error) {
	rows, _ := db.pool.Query(ctx, `SELECT webhook_id,
			count(*) FILTER (WHERE status = 'succeeded' AND created_at >= $4),
			count(*) FILTER (WHERE status = 'failed' AND created_at >= $4),
			count(*) FILTER (WHERE status = 'pending'),
			max(updated_at) FILTER (WHERE attempts > 0 AND created_at >= $4)
		FROM deliveries
		WHERE webhook_id = ANY($1) AND tenant_id = $2 AND mode = $3 AND (created_at >= $4 OR status = 'pending')
		GROUP BY webhook_id`, ids, s.TenantID, string(s.Mode), pgTime(since))
	out, err := collect(rows, func(r pgx.Row) (hookd.WebhookHealth, error) {
		var h hookd.WebhookHealth
		err := r.Scan(&h.WebhookID, &h.Succeeded, &h.Failed, &h.Pending, &h.LastAttemptAt)
		h.LastAttemptAt = utcPtr(h.LastAttemptAt)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook health: %w", err)
	}
	return out, nil
}

// DeliverySeries implements hookd.StatsStore.
func (db *DB) DeliverySeries(ctx context.Context, s hookd.Scope, webhookID string, since time.Time, width time.Duration) ([]hookd.SeriesPoint, error) {
	w := width.Milliseconds()
	if w <= 0 {
		return nil, hookd.Errorf(hookd.EINVALID, "bucket width must be at least a millisecond")
	}
	since = pgTime(since)
	rows, _ := db.pool.Query(ctx, `SELECT floor(extract(epoch FROM created_at - $1) * 1000 / $2)::bigint AS b,
			count(*) FILTER (WHERE status = 'succeeded'),
			count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status = 'pending')
		FROM deliveries
		WHERE webhook_id = $3 AND tenant_id = $4 AND mode = $5 AND created_at >= $1
		GROUP BY b ORDER BY b`, since, w, webhookID, s.TenantID, string(s.Mode))
	out, err := collect(rows, func(r pgx.Row) (hookd.SeriesPoint, error) {
		var (
			b int64
			p hookd.SeriesPoint
		)
		err := r.Scan(&b, &p.Succeeded, &p.Failed, &p.Pending)
		p.At = since.Add(time.Duration(b) * width)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("delivery series: %w", err)
	}
	return out, nil
}

// FailingWebhooks implements hookd.StatsStore.
func (db *DB) FailingWebhooks(ctx context.Context, limit int) ([]*hookd.Webhook, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE failing_since IS NOT NULL AND enabled ORDER BY failing_since, id LIMIT $1`, limit)
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("failing webhooks: %w", err)
	}
	return out, nil
}
