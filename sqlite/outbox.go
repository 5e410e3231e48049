package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// insertOutbox puts operator events in the outbox within tx.
func insertOutbox(ctx context.Context, tx *sql.Tx, anns []hookd.Announcement, now time.Time) error {
	for _, a := range anns {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant_id, mode, type, data, created_at) VALUES (?, ?, ?, ?, ?)`,
			a.TenantID, string(a.Mode), a.Type, string(a.Data), ms(now)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

// TakeOutbox implements hookd.OutboxStore.
func (db *DB) TakeOutbox(ctx context.Context, limit int) ([]hookd.OutboxEntry, error) {
	out, err := queryAll(ctx, db.reader, func(s scanner) (hookd.OutboxEntry, error) {
		var (
			e          hookd.OutboxEntry
			mode, data string
			created    int64
		)
		if err := s.Scan(&e.Seq, &e.TenantID, &mode, &e.Type, &data, &created); err != nil {
			return e, err
		}
		e.Mode, e.Data, e.CreatedAt = hookd.Mode(mode), json.RawMessage(data), fromMS(created)
		return e, nil
	}, `SELECT seq, tenant_id, mode, type, data, created_at FROM outbox ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("take outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox implements hookd.OutboxStore.
func (db *DB) DeleteOutbox(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	list, _ := json.Marshal(seqs)
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))`, string(list)); err != nil {
			return fmt.Errorf("delete outbox: %w", err)
		}
		return nil
	})
}
