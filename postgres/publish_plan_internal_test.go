package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSubscriberLookupPlan checks that publishing reads a scope's webhooks
// (and checks kept ones against their digest) through webhooks_scope
// however many webhooks other tenants have: on a
// table that grew from empty to 100,000 webhooks of 10,000 tenants, never
// analyzed or analyzed while it was small, with the statement prepared and
// run six times on the small table first (so that a generic plan made then
// would show), it never reads the whole table. Unpinned, the plan made
// after ANALYZE on ten rows read all 100,000.
func TestSubscriberLookupPlan(t *testing.T) {
	t.Parallel()
	for _, h := range []struct {
		name    string
		analyze bool
	}{{"never analyzed", false}, {"analyzed while small", true}} {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			conn, exec := planConn(t)
			exec("ALTER TABLE webhooks SET (autovacuum_enabled = false)")
			addWebhooks := func(from, to int) {
				t.Helper()
				exec(`INSERT INTO webhooks (id, tenant_id, mode, url, enabled, status, secret, created_at, updated_at)
					SELECT 'wh_' || lpad(i::text, 9, '0'), 'ten_' || lpad((i / 10)::text, 8, '0'), 'live',
						'https://example.com/' || i, true, 'active', 'whsec_x', now(), now()
					FROM generate_series($1::int, $2::int - 1) i`, from, to)
			}
			addWebhooks(0, 10)
			if h.analyze {
				exec("ANALYZE webhooks")
			}
			// The read of the webhooks, and the check of kept ones against
			// their digest, as publish runs them: pinned, in its transaction.
			// The check is given the scope's digest (it stays: the webhooks
			// added below are other tenants').
			var digest []byte
			err := conn.QueryRow(context.Background(), `SELECT (`+scopeDigest+`) FROM (VALUES ('ten_00000000', 'live')) AS s (t, m)`).Scan(&digest)
			if err != nil {
				t.Fatal(err)
			}
			statements := []struct {
				name, sql string
				args      []any
				avoid     string
			}{
				// The read's digest is one aggregate per scope, not a SubPlan
				// run again for each of the scope's webhooks.
				{"read", loadSubscribersSQL, []any{[]string{"ten_00000000"}, []string{"live"}}, "SubPlan"},
				{"check", checkSubscribersSQL, []any{[]string{"ten_00000000"}, []string{"live"}, [][]byte{digest}}, ""},
			}
			for i, st := range statements {
				exec(fmt.Sprintf("PREPARE hot%d AS %s", i, st.sql))
				for range 6 {
					exec("BEGIN")
					exec(pinPlansQuery)
					exec(executeSQL(i, len(st.args)), simple(st.args)...)
					exec("ROLLBACK")
				}
			}
			addWebhooks(10, 100_000)

			for i, st := range statements {
				exec("BEGIN")
				exec(pinPlansQuery)
				plan := explain(t, conn, executeSQL(i, len(st.args)), st.args)
				exec("ROLLBACK")
				if !strings.Contains(plan, "webhooks_scope on webhooks") || strings.Contains(plan, "Seq Scan on webhooks") {
					t.Errorf("the subscribers' %s does not read through webhooks_scope:\n%s", st.name, plan)
				}
				if st.avoid != "" && strings.Contains(plan, st.avoid) {
					t.Errorf("the subscribers' %s has a %s:\n%s", st.name, st.avoid, plan)
				}
			}
		})
	}
}
