package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// TestQueryPlans checks that the queries on the big tables (deliveries,
// events, attempts, and webhooks, which a crowd of tenants makes big) find their rows through a key or an index: none reads
// a whole table, and none sorts (a list query walks an index in order).
// Walking the whole partial due index is allowed where named: it holds
// pending rows only.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page := ` ORDER BY id DESC LIMIT ? OFFSET ?`
	type planCase struct {
		name, query string
		walksDue    bool
	}
	var lists []planCase
	s := hookd.Scope{TenantID: "ten", Mode: hookd.ModeLive}
	since, cursor := time.Now(), deliveryID(1)
	for _, f := range []hookd.DeliveryFilter{
		{},
		{Page: hookd.Page{Cursor: cursor}},
		{WebhookID: "wh"},
		{WebhookID: "wh", Page: hookd.Page{Cursor: cursor}},
		{EventID: "ev"},
		{EventID: "ev", WebhookID: "wh", Status: hookd.DeliveryFailed},
		{Status: hookd.DeliveryFailed, Since: &since, Until: &since},
		{Status: hookd.DeliveryFailed},
		{EventType: "a.b"},
		{Status: hookd.DeliveryPending, EventType: "a.b", Page: hookd.Page{Cursor: cursor}},
		{Until: &since},
	} {
		var event *[2]int64
		if f.EventID != "" {
			event = &[2]int64{1, 2}
		}
		q, _, err := deliveriesQuery(s, f, event)
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, planCase{fmt.Sprintf("list deliveries %+v", f), q, false})
		// A rare status or type is read from its own index, not found by
		// walking the scope's.
		if f.WebhookID == "" && f.EventID == "" && (f.Status != "" || f.EventType != "") {
			want := "deliveries_event_type"
			if f.Status != "" {
				want = "deliveries_status"
			}
			if plan, err := queryPlan(ctx, db, q, make([]any, strings.Count(q, "?"))...); err != nil || !strings.Contains(strings.Join(plan, "\n"), want) {
				t.Errorf("list deliveries %+v: plan %v (%v) does not use %s", f, plan, err, want)
			}
		}
	}
	for _, f := range []hookd.EventFilter{
		{Tag: "x"},
		{Tag: "x", Page: hookd.Page{Cursor: "msg_1"}},
		{Channel: "c", Tag: "x", Type: "a.b", Since: &since, Until: &since},
	} {
		q, _ := labelledEventsQuery(s, f, f.Labels())
		lists = append(lists, planCase{fmt.Sprintf("list events %+v", f), q, false})
	}
	for _, c := range append(lists, []planCase{
		{"due ids", dueIDsSQL, false},
		{"fair claim's next webhook", nextHookSQL, false},
		{"fair claim's webhook's due rows", hookDueSQL, false},
		{"claim rows", claimRowsSQL, false},
		{"claim events", eventsByNumberSQL, false},
		{"complete", completeSpec.sql(4), false},
		{"next due", nextDueSQL, true},
		{"stats", `SELECT count(*), coalesce(sum(next_attempt_at <= ?), 0) FROM deliveries WHERE status = 'pending'`, true},
		{"last rows", lastRowsSQL, false},
		{"requeue deliveries", requeueDeliveriesSQL(2), false},
		{"cancel webhook's", cancelPendingSQL, false},
		{"find delivery", `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id = ? AND tenant_id = ? AND mode = ?`, false},
		{"find attempts", `SELECT id FROM attempts WHERE delivery_id = ? ORDER BY id`, false},
		{"event's range", eventRangeSQL, false},
		{"find event", findEventByIDSQL, false},
		{"publish's subscribers", subscribersSQL, false},
		{"claim's webhooks", webhooksByIDSQL, false},
		{"find event by key", findEventByKeySQL, false},
		{"list events", `SELECT ` + eventColumns + ` FROM events WHERE tenant_id = ? AND mode = ? AND type = ? AND id < ?` + page, false},
		{"prune deliveries", `SELECT id FROM deliveries WHERE id < ? AND created_at < ? AND status != 'pending' LIMIT ?`, false},
		{"prune events", pruneEventsSQL, false},
		{"prune an event's labels", pruneLabelsSQL, false},
	}...) {
		plan, err := queryPlan(ctx, db, c.query, make([]any, strings.Count(c.query, "?"))...)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		t.Logf("%s:\n%s", c.name, strings.Join(plan, "\n"))
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN json_each") {
				continue // the list of ids a statement was given
			}
			scansTable := strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " INDEX ") && step != "SCAN CONSTANT ROW"
			scansIndex := strings.HasPrefix(step, "SCAN ") && strings.Contains(step, " INDEX ") && !strings.Contains(step, "deliveries_due")
			if scansTable || scansIndex || (strings.HasPrefix(step, "SCAN ") && !c.walksDue && strings.Contains(step, "deliveries_due")) ||
				strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s: plan %q reads a whole table or index, or sorts:\n%s", c.name, step, strings.Join(plan, "\n"))
			}
		}
	}
}

// queryPlan returns the steps of SQLite's plan for query.
func queryPlan(ctx context.Context, db *DB, query string, args ...any) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}
