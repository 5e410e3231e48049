package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// insertOutboxSQL puts operator events in the outbox.
const insertOutboxSQL = `INSERT INTO outbox (tenant_id, mode, type, data, created_at)
	SELECT t, m, ty, d, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) AS a (t, m, ty, d)`

// outboxArgs are insertOutboxSQL's arguments for anns, or nil for none.
func outboxArgs(anns []hookd.Announcement, now time.Time) []any {
	if len(anns) == 0 {
		return nil
	}
	var t, m, ty []string
	var d [][]byte
	for _, a := range anns {
		t, m, ty, d = append(t, a.TenantID), append(m, string(a.Mode)), append(ty, a.Type), append(d, a.Data)
	}
	return []any{t, m, ty, d, pgTime(now)}
}

// insertOutbox puts operator events in the outbox within tx.
func insertOutbox(ctx context.Context, tx pgx.Tx, anns []hookd.Announcement, now time.Time) error {
	if args := outboxArgs(anns, now); args != nil {
		if _, err := tx.Exec(ctx, insertOutboxSQL, args...); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

// TakeOutbox implements hookd.OutboxStore.
func (db *DB) TakeOutbox(ctx context.Context, limit int) ([]hookd.OutboxEntry, error) {
	rows, _ := db.pool.Query(ctx, `SELECT seq, tenant_id, mode, type, data, created_at FROM outbox ORDER BY seq LIMIT $1`, limit)
	out, err := collect(rows, func(r pgx.Row) (hookd.OutboxEntry, error) {
		var e hookd.OutboxEntry
		var mode string
		err := r.Scan(&e.Seq, &e.TenantID, &mode, &e.Type, &e.Data, &e.CreatedAt)
		e.Mode, e.CreatedAt = hookd.Mode(mode), e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("take outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox implements hookd.OutboxStore.
func (db *DB) DeleteOutbox(ctx context.Context, seqs []int64) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("delete outbox: %w", err)
	}
	return nil
}
