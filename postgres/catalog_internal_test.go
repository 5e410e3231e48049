package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// column is a column of one of hookd's tables, as the catalog has it.
type column struct {
	table, name string
	text        bool   // of type text
	collation   string // "" for a type that has none
	statTarget  int    // -1: the server's default
}

// tableColumns lists the columns of tables in conn's database, by table and
// name.
func tableColumns(t *testing.T, conn *pgxpool.Conn, tables ...string) []column {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT c.relname, a.attname, a.atttypid = 'text'::regtype,
			coalesce(k.collname, ''), a.attstattarget
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_collation k ON k.oid = a.attcollation
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
			AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY 1, 2`, tables)
	cols, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (column, error) {
		var c column
		err := row.Scan(&c.table, &c.name, &c.text, &c.collation, &c.statTarget)
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return cols
}
