package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// batchInsert writes rows to one table with multi-row INSERTs: a prepared
// statement of chunk rows while rows keep coming, one statement for the rest
// at flush. Per-row statements cost most of the time of a batch.
type batchInsert struct {
	tx     *sql.Tx
	table  string
	head   string // INSERT INTO t (cols) VALUES
	row    string // (?, ?, …)
	cols   int
	chunk  int
	full   *sql.Stmt
	buf    []any
	closed bool
}

func newBatchInsert(tx *sql.Tx, table string, cols []string, chunk int) *batchInsert {
	return &batchInsert{
		tx:    tx,
		table: table,
		head:  "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		row:   "(" + placeholders(len(cols)) + ")",
		cols:  len(cols),
		chunk: chunk,
		buf:   make([]any, 0, len(cols)*chunk),
	}
}

func (b *batchInsert) sql(rows int) string {
	var sb strings.Builder
	sb.Grow(len(b.head) + rows*(len(b.row)+2))
	sb.WriteString(b.head)
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(b.row)
	}
	return sb.String()
}

// add queues one row of len(cols) values.
func (b *batchInsert) add(ctx context.Context, vals ...any) error {
	b.buf = append(b.buf, vals...)
	if len(b.buf) < b.cols*b.chunk {
		return nil
	}
	if b.full == nil {
		st, err := b.tx.PrepareContext(ctx, b.sql(b.chunk))
		if err != nil {
			return fmt.Errorf("insert into %s: %w", b.table, err)
		}
		b.full = st
	}
	if _, err := b.full.ExecContext(ctx, b.buf...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.buf = b.buf[:0]
	return nil
}

// flush writes the queued rows and releases the statement.
func (b *batchInsert) flush(ctx context.Context) error {
	defer b.close()
	if len(b.buf) == 0 {
		return nil
	}
	if _, err := b.tx.ExecContext(ctx, b.sql(len(b.buf)/b.cols), b.buf...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.buf = b.buf[:0]
	return nil
}

func (b *batchInsert) close() {
	if b.full != nil && !b.closed {
		b.full.Close()
		b.closed = true
	}
}
