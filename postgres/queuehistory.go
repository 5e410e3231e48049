package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// AddQueueSample implements hookd.QueueHistoryStore: one statement, so two
// instances that write the same interval add up instead of colliding.
func (db *DB) AddQueueSample(ctx context.Context, s hookd.QueueSample) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO queue_samples (at, pending, due, oldest_due_ms, succeeded, failed)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (at) DO UPDATE SET
		succeeded = queue_samples.succeeded + EXCLUDED.succeeded, failed = queue_samples.failed + EXCLUDED.failed`,
		pgTime(s.At), s.Pending, s.Due, s.OldestDueAge.Milliseconds(), s.Succeeded, s.Failed)
	if err != nil {
		return fmt.Errorf("add queue sample: %w", err)
	}
	return nil
}

// QueueSamples implements hookd.QueueHistoryStore.
func (db *DB) QueueSamples(ctx context.Context, since time.Time) ([]hookd.QueueSample, error) {
	rows, _ := db.pool.Query(ctx, `SELECT at, pending, due, oldest_due_ms, succeeded, failed
		FROM queue_samples WHERE at >= $1 ORDER BY at`, pgTime(since))
	out, err := collect(rows, func(r pgx.Row) (hookd.QueueSample, error) {
		var (
			s      hookd.QueueSample
			oldest int64
		)
		err := r.Scan(&s.At, &s.Pending, &s.Due, &oldest, &s.Succeeded, &s.Failed)
		s.At, s.OldestDueAge = s.At.UTC(), time.Duration(oldest)*time.Millisecond
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("queue samples: %w", err)
	}
	return out, nil
}

// PruneQueueSamples implements hookd.QueueHistoryStore.
func (db *DB) PruneQueueSamples(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM queue_samples WHERE at < $1`, pgTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune queue samples: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
