package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// SQLite checkpoints the WAL (copies its pages into the database file and
// syncs it) inside the commit that crosses wal_autocheckpoint pages, so one
// publish or outcome write in a few hundred paid for it. The writer's
// threshold is raised to a backstop (walBackstopPages) and a goroutine
// checkpoints PASSIVE from its own connection instead: that runs beside the
// writer's transactions (it copies only frames committed before it began).
const (
	checkpointEvery  = 100 * time.Millisecond
	walBackstopPages = 16384 // 64 MiB of 4 KiB pages, if the checkpointer falls behind
	// walSizeLimit truncates the WAL file after a checkpoint reset it, so
	// a burst does not leave it large for good.
	walSizeLimit = 64 << 20
)

// checkpointer runs PASSIVE checkpoints every checkpointEvery until closed.
type checkpointer struct {
	conn   *sql.DB
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func startCheckpointer(dsn string, logger *slog.Logger) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, logger: logger, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var busy, frames, copied int
		err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		if err != nil && ctx.Err() == nil {
			c.logger.Warn("sqlite checkpoint failed", "err", err)
		}
	}
}

// close stops the goroutine and closes its connection; safe on nil.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return c.conn.Close()
}
