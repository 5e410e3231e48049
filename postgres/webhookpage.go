package postgres

import (
	"context"
	"fmt"

	"github.com/hookd/hookd"
)

// FindWebhookPage implements hookd.WebhookPageStore on the webhooks_scope
// index (tenant_id, mode, id).
func (db *DB) FindWebhookPage(ctx context.Context, s hookd.Scope, p hookd.Page) ([]*hookd.Webhook, int, error) {
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE tenant_id = $1 AND mode = $2`,
		s.TenantID, string(s.Mode)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count webhooks: %w", err)
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4 OFFSET $5`,
		s.TenantID, string(s.Mode), p.Cursor, p.Limit, offsetUnlessCursor(p))
	out, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, 0, fmt.Errorf("find webhooks: %w", err)
	}
	return out, total, nil
}
