package postgres

import (
	"context"
	"testing"
)

// Every column of the delivery log's tables has a statistics target of at
// most 10 (0: none), so that autovacuum's ANALYZE samples 3,000 rows, not
// 30,000 (migration 00019): a column added without one fails here. Each
// table keeps statistics on some columns, for the API's look-ups.
func TestLogTablesStatistics(t *testing.T) {
	t.Parallel()
	conn, _ := planConn(t)
	rows, err := conn.Query(context.Background(), `SELECT c.relname, a.attname, a.attstattarget
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('deliveries', 'events', 'attempts')
			AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kept := map[string]int{}
	for rows.Next() {
		var table, column string
		var target int
		if err := rows.Scan(&table, &column, &target); err != nil {
			t.Fatal(err)
		}
		if target < 0 || target > 10 {
			t.Errorf("%s.%s has statistics target %d (-1: the server's default); want 0 (a column no query filters on) or 10", table, column, target)
		}
		if target > 0 {
			kept[table]++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"deliveries", "events", "attempts"} {
		if kept[table] == 0 {
			t.Errorf("%s keeps no statistics on any column", table)
		}
	}
}
