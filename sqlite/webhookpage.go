package sqlite

import (
	"context"
	"fmt"

	"github.com/hookd/hookd"
)

// FindWebhookPage implements hookd.WebhookPageStore on the webhooks_scope
// index (tenant_id, mode, id).
func (db *DB) FindWebhookPage(ctx context.Context, s hookd.Scope, p hookd.Page) ([]*hookd.Webhook, int, error) {
	var total int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE tenant_id = ? AND mode = ?`,
		s.TenantID, string(s.Mode)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count webhooks: %w", err)
	}
	offset := p.Offset
	if p.Cursor != "" {
		offset = 0
	}
	out, err := queryAll(ctx, db.reader, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks
		WHERE tenant_id = ? AND mode = ? AND id > ? ORDER BY id LIMIT ? OFFSET ?`,
		s.TenantID, string(s.Mode), p.Cursor, p.Limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find webhooks: %w", err)
	}
	return out, total, nil
}
