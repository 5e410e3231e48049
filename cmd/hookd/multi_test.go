package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/postgres/pgtest"
)

// TestMultiInstance runs three `hookd serve` processes on one PostgreSQL
// database and one receiver. While nothing fails, every delivery arrives
// exactly once; then one instance is killed with SIGKILL mid-run and the
// others take over its leased deliveries, losing none.
func TestMultiInstance(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	rec := &receipts{seen: map[string]int{}}
	recv := httptest.NewServer(rec)
	defer recv.Close()

	flags := []string{"--database-url", url, "--allow-private-networks", "--request-timeout", "2s", "--lease", "12s", "--concurrency", "32"}
	procs := []*process{startProcess(t, t.TempDir(), flags...)}
	live, _ := procs[0].keys(t)
	for range 2 {
		procs = append(procs, startProcess(t, t.TempDir(), flags...))
	}
	admin := &client{t: t, base: procs[0].base, key: live, seen: map[string]bool{}}
	paths := []string{"/a", "/b"}
	for _, p := range paths {
		admin.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + p})
	}

	var alive [3]atomic.Bool
	for i := range alive {
		alive[i].Store(true)
	}
	// publishN publishes n events round-robin over the live instances and
	// returns the ids answered 202; after kill events it calls onProgress.
	publishN := func(n int, onProgress func(accepted int)) []string {
		var (
			mu  sync.Mutex
			ids []string
			wg  sync.WaitGroup
			seq atomic.Int64
		)
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := &http.Client{Timeout: 10 * time.Second}
				for i := w; ; i++ {
					mu.Lock()
					done := len(ids) >= n
					mu.Unlock()
					if done {
						return
					}
					p := procs[i%3]
					if !alive[i%3].Load() {
						continue
					}
					id, err := publishEvent(hc, p.base, live, fmt.Sprintf(`{"type":"Call.finished","data":{"seq":%d}}`, seq.Add(1)))
					if err != nil || id == "" {
						continue
					}
					mu.Lock()
					ids = append(ids, id)
					k := len(ids)
					mu.Unlock()
					if onProgress != nil {
						onProgress(k)
					}
				}
			}()
		}
		wg.Wait()
		return ids
	}
	waitDelivered := func(ids []string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for _, id := range ids {
			for _, p := range paths {
				for !rec.has(p + " " + id) {
					if time.Now().After(deadline) {
						t.Fatalf("accepted event %s never reached %s", id, p)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
	}

	// Phase 1: nothing fails, so every delivery arrives exactly once.
	first := publishN(1500, nil)
	waitDelivered(first)
	if d := rec.duplicates(); d != 0 {
		t.Fatalf("%d duplicate deliveries with three healthy instances", d)
	}
	t.Logf("deliveries that succeeded, by instance: %s, %s, %s", succeededBy(t, procs[0]), succeededBy(t, procs[1]), succeededBy(t, procs[2]))

	// Phase 2: SIGKILL one instance mid-run; the others take its leases over.
	var killOnce sync.Once
	held := 0
	second := publishN(1500, func(accepted int) {
		if accepted < 500 {
			return
		}
		killOnce.Do(func() {
			alive[1].Store(false)
			procs[1].kill()
			held = leasedBy(t, url)
		})
	})
	waitDelivered(second)
	if d := rec.duplicates(); d > held {
		t.Fatalf("%d duplicates after the kill, but only %d deliveries were leased", d, held)
	} else {
		t.Logf("after SIGKILL: %d events delivered to both webhooks, %d duplicates (bound %d)", len(second), d, held)
	}
}

// leasedBy counts pending deliveries held by a lease: after a kill, the most
// that can be sent twice.
func leasedBy(t *testing.T, url string) int {
	t.Helper()
	var n int
	withConn(t, url, func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT count(*) FROM queue WHERE lease_owner IS NOT NULL`).Scan(&n)
	})
	return n
}

// succeededBy reads hookd_deliveries_total{outcome="succeeded"} from an
// instance's /metrics, to show how the work was shared.
func succeededBy(t *testing.T, p *process) string {
	t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, `hookd_deliveries_total{outcome="succeeded"}`) {
			return strings.Fields(line)[1]
		}
	}
	return "0"
}

func withConn(t *testing.T, url string, fn func(*pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := fn(c); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookChangeSeenByOtherInstance changes a webhook through one
// instance and publishes through another right after each change: the
// very next event follows the change (its delivery count says whom it
// reached), whatever the publishing instance read before. Instances hold
// no copy of a tenant's webhooks that a change elsewhere could leave stale.
func TestWebhookChangeSeenByOtherInstance(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer recv.Close()
	flags := []string{"--database-url", url, "--allow-private-networks"}
	a := startProcess(t, t.TempDir(), flags...)
	live, _ := a.keys(t)
	b := startProcess(t, t.TempDir(), flags...)
	changer := &client{t: t, base: a.base, key: live, seen: map[string]bool{}}
	publisher := &client{t: t, base: b.base, key: live, seen: map[string]bool{}}
	publish := func(typ string) int {
		t.Helper()
		d := publisher.must(202, "POST", "/v1/events", map[string]any{"type": typ, "data": map[string]any{"n": 1}}).data(t)
		n, ok := d["deliveries"].(float64)
		if !ok {
			t.Fatalf("publish %s: no delivery count in %v", typ, d)
		}
		return int(n)
	}
	// Both types join the catalog, and instance b has published for the
	// scope before any webhook exists.
	for _, typ := range []string{"Call.started", "Call.finished"} {
		if n := publish(typ); n != 0 {
			t.Fatalf("publish %s with no webhook: %d deliveries", typ, n)
		}
	}
	id := str(changer.must(201, "POST", "/v1/webhooks",
		map[string]any{"url": recv.URL, "event_types": []string{"Call.started"}}).data(t)["id"])
	for _, step := range []struct {
		name   string
		change func()
		want   map[string]int // deliveries per event type published right after
	}{
		{"created", func() {}, map[string]int{"Call.started": 1, "Call.finished": 0}},
		{"event types changed", func() {
			changer.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"event_types": []string{"Call.finished"}}, id)
		}, map[string]int{"Call.started": 0, "Call.finished": 1}},
		{"filter added", func() {
			changer.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"filter": map[string]any{"data.n": 2}}, id)
		}, map[string]int{"Call.started": 0, "Call.finished": 0}},
		{"filter removed", func() {
			changer.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"filter": nil}, id)
		}, map[string]int{"Call.finished": 1}},
		{"disabled", func() {
			changer.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"enabled": false}, id)
		}, map[string]int{"Call.finished": 0}},
		{"enabled", func() {
			changer.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"enabled": true}, id)
		}, map[string]int{"Call.finished": 1}},
		{"deleted", func() {
			changer.must(204, "DELETE", "/v1/webhooks/{id}", nil, id)
		}, map[string]int{"Call.started": 0, "Call.finished": 0}},
	} {
		step.change()
		for typ, want := range step.want {
			if got := publish(typ); got != want {
				t.Errorf("%s on one instance, then %s published on the other: %d deliveries, want %d", step.name, typ, got, want)
			}
		}
	}
}
