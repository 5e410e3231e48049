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
	const (
		minBackoff = 100 * time.Millisecond
		maxBackoff = 5 * time.Second
	)
	backoff := minBackoff
	for first := true; ; first = false {
		err := db.listenOnce(ctx, onNotify, !first, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return nil
		}
		db.logger.Warn("postgres: listen for new deliveries failed; reconnecting", "error", err, "backoff", backoff)
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
func (db *DB) listenOnce(ctx context.Context, onNotify func(), reconnected bool, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	if reconnected {
		onNotify()
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		onNotify()
	}
}
