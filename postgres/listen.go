package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen holds a dedicated connection that LISTENs on the channel of new
// deliveries and calls onNotify for each notification, until ctx ends; it
// then returns nil. When the connection fails it reconnects with backoff
// (100 ms doubling to 5 s), and calls onNotify once after every reconnect,
// since notifications sent meanwhile are lost. onNotify should not block:
// the dispatcher's Notify is a non-blocking send.
func (db *DB) Listen(ctx context.Context, onNotify func()) error {
	return db.listen(ctx, notifyChannel, "new deliveries", func(string) { onNotify() })
}

// changesChannel carries the changes every instance must hear of at once
// (hookd.ChangeKeys …), sent in the transaction that makes them.
const changesChannel = "hookd_changes"

// ListenChanges is Listen for the changes channel: onChange gets each
// notification's payload, and "" after a reconnect (anything may have
// changed meanwhile).
func (db *DB) ListenChanges(ctx context.Context, onChange func(payload string)) error {
	return db.listen(ctx, changesChannel, "changes", onChange)
}

// notifyChange tells every instance of change when tx commits.
func notifyChange(ctx context.Context, tx pgx.Tx, change string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+changesChannel+`', $1)`, change); err != nil {
		return fmt.Errorf("notify %s: %w", change, err)
	}
	return nil
}

// listen LISTENs on channel, calling onNotify with each payload.
func (db *DB) listen(ctx context.Context, channel, what string, onNotify func(string)) error {
	const (
		minBackoff = 100 * time.Millisecond
		maxBackoff = 5 * time.Second
	)
	backoff := minBackoff
	for first := true; ; first = false {
		err := db.listenOnce(ctx, channel, onNotify, !first, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return nil
		}
		db.logger.Warn("postgres: listen for "+what+" failed; reconnecting", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens and dispatches notifications until the
// connection fails or ctx ends. connected is called once LISTEN succeeded.
func (db *DB) listenOnce(ctx context.Context, channel string, onNotify func(string), reconnected bool, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	if reconnected {
		onNotify("")
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		onNotify(n.Payload)
	}
}
