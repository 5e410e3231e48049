// Package sqlite is the embedded store of hookd: tenants, API keys, event
// types, webhooks, events, deliveries and the delivery queue, kept in one
// SQLite file in WAL mode through the pure-Go modernc.org/sqlite driver.
//
// Writes go through a pool of exactly one connection whose transactions begin
// IMMEDIATE, so they never fail on a lock upgrade; reads use a second pool.
// The hot paths (publish, complete) write whole batches in one transaction:
// a commit is the expensive part with synchronous=FULL. Claims write
// nothing: one process serves a database, so leases are kept in memory
// (see lease.go) and a claim is a read on the reader pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	moderncsqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a complete store: the services of package hookd hold the rules.
var _ hookd.Store = (*DB)(nil)

// Options tune a DB. The zero value is valid.
type Options struct {
	// Now is the clock used for every timestamp and every "due" comparison
	// the store makes itself; tests move it. Default time.Now.
	Now func() time.Time
	// Logger receives migration and maintenance messages. Default: discard.
	Logger *slog.Logger
	// Synchronous is "FULL" (default: a committed publish survives power
	// loss) or "NORMAL" (survives a crash of the process, not of the machine).
	Synchronous string
	// ReadConns is the size of the reader pool. Default: max(4, GOMAXPROCS).
	ReadConns int
	// Exclusive takes an advisory lock (flock) on the file path+".lock" for
	// as long as the DB is open, and fails with ECONFLICT if another process
	// holds it. The serving process must open its database exclusively:
	// leases live in its memory, so two processes delivering from one file
	// would send the same deliveries. Administrative commands open it
	// without the lock while a server runs.
	Exclusive bool
}

func (o *Options) setDefaults() error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch o.Synchronous {
	case "":
		o.Synchronous = "FULL"
	case "FULL", "NORMAL":
	default:
		return hookd.Errorf(hookd.EINVALID, "sqlite synchronous must be FULL or NORMAL, got %q", o.Synchronous)
	}
	if o.ReadConns < 0 {
		return hookd.Errorf(hookd.EINVALID, "sqlite read connections must not be negative, got %d", o.ReadConns)
	}
	if o.ReadConns == 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	return nil
}

// DB is the SQLite store: it implements hookd.Store.
type DB struct {
	writer *sql.DB // exactly one connection; BEGIN IMMEDIATE
	reader *sql.DB
	opts   Options
	path   string
	// hot holds the hot path's statements, prepared once on the writer
	// connection; read-only after Open. readHot is the same for the reader pool.
	hot, readHot map[string]*sql.Stmt
	lock         *os.File // with Options.Exclusive
	checkpoints  *checkpointer
	leases       *leaseTable
	cursor       atomic.Value // string: the last webhook a fair claim visited

	// writing serializes write transactions (the writer pool has one
	// connection anyway) so that the lease changes of a transaction happen
	// in commit order: finishIDs and restoreIDs belong to its holder.
	writing    chan struct{}
	finishIDs  []int64 // leases to finish when the transaction commits
	restoreIDs []int64 // leases marked completing, restored if it rolls back
	requeuedAt int64   // earliest due time of the rows it leaves pending; math.MaxInt64: none
}

