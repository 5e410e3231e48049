package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// insertSpec describes the multi-row INSERTs of one table on the hot path:
// statements of chunk, chunk/2, … 1 rows (chunk a power of two), all
// prepared at Open, so that no batch parses SQL and any row count is a few
// statement executions.
type insertSpec struct {
	table string
	cols  []string
	chunk int
}

func (s insertSpec) sql(rows int) string {
	row := "(" + placeholders(len(s.cols)) + ")"
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + s.table + " (" + strings.Join(s.cols, ", ") + ") VALUES ")
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	return sb.String()
}

// queries returns the statements to prepare for s.
func (s insertSpec) queries() []string {
	var qs []string
	for n := s.chunk; n >= 1; n /= 2 {
		qs = append(qs, s.sql(n))
	}
	return qs
}

// batchInsert queues rows of one insertSpec in a transaction.
type batchInsert struct {
	db    *DB
	tx    *sql.Tx
	spec  insertSpec
	stmts map[int]*sql.Stmt // by row count, bound to tx
	buf   []any
}

func (db *DB) newBatchInsert(tx *sql.Tx, spec insertSpec) *batchInsert {
	return &batchInsert{db: db, tx: tx, spec: spec, stmts: map[int]*sql.Stmt{}, buf: make([]any, 0, len(spec.cols)*spec.chunk)}
}

// add queues one row of len(cols) values, writing a full chunk at once.
func (b *batchInsert) add(ctx context.Context, vals ...any) error {
	b.buf = append(b.buf, vals...)
	if len(b.buf) < len(b.spec.cols)*b.spec.chunk {
		return nil
	}
	return b.exec(ctx, b.spec.chunk)
}

// exec writes the first rows queued rows.
func (b *batchInsert) exec(ctx context.Context, rows int) error {
	st := b.stmts[rows]
	if st == nil {
		var err error
		if st, err = b.db.stmt(ctx, b.tx, b.spec.sql(rows)); err != nil {
			return fmt.Errorf("insert into %s: %w", b.spec.table, err)
		}
		b.stmts[rows] = st
	}
	n := rows * len(b.spec.cols)
	if _, err := st.ExecContext(ctx, b.buf[:n]...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.spec.table, err)
	}
	b.buf = append(b.buf[:0], b.buf[n:]...)
	return nil
}

// flush writes the queued rows: the remainder in power-of-two pieces.
func (b *batchInsert) flush(ctx context.Context) error {
	for size := b.spec.chunk; size >= 1; size /= 2 {
		for len(b.buf) >= size*len(b.spec.cols) {
			if err := b.exec(ctx, size); err != nil {
				return err
			}
		}
	}
	return nil
}

// idListSpec is a statement that ends in `id IN (` + a list of ids + `)`,
// prepared at Open for chunk, chunk/2, … 1 ids (chunk a power of two).
type idListSpec struct {
	head  string
	chunk int
}

func (s idListSpec) sql(n int) string { return s.head + placeholders(n) + ")" }

func (s idListSpec) queries() []string {
	var qs []string
	for n := s.chunk; n >= 1; n /= 2 {
		qs = append(qs, s.sql(n))
	}
	return qs
}

// execIDList runs s with args followed by ids, in as few executions of the
// prepared statements as the chunk sizes allow.
func (db *DB) execIDList(ctx context.Context, tx *sql.Tx, s idListSpec, args []any, ids []int64) error {
	buf := make([]any, len(args), len(args)+min(len(ids), s.chunk))
	copy(buf, args)
	for size := s.chunk; size >= 1; size /= 2 {
		for len(ids) >= size {
			st, err := db.stmt(ctx, tx, s.sql(size))
			if err != nil {
				return err
			}
			buf = buf[:len(args)]
			for _, id := range ids[:size] {
				buf = append(buf, id)
			}
			if _, err := st.ExecContext(ctx, buf...); err != nil {
				return err
			}
			ids = ids[size:]
		}
	}
	return nil
}
