// Package postgres is the PostgreSQL store and delivery queue of hookd: it
// implements the root package's service interfaces and hookd.Queue with pgx,
// keeps its own migrations (applied by goose under an advisory lock, so that
// instances starting together are safe), claims due deliveries with
// FOR UPDATE SKIP LOCKED so that many hookd processes share one database,
// and wakes them with LISTEN/NOTIFY when deliveries are published.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
)

// DB is a complete store: the services of package hookd hold the rules.
var _ hookd.Store = (*DB)(nil)

// notifyChannel is the LISTEN/NOTIFY channel that announces new deliveries.
const notifyChannel = "hookd_deliveries"

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil. Tests pass a fake one.
	Now func() time.Time
	// Logger receives background errors (Listen reconnects); slog.Default when nil.
	Logger *slog.Logger
	// MaxConns bounds the connection pool; pgxpool's default when 0.
	MaxConns int32
}

func (o Options) validate() error {
	if o.MaxConns < 0 {
		return fmt.Errorf("postgres: MaxConns must not be negative, got %d", o.MaxConns)
	}
	return nil
}

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	url     string
	clock   func() time.Time
	logger  *slog.Logger
	cursor  atomic.Value // string: the last webhook a fair claim visited
	reclaim reclaimer
	// subscribers are the scopes' webhooks as the last publish read them.
	subscribers subscriberCache
	// onePass counts the publishes committed in one round trip, on kept
	// subscribers (for tests).
	onePass atomic.Int64
}

// Open connects to the database at url (postgres://…), applies the pending
// migrations and returns the store. Close it when done.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.AfterConnect = setSession
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{pool: pool, url: url, clock: opts.Now, logger: opts.Logger}
	if db.clock == nil {
		db.clock = time.Now
	}
	if db.logger == nil {
		db.logger = slog.Default()
	}
	return db, nil
}

// sessionQuery sets, in one round trip, what each pooled connection needs.
//
// plan_cache_mode = force_custom_plan makes every statement of the session
// planned for its own arguments, on the table as it is at that moment. pgx
// prepares and caches each statement, and after five executions PostgreSQL
// may switch a prepared statement to a generic plan: one made without the
// arguments (an unnest of a parameter counts as 10 rows) on the statistics
// of that moment, and kept until the table is next analyzed. On a
// deliveries table that grows from empty under load that is minutes and
// hundreds of thousands of rows later (issue 16). A custom plan costs one
// planning per execution, tens of microseconds against a batch's
// milliseconds. The hot transactions, whose plans are pinned, go back to
// generic plans (see pinPlansQuery). Behind a pooler in transaction mode,
// set it for the role as well (docs/operations.md).
//
// backend_flush_after = 256kB has the kernel start writing the data pages
// this session evicts from shared_buffers as it goes. With PostgreSQL's
// default (0) they stay dirty in the page cache until the kernel's expiry
// (30 s), and a log growing at 10,000 deliveries/s then goes out in bursts
// of ~300 MB that hold up every commit behind them for a second or two
// (docs/operations.md, "Keep the writeback steady"). It is set only where
// nothing else did: a value from the database URL, the role, the database
// or the server's configuration is kept.
const sessionQuery = `SELECT set_config('plan_cache_mode', 'force_custom_plan', false),
	(SELECT set_config('backend_flush_after', '256kB', false) FROM pg_settings
	  WHERE name = 'backend_flush_after' AND source = 'default')`

// setSession runs sessionQuery on a new pooled connection.
func setSession(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, sessionQuery); err != nil {
		return fmt.Errorf("postgres: session settings: %w", err)
	}
	return nil
}

// Close releases the connections.
func (db *DB) Close() {
	db.reclaim.mu.Lock()
	db.reclaim.close()
	db.reclaim.mu.Unlock()
	db.pool.Close()
}

// Ping reports whether the database answers, for readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// now is the injected clock at the precision the store keeps, so that what
// a method returns equals what a later read finds.
func (db *DB) now() time.Time { return pgTime(db.clock()) }

// pgTime is t in UTC at milliseconds: timestamptz keeps microseconds, but
// the SQLite store keeps milliseconds and both must answer alike.
func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func pgTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := pgTime(*t)
	return &v
}

// uniqueViolation is SQLSTATE 23505.
const uniqueViolation = "23505"

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == uniqueViolation
}

// badText maps PostgreSQL's refusal of a NUL character or invalid UTF-8 in
// text or jsonb (SQLSTATE 22021, 22P05) to EINVALID: the client sent it.
func badText(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05") {
		return hookd.Errorf(hookd.EINVALID, "%s must be valid UTF-8 without NUL characters (\\u0000)", what)
	}
	return err
}

// notFound turns pgx.ErrNoRows into ENOTFOUND naming the thing, and wraps
// anything else with context.
func notFound(err error, what string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return hookd.Errorf(hookd.ENOTFOUND, what+" not found", args...)
	}
	return fmt.Errorf("find "+what+": %w", append(args, err)...)
}

// inTx runs fn in a transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.inTxWith(ctx, pgx.TxOptions{}, fn)
}

// inTxWith is inTx with the transaction's options.
func (db *DB) inTxWith(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
