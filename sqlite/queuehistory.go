package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// AddQueueSample implements hookd.QueueHistoryStore.
func (db *DB) AddQueueSample(ctx context.Context, s hookd.QueueSample) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO queue_samples (at, pending, due, oldest_due_ms, succeeded, failed)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (at) DO UPDATE SET
			succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed`,
			ms(s.At), s.Pending, s.Due, s.OldestDueAge.Milliseconds(), s.Succeeded, s.Failed)
		if err != nil {
			return fmt.Errorf("add queue sample: %w", err)
		}
		return nil
	})
}

// QueueSamples implements hookd.QueueHistoryStore.
func (db *DB) QueueSamples(ctx context.Context, since time.Time) ([]hookd.QueueSample, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT at, pending, due, oldest_due_ms, succeeded, failed
		FROM queue_samples WHERE at >= ? ORDER BY at`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("queue samples: %w", err)
	}
	defer rows.Close()
	var out []hookd.QueueSample
	for rows.Next() {
		var (
			s          hookd.QueueSample
			at, oldest int64
		)
		if err := rows.Scan(&at, &s.Pending, &s.Due, &oldest, &s.Succeeded, &s.Failed); err != nil {
			return nil, fmt.Errorf("queue samples: %w", err)
		}
		s.At, s.OldestDueAge = fromMS(at), time.Duration(oldest)*time.Millisecond
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue samples: %w", err)
	}
	return out, nil
}

// PruneQueueSamples implements hookd.QueueHistoryStore.
func (db *DB) PruneQueueSamples(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM queue_samples WHERE at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("prune queue samples: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
