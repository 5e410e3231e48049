package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// receipts counts what a receiver got, per webhook path and webhook-id.
type receipts struct {
	mu    sync.Mutex
	seen  map[string]int // path + " " + webhook-id → times received
	total int
}

func (r *receipts) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen[req.URL.Path+" "+req.Header.Get("webhook-id")]++
	r.total++
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *receipts) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[key] > 0
}

func (r *receipts) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total - len(r.seen)
}

// TestCrashSafety kills the real binary with SIGKILL in the middle of a load
// of events, starts it again on the same data, and checks that every event
// answered 202 reached every webhook at least once, with no more duplicates
// than deliveries the dead process held.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	rec := &receipts{seen: map[string]int{}}
	recv := httptest.NewServer(rec)
	defer recv.Close()

	dir := t.TempDir()
	flags := []string{"--allow-private-networks", "--request-timeout", "1s", "--lease", "11s", "--concurrency", "32"}
	p1 := startProcess(t, dir, flags...)
	live, _ := p1.keys(t)
	admin := &client{t: t, base: p1.base, key: live, seen: map[string]bool{}}
	paths := []string{"/a", "/b"}
	for _, path := range paths {
		admin.must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL + path})
	}

	const total = 3000
	var (
		base     atomic.Pointer[string]
		mu       sync.Mutex
		accepted []string
		killed   = make(chan struct{})
		killOnce sync.Once
	)
	base.Store(&p1.base)
	publish := func(wg *sync.WaitGroup) {
		defer wg.Done()
		hc := &http.Client{Timeout: 10 * time.Second}
		for {
			mu.Lock()
			n := len(accepted)
			mu.Unlock()
			if n >= total {
				return
			}
			body := `{"type":"Call.finished","data":{"n":1}}`
			req, _ := http.NewRequest("POST", *base.Load()+"/v1/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+live)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				time.Sleep(20 * time.Millisecond) // the process is down; the restart swaps the base
				continue
			}
			var out struct {
				Data struct{ ID string } `json:"data"`
			}
			ok := resp.StatusCode == http.StatusAccepted && decodeJSON(resp, &out) == nil
			resp.Body.Close()
			if !ok {
				continue
			}
			mu.Lock()
			accepted = append(accepted, out.Data.ID)
			if len(accepted) == total/3 {
				killOnce.Do(func() { close(killed) })
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go publish(&wg)
	}

	<-killed
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p1.done
	held := leasedDeliveries(t, filepath.Join(dir, "hookd.db"))
	t.Logf("killed with %d events accepted and %d deliveries leased", lenLocked(&mu, &accepted), held)

	p2 := startProcess(t, dir, flags...)
	base.Store(&p2.base)
	wg.Wait()

	mu.Lock()
	ids := append([]string(nil), accepted...)
	mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		for _, path := range paths {
			for !rec.has(path + " " + id) {
				if time.Now().After(deadline) {
					t.Fatalf("accepted event %s never reached %s; its deliveries:\n%s", id, path, deliveryRows(t, filepath.Join(dir, "hookd.db"), id))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	if d := rec.duplicates(); d > held {
		t.Fatalf("%d duplicate deliveries, but the killed process held only %d", d, held)
	} else {
		t.Logf("%d of %d accepted events delivered to both webhooks; %d duplicates (bound %d)", len(ids), total, d, held)
	}
}

func lenLocked(mu *sync.Mutex, s *[]string) int {
	mu.Lock()
	defer mu.Unlock()
	return len(*s)
}

// leasedDeliveries counts the pending deliveries a dead process still held:
// the most that can be sent twice.
func leasedDeliveries(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// deliveryRows describes an event's deliveries, for a failure message.
func deliveryRows(t *testing.T, path, eventID string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, webhook_id, status, attempts, coalesce(next_attempt_at, 0), coalesce(lease_owner, ''), coalesce(lease_until, 0), last_error FROM deliveries WHERE event_id = ?`, eventID)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, wh, status, owner, lastErr string
		var attempts, next, until int64
		if err := rows.Scan(&id, &wh, &status, &attempts, &next, &owner, &until, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "%s webhook=%s status=%s attempts=%d next=%d owner=%q lease_until=%d err=%q (now %d)\n", id, wh, status, attempts, next, owner, until, lastErr, time.Now().UnixMilli())
	}
	return b.String()
}
