package sqlite

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walk is a claim at nowMS by owner of up to limit of rows, due at ats,
// as takeDue does it for one chunk: it returns the rows taken.
func walk(t *leaseTable, owner string, nowMS int64, limit int, ids, ats []int64) []int64 {
	sc := t.beginClaim(nowMS)
	defer t.endClaim(sc.began)
	p := sc.from
	p.maxRow = 1000
	taken := t.take(nil, ids, ats, limit, owner, nowMS, nowMS+60_000, sc.began, &p)
	t.advance(sc, p)
	return taken
}

// TestSkipMark follows the skip mark through the lease table: it covers the
// prefix a claim walked, and every way a row of it may become claimable
// voids it.
func TestSkipMark(t *testing.T) {
	t.Parallel()
	const now = int64(1_000_000)
	ids, ats := []int64{1, 2, 3, 4, 5}, []int64{10, 20, 20, 30, 40}
	fresh := func(t *testing.T) *leaseTable {
		t.Helper()
		lt := newLeaseTable()
		if got := walk(lt, "a", now, 3, ids, ats); len(got) != 3 {
			t.Fatalf("took %v, want 3 rows", got)
		}
		if got := lt.beginClaim(now).from; got.at != 20 || got.row != 3 || got.since != now || got.expires != now+60_000 {
			t.Fatalf("mark after taking 1..3 = %+v, want row 3 at 20 since %d expiring %d", got, now, now+60_000)
		}
		return lt
	}
	fromStart := func(t *testing.T, lt *leaseTable, nowMS int64) {
		t.Helper()
		if got := lt.beginClaim(nowMS).from; got.at != math.MinInt64 || got.maxRow != math.MaxInt64 {
			t.Errorf("mark = %+v, want a walk from the start", got)
		}
	}
	t.Run("extends over held rows", func(t *testing.T) {
		t.Parallel()
		lt := fresh(t)
		if got := walk(lt, "b", now+1, 5, ids[3:], ats[3:]); len(got) != 2 {
			t.Fatalf("took %v, want rows 4 and 5", got)
		}
		if got := lt.beginClaim(now + 2).from; got.row != 5 || got.since != now {
			t.Errorf("mark = %+v, want row 5, since the first walk", got)
		}
	})
	t.Run("stops where the limit stops", func(t *testing.T) {
		t.Parallel()
		lt := newLeaseTable()
		walk(lt, "a", now, 1, ids, ats)
		if got := lt.beginClaim(now).from; got.row != 1 {
			t.Errorf("mark = %+v, want row 1: row 2 was free and not taken", got)
		}
	})
	t.Run("a claim that began before a reset does not move it", func(t *testing.T) {
		t.Parallel()
		lt := fresh(t)
		sc := lt.beginClaim(now)
		p := sc.from
		lt.take(nil, ids[3:], ats[3:], 5, "b", now, now+60_000, sc.began, &p)
		lt.drop([]int64{1}, "a")
		lt.advance(sc, p)
		lt.endClaim(sc.began)
		fromStart(t, lt, now)
	})
	resets := []struct {
		name string
		do   func(lt *leaseTable)
	}{
		{"drop", func(lt *leaseTable) { lt.drop([]int64{2}, "a") }},
		{"restore", func(lt *leaseTable) { lt.complete(2, "a"); lt.restore([]int64{2}) }},
		{"sweep", func(lt *leaseTable) { lt.sweep(time.UnixMilli(now)) }},
		{"retried due now", func(lt *leaseTable) { lt.complete(2, "a"); lt.finish([]int64{2}, now) }},
		{"released due before the mark", func(lt *leaseTable) { lt.complete(2, "a"); lt.finish([]int64{2}, 5) }},
		{"finished without an outcome", func(lt *leaseTable) { lt.finish([]int64{2}, math.MaxInt64) }},
		{"an unleased row finished", func(lt *leaseTable) { lt.finish([]int64{99}, math.MaxInt64) }},
	}
	for _, c := range resets {
		t.Run("reset by "+c.name, func(t *testing.T) {
			t.Parallel()
			lt := fresh(t)
			c.do(lt)
			fromStart(t, lt, now)
		})
	}
	kept := []struct {
		name string
		do   func(lt *leaseTable)
	}{
		{"success", func(lt *leaseTable) { lt.complete(2, "a"); lt.finish([]int64{2}, math.MaxInt64) }},
		{"retry due after every claim's now", func(lt *leaseTable) { lt.complete(2, "a"); lt.finish([]int64{2}, now+1) }},
		{"a drop of nothing", func(lt *leaseTable) { lt.drop(nil, "a") }},
	}
	for _, c := range kept {
		t.Run("kept after "+c.name, func(t *testing.T) {
			t.Parallel()
			lt := fresh(t)
			c.do(lt)
			if got := lt.beginClaim(now).from; got.row != 3 {
				t.Errorf("mark = %+v, want row 3 still", got)
			}
		})
	}
	for _, c := range []struct {
		name  string
		nowMS int64
	}{
		{"a lease in the prefix expired", now + 60_001},
		{"skipTTL passed", now + skipTTL.Milliseconds()},
		{"the clock went back", now - 1},
	} {
		t.Run("void when "+c.name, func(t *testing.T) {
			t.Parallel()
			lt := fresh(t)
			if c.nowMS > now+60_000 {
				// Keep the walk from the start recent: only the expiry voids.
				lt.skip.since = c.nowMS - 1
			}
			fromStart(t, lt, c.nowMS)
		})
	}
}

// TestSkipCheckPlan checks that the look for rows inserted behind a skip
// mark reads the rows above a rowid, not the due index it exists to spare.
func TestSkipCheckPlan(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan, err := queryPlan(context.Background(), db, skipCheckSQL, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(plan, "\n")
	if !strings.Contains(joined, "USING INTEGER PRIMARY KEY (rowid>?)") || strings.Contains(joined, "deliveries_due") || strings.Contains(joined, "SCAN deliveries") {
		t.Errorf("plan of the skip check:\n%s\nwant a search of the rowids above one, and no index", joined)
	}
}
