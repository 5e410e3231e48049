package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/webhook"
)

// harness is a real SQLite store with one tenant's live scope.
type harness struct {
	t     testing.TB
	db    *sqlite.DB
	scope hookd.Scope
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ten, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, db: db, scope: hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}}
}

func (h *harness) webhook(url string, edit func(*hookd.Webhook)) *hookd.Webhook {
	h.t.Helper()
	w := &hookd.Webhook{URL: url, Enabled: true, TLSVerify: true}
	if edit != nil {
		edit(w)
	}
	if err := services(h.db).Webhooks.CreateWebhook(context.Background(), h.scope, w); err != nil {
		h.t.Fatal(err)
	}
	return w
}

func (h *harness) eventType(name string) {
	h.t.Helper()
	if err := services(h.db).EventTypes.CreateEventType(context.Background(), h.scope, &hookd.EventType{Name: name}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) publishRequests(n int, typ string) []hookd.PublishRequest {
	reqs := make([]hookd.PublishRequest, n)
	for i := range reqs {
		reqs[i] = hookd.PublishRequest{Scope: h.scope, Event: &hookd.Event{
			Type: typ,
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		}}
	}
	return reqs
}

// publish commits n events in one batch and returns their ids.
func (h *harness) publish(n int, typ string) []string {
	h.t.Helper()
	res, err := h.db.PublishEvents(context.Background(), h.publishRequests(n, typ))
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, n)
	for i, r := range res {
		if r.Err != nil {
			h.t.Fatal(r.Err)
		}
		ids[i] = r.Event.ID
	}
	return ids
}

// deliveries returns every delivery of the scope.
func (h *harness) deliveries(f hookd.DeliveryFilter) []*hookd.Delivery {
	h.t.Helper()
	var all []*hookd.Delivery
	f.Limit = hookd.MaxPageLimit
	for {
		page, err := services(h.db).Deliveries.FindDeliveries(context.Background(), h.scope, f)
		if err != nil {
			h.t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.Cursor = page[len(page)-1].ID
	}
}

func (h *harness) countStatus(webhookID string, st hookd.DeliveryStatus) int {
	h.t.Helper()
	return len(h.deliveries(hookd.DeliveryFilter{WebhookID: webhookID, Status: st}))
}

// sender is a real webhook client allowed to reach loopback.
func testSender(t testing.TB, timeout time.Duration) *webhook.Client {
	t.Helper()
	c, err := webhook.New(webhook.Config{RequestTimeout: timeout, Policy: hookd.NetPolicy{AllowPrivate: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// testConfig is a dispatcher config for tests: quick polling and backoff.
func testConfig(cfg Config) Config {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.ReleaseBackoff == 0 {
		cfg.ReleaseBackoff = 50 * time.Millisecond
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.RetryPolicy.Delays == nil {
		cfg.RetryPolicy = hookd.RetryPolicy{Delays: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}}
	}
	return cfg
}

// startDispatcher starts a dispatcher of q through a real webhook client.
func startDispatcher(t testing.TB, q hookd.Queue, cfg Config) *Dispatcher {
	t.Helper()
	cfg = testConfig(cfg)
	d, err := NewDispatcher(q, testSender(t, cfg.RequestTimeout), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d
}

// waitFor polls cond; the deadline only keeps a broken test from hanging.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is a loopback HTTP receiver that counts requests by webhook-id.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int // by webhook-id, every request
	answered map[string]int // by webhook-id, 2xx answers
	bodies   [][]byte
}

// newReceiver serves with handle, which gets how many requests of the same
// webhook-id came before and returns the status to answer.
func newReceiver(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, seen int) int) *receiver {
	t.Helper()
	rc := &receiver{requests: map[string]int{}, answered: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		var body [4096]byte
		n, _ := r.Body.Read(body[:])
		rc.mu.Lock()
		seen := rc.requests[id]
		rc.requests[id]++
		rc.bodies = append(rc.bodies, append([]byte(nil), body[:n]...))
		rc.mu.Unlock()
		status := http.StatusOK
		if handle != nil {
			status = handle(w, r, seen)
		}
		w.WriteHeader(status)
		if status >= 200 && status < 300 {
			rc.mu.Lock()
			rc.answered[id]++
			rc.mu.Unlock()
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() (requests, answered int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.requests {
		requests += n
	}
	for _, n := range rc.answered {
		answered += n
	}
	return requests, answered
}

// recordingQueue is the real store, remembering every outcome written and
// when it was written.
type recordingQueue struct {
	hookd.Queue
	mu        sync.Mutex
	outcomes  []hookd.Outcome
	writtenAt []time.Time
}

func (q *recordingQueue) CompleteDeliveries(ctx context.Context, outs []hookd.Outcome) error {
	now := time.Now()
	q.mu.Lock()
	for _, o := range outs {
		if o.Attempt != nil {
			a := *o.Attempt
			o.Attempt = &a
		}
		q.outcomes = append(q.outcomes, o)
		q.writtenAt = append(q.writtenAt, now)
	}
	q.mu.Unlock()
	return q.Queue.CompleteDeliveries(ctx, outs)
}

func (q *recordingQueue) recorded() ([]hookd.Outcome, []time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]hookd.Outcome(nil), q.outcomes...), append([]time.Time(nil), q.writtenAt...)
}

// services are the domain's services over db, on the real clock.
func services(db *sqlite.DB) hookd.Services {
	return hookd.NewServices(db, hookd.ServiceOptions{Policy: hookd.NetPolicy{AllowPrivate: true}})
}