// Open opens (creating if needed) the database file at path and its
// directory, and applies the migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, hookd.Errorf(hookd.EINVALID, "sqlite path is required")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: create directory: %w", err)
		}
	}
	var lock *os.File
	if opts.Exclusive {
		var err error
		if lock, err = lockFile(path + ".lock"); err != nil {
			return nil, err
		}
	}
	pragmas := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(" + opts.Synchronous + ")",
		"busy_timeout(5000)",
		"foreign_keys(ON)",
	} {
		pragmas.Add("_pragma", p)
	}
	base := "file:" + path + "?"
	// The writer keeps a larger page cache (16 MB against SQLite's 2 MB):
	// a batch then never spills dirty pages before its commit. 32 MB was
	// no faster and cost 32 MiB of RSS in the backlog benchmark. Its
	// statement journals (every
	// multi-row INSERT inside a transaction opens one) live in memory: on
	// disk they cost a pwrite per page, a quarter of a publish's CPU. It
	// leaves checkpoints to the checkpointer (checkpoint.go) but for a
	// backstop.
	writerDSN := base + pragmas.Encode() + fmt.Sprintf("&_pragma=cache_size(-16000)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)&_txlock=immediate",
		walBackstopPages, walSizeLimit)
	checkpointDSN := base + pragmas.Encode()
	pragmas.Add("_pragma", "query_only(1)")
	readerDSN := base + pragmas.Encode()

	writer, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		unlockFile(lock)
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	reader, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		writer.Close()
		unlockFile(lock)
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	reader.SetMaxOpenConns(opts.ReadConns)
	reader.SetMaxIdleConns(opts.ReadConns)
	reader.SetConnMaxIdleTime(0)

	db := &DB{writer: writer, reader: reader, opts: opts, path: path, lock: lock,
		leases: newLeaseTable(), writing: make(chan struct{}, 1)}
	// The writer connects first so that WAL mode is set before any reader
	// (query_only) connection opens the file.
	if err := writer.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareHot(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.checkpoints, err = startCheckpointer(checkpointDSN, opts.Logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// hotQueries are the statements that run for every batch of publishes,
// claims and outcomes.
func hotQueries() []string {
	qs := []string{findEventByIDSQL, findEventByKeySQL, ensureEventTypeSQL, subscribersSQL, lastRowsSQL}
	for _, spec := range []insertSpec{eventsInsert, deliveriesInsert, attemptsInsert} {
		qs = append(qs, spec.queries()...)
	}
	qs = append(qs, completeSpec.queries()...)
	return qs
}

// readQueries are the claim's statements, which run on the reader pool.
func readQueries() []string {
	return []string{skipCheckSQL, dueIDsSQL, nextHookSQL, hookDueSQL, claimRowsSQL, eventsByNumberSQL, webhooksByIDSQL, nextDueSQL}
}

func (db *DB) prepareHot(ctx context.Context) error {
	db.hot, db.readHot = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	for _, p := range []struct {
		pool    *sql.DB
		queries []string
		into    map[string]*sql.Stmt
	}{{db.writer, hotQueries(), db.hot}, {db.reader, readQueries(), db.readHot}} {
		for _, q := range p.queries {
			st, err := p.pool.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			p.into[q] = st
		}
	}
	return nil
}

// stmt returns query as a statement of tx: the one prepared at Open for a
// hot query (of tx's pool), else a new one (closed with tx).
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := db.hot[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	if st, ok := db.readHot[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// Migrate applies the migrations that have not run yet. Open calls it;
// running it again is harmless.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.writer, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSlog(db.opts.Logger))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		db.opts.Logger.Info("applied migration", "source", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	for _, st := range db.hot {
		errs = append(errs, st.Close())
	}
	for _, st := range db.readHot {
		errs = append(errs, st.Close())
	}
	errs = append(errs, db.checkpoints.close(), db.reader.Close(), db.writer.Close())
	return errors.Join(append(errs, unlockFile(db.lock))...)
}

// now is the injected clock at the precision the store keeps (milliseconds),
// so that what a method returns equals what a later read finds.
func (db *DB) now() time.Time { return db.opts.Now().UTC().Truncate(time.Millisecond) }

// write runs fn in one IMMEDIATE transaction on the single writer
// connection, then finishes the leases fn named with finishOnCommit, or
// restores those it named with restoreOnRollback if the transaction failed.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case db.writing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.writing }()
	db.finishIDs, db.restoreIDs, db.requeuedAt = db.finishIDs[:0], db.restoreIDs[:0], math.MaxInt64
	err := db.writeTx(ctx, fn)
	if err != nil {
		db.leases.restore(db.restoreIDs)
	} else {
		db.leases.finish(db.finishIDs, db.requeuedAt)
	}
	if cap(db.finishIDs) > 1<<16 {
		db.finishIDs = nil // a cancellation of many rows: do not keep its array
	}
	return err
}

func (db *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// finishOnCommit ends the leases of deliveries that the running write
// transaction takes out of the claimable set or changes (see leaseTable.finish).
func (db *DB) finishOnCommit(ids ...int64) { db.finishIDs = append(db.finishIDs, ids...) }

// requeueOnCommit says that the running write transaction leaves leased
// rows pending, due at atMS (for the claims' skip mark, see skipMark).
func (db *DB) requeueOnCommit(atMS int64) { db.requeuedAt = min(db.requeuedAt, atMS) }

// restoreOnRollback names leases the running write transaction marked completing.
func (db *DB) restoreOnRollback(ids ...int64) { db.restoreIDs = append(db.restoreIDs, ids...) }

// querier is what reads need: the reader pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var e *moderncsqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// notFound turns sql.ErrNoRows into ENOTFOUND with msg, and wraps anything
// else with what was being done.
func notFound(err error, doing, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hookd.Errorf(hookd.ENOTFOUND, "%s", msg)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msPtr is ms for an optional time; nil stays NULL.
func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
