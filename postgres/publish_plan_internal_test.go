package postgres

import (
	"strings"
	"testing"
)

// TestSubscriberLookupPlan checks that publishing reads a scope's webhooks
// through webhooks_scope however many webhooks other tenants have: on a
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
			args := []any{[]string{"ten_00000000"}, []string{"live"}}
			// As publish runs it: pinned, in its transaction.
			exec("PREPARE subscribers AS " + loadSubscribersSQL)
			for range 6 {
				exec("BEGIN")
				exec(pinPlansQuery)
				exec("EXECUTE subscribers($1, $2)", simple(args)...)
				exec("COMMIT")
			}
			addWebhooks(10, 100_000)

			exec("BEGIN")
			exec(pinPlansQuery)
			plan := explain(t, conn, "EXECUTE subscribers($1, $2)", args)
			exec("ROLLBACK")
			if !strings.Contains(plan, "webhooks_scope on webhooks") || strings.Contains(plan, "Seq Scan on webhooks") {
				t.Errorf("the subscriber lookup does not read through webhooks_scope:\n%s", plan)
			}
		})
	}
}
