package postgres

import "testing"

// Every column of the delivery log's tables has a statistics target of at
// most 10 (0: none), so that autovacuum's ANALYZE samples 3,000 rows, not
// 30,000 (migration 00019): a column added without one fails here. Each
// table keeps statistics on some columns, for the API's look-ups.
func TestLogTablesStatistics(t *testing.T) {
	t.Parallel()
	conn, _ := planConn(t)
	tables := []string{"deliveries", "events", "attempts"}
	kept := map[string]int{}
	for _, c := range tableColumns(t, conn, tables...) {
		if c.statTarget < 0 || c.statTarget > 10 {
			t.Errorf("%s.%s has statistics target %d (-1: the server's default); want 0 (a column no query filters on) or 10", c.table, c.name, c.statTarget)
		}
		if c.statTarget > 0 {
			kept[c.table]++
		}
	}
	for _, table := range tables {
		if kept[table] == 0 {
			t.Errorf("%s keeps no statistics on any column", table)
		}
	}
}
