package postgres

import (
	"strings"
	"testing"
)

// TestLabelledEventsPlan checks that a page of a scope's events by tag or
// channel is read from event_labels' primary key, newest first, and each
// event by its primary key: never a scan of the scope's events, whether
// the tables were analyzed or not.
func TestLabelledEventsPlan(t *testing.T) {
	t.Parallel()
	for _, analyze := range []bool{false, true} {
		name := "never analyzed"
		if analyze {
			name = "analyzed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn, exec := planConn(t)
			for _, table := range []string{"events", "event_labels"} {
				exec("ALTER TABLE " + table + " SET (autovacuum_enabled = false)")
			}
			// 50,000 events of one scope; one in ten has tag x, one in a
			// hundred channel c too.
			exec(`INSERT INTO events (tenant_id, mode, id, type, data, created_at, body_hash, deliveries, labels)
				SELECT 'ten_1', 'live', 'msg_' || lpad(i::text, 9, '0'), 'order.created', '{}', now(), '\x00', 1,
					CASE WHEN i % 100 = 0 THEN '{tag:x,channel:c}'::text[] WHEN i % 10 = 0 THEN '{tag:x}'::text[] END
				FROM generate_series(0, 49999) i`)
			exec(`INSERT INTO event_labels (tenant_id, mode, label, event_id)
				SELECT e.tenant_id, e.mode, l, e.id FROM events e, unnest(e.labels) l WHERE e.labels IS NOT NULL`)
			if analyze {
				exec("ANALYZE events")
				exec("ANALYZE event_labels")
			}
			for _, c := range []struct {
				name string
				args []any
			}{
				{"tag", []any{"ten_1", "live", []string{"tag:x"}, "", nil, nil, "", 51, 0}},
				{"tag after a cursor", []any{"ten_1", "live", []string{"tag:x"}, "", nil, nil, "msg_000030000", 51, 0}},
				{"channel and tag", []any{"ten_1", "live", []string{"channel:c", "tag:x"}, "", nil, nil, "", 51, 0}},
				{"tag and type", []any{"ten_1", "live", []string{"tag:x"}, "order.created", nil, nil, "", 51, 0}},
			} {
				plan := explain(t, conn, findLabelledEventsSQL, c.args)
				for _, want := range []string{"using event_labels_pkey on event_labels l", "Index Scan using events_pkey on events x",
					"(id = l.event_id)"} {
					if !strings.Contains(plan, want) {
						t.Errorf("%s: plan does not use %q:\n%s", c.name, want, plan)
					}
				}
				for _, bad := range []string{"Seq Scan on events", "Sort", "Hash Join"} {
					if strings.Contains(plan, bad) {
						t.Errorf("%s: plan has %q:\n%s", c.name, bad, plan)
					}
				}
			}
		})
	}
}
