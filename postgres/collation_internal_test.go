package postgres

import (
	"context"
	"testing"
)

// Every text column of the tables each publish and delivery writes is
// compared as bytes (COLLATE "C", migration 00020), but for the free text
// no query filters, joins or sorts on: a key column added later without
// COLLATE "C" fails here, and would make every index insert on it pay the
// database's collation (NewDatabase's databases have ICU's "en" where the
// server has ICU).
func TestKeyCollation(t *testing.T) {
	t.Parallel()
	conn, _ := planConn(t)
	freeText := map[string]bool{
		"deliveries.last_error":     true,
		"attempts.error_class":      true,
		"attempts.error":            true,
		"attempts.response_excerpt": true,
	}
	rows, err := conn.Query(context.Background(), `SELECT c.relname, a.attname, coalesce(k.collname, '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_collation k ON k.oid = a.attcollation
		WHERE c.relnamespace = current_schema()::regnamespace
			AND c.relname IN ('deliveries', 'queue', 'attempts', 'events', 'event_labels')
			AND a.atttypid = 'text'::regtype AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := 0
	for rows.Next() {
		var table, column, collation string
		if err := rows.Scan(&table, &column, &collation); err != nil {
			t.Fatal(err)
		}
		name := table + "." + column
		switch {
		case freeText[name]:
			if collation == "C" {
				t.Errorf("%s is free text but has collation C; the test's list is out of date", name)
			}
		case collation != "C":
			t.Errorf("%s has collation %q; want \"C\" (a key compared as bytes, see migration 00020)", name, collation)
		default:
			keys++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if keys < 22 {
		t.Errorf("found %d key columns with collation C; want at least the 22 of migration 00020", keys)
	}
}
