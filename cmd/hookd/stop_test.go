package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

// slowReceiver answers every request after a pause, and keeps when each
// one arrived.
type slowReceiver struct {
	mu       sync.Mutex
	arrivals []time.Time
}

func (r *slowReceiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	r.arrivals = append(r.arrivals, time.Now())
	r.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

func (r *slowReceiver) since(t time.Time) (n, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.arrivals {
		if a.After(t) {
			n++
		}
	}
	return n, len(r.arrivals)
}

// TestStoppingStopsRequests checks that after a webhook is deleted or
// disabled no new request starts to it, although the instance holds many
// claimed deliveries of it: at most the requests already in flight (the
// per-webhook cap) arrive after the answer. On SQLite and PostgreSQL.
func TestStoppingStopsRequests(t *testing.T) {
	t.Parallel()
	const inflight = 4
	for _, db := range []string{"sqlite", "postgres"} {
		for _, how := range []string{"delete", "disable"} {
			t.Run(db+"/"+how, func(t *testing.T) {
				t.Parallel()
				flags := []string{"--allow-private-networks", "--per-webhook-inflight", "4"}
				if db == "postgres" {
					flags = append(flags, "--database-url", pgtest.NewDatabase(t))
				}
				in := startHookd(t, flags...)
				recv := &slowReceiver{}
				srv := httptest.NewServer(recv)
				t.Cleanup(srv.Close)
				c := in.client(t, in.liveKey)
				id := str(c.must(201, "POST", "/v1/webhooks", map[string]any{"url": srv.URL}).data(t)["id"])
				for range 60 {
					c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}})
				}
				waitFor(t, "requests flowing", func() bool { _, n := recv.since(time.Time{}); return n >= 2*inflight })
				if how == "delete" {
					c.must(204, "DELETE", "/v1/webhooks/{id}", nil, id)
				} else {
					c.must(200, "PATCH", "/v1/webhooks/{id}", map[string]any{"enabled": false}, id)
				}
				stopped := time.Now()
				// Long enough for several more rounds of the cap to start,
				// had the queued deliveries still been sent.
				time.Sleep(time.Second)
				if after, total := recv.since(stopped); after > inflight {
					t.Errorf("%d requests arrived after the webhook was stopped (of %d); want at most the %d in flight", after, total, inflight)
				}
				// Every request that reached the receiver is in the log, the
				// ones whose outcome came after the stop too.
				_, total := recv.since(time.Time{})
				logged := func() int {
					n := 0
					for _, d := range c.must(200, "GET", "/v1/deliveries?webhook_id="+id+"&limit=1000", nil).list(t) {
						one := c.must(200, "GET", "/v1/deliveries/{id}", nil, str(d.(map[string]any)["id"])).data(t)
						log, _ := one["attempt_log"].([]any)
						n += len(log)
					}
					return n
				}
				waitFor(t, "every request in the attempt log", func() bool { return logged() >= total })
				if n := logged(); n != total {
					t.Errorf("%d attempts logged for %d requests received", n, total)
				}
			})
		}
	}
}

// concurrencyReceiver answers after a pause and keeps the most requests it
// had in hand at once.
type concurrencyReceiver struct {
	mu       sync.Mutex
	now, max int
	total    int
}

func (r *concurrencyReceiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	r.now++
	r.total++
	r.max = max(r.max, r.now)
	r.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	r.mu.Lock()
	r.now--
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestLimitsHoldAcrossInstances runs two instances on one PostgreSQL with a
// per-webhook cap of 4: the receiver never has more than 4 requests of the
// webhook in hand at once, though both instances deliver.
func TestLimitsHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	flags := []string{"--database-url", url, "--allow-private-networks", "--per-webhook-inflight", "4"}
	a := startHookd(t, flags...)
	b := startHookd(t, flags...)
	recv := &concurrencyReceiver{}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	c := a.client(t, a.liveKey)
	c.must(201, "POST", "/v1/webhooks", map[string]any{"url": srv.URL})
	// Both instances heartbeat before the work arrives.
	time.Sleep(3 * time.Second)
	_ = b
	const events = 80
	for range events {
		c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created", "data": map[string]any{}})
	}
	waitFor(t, "every delivery", func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return recv.total >= events
	})
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.max > 4 {
		t.Errorf("the receiver had %d requests of the webhook in hand at once; the cluster's cap is 4", recv.max)
	}
}
