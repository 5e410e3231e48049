package postgres

import "testing"

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
	keys := 0
	for _, c := range tableColumns(t, conn, "deliveries", "queue", "attempts", "events", "event_labels") {
		if !c.text {
			continue
		}
		name := c.table + "." + c.name
		switch {
		case freeText[name]:
			if c.collation == "C" {
				t.Errorf("%s is free text but has collation C; the test's list is out of date", name)
			}
		case c.collation != "C":
			t.Errorf("%s has collation %q; want \"C\" (a key compared as bytes, see migration 00020)", name, c.collation)
		default:
			keys++
		}
	}
	if keys < 22 {
		t.Errorf("found %d key columns with collation C; want at least the 22 of migration 00020", keys)
	}
}
