package postgres_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/webhook"
)

// A publish hands off the deliveries Take takes: their queue rows are
// leased to the handoff's owner in the publish itself and come back as jobs
// with the event as published and the full webhook; the others are left
// for claims. A handed-off job completes under its lease like a claimed
// one, and one never sent is claimed again once its lease runs out.
func TestPublishHandoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var clock = time.Now()
	db := open(t, pgtest.NewDatabase(t), func() time.Time { return clock })
	s, a := setup(t, db)
	b := &hookd.Webhook{URL: "https://other.example/hook", Enabled: true, TLSVerify: true}
	if err := services(db).Webhooks.CreateWebhook(ctx, s, b); err != nil {
		t.Fatal(err)
	}
	var asked []string
	h := hookd.Handoff{Owner: "hand.1", Lease: time.Minute, Take: func(id string) bool {
		asked = append(asked, id)
		return id == a.ID
	}}
	reqs := []hookd.PublishRequest{
		{Scope: s, Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{"n": 1,  "raw":true}`)}},
		{Scope: s, Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{"n":2}`)}},
	}
	res, jobs, err := db.PublishEventsHandoff(ctx, reqs, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Deliveries != 2 || res[1].Deliveries != 2 {
		t.Fatalf("results %+v, want two events of two deliveries", res)
	}
	if len(asked) != 4 {
		t.Errorf("Take asked %d times, want once per delivery (4)", len(asked))
	}
	if len(jobs) != 2 {
		t.Fatalf("handed off %d jobs, want 2 (webhook a's)", len(jobs))
	}
	for i, j := range jobs {
		if j.Delivery.WebhookID != a.ID || j.Webhook == nil || j.Webhook.ID != a.ID || j.Webhook.Secret != a.Secret ||
			j.Webhook.URL != a.URL {
			t.Fatalf("job %d: delivery to %s with webhook %+v, want webhook a in full", i, j.Delivery.WebhookID, j.Webhook)
		}
		if j.Event == nil || j.Event.ID != res[i].Event.ID || string(j.Event.Data) != string(reqs[i].Event.Data) {
			t.Fatalf("job %d: event %+v, want %s byte for byte", i, j.Event, reqs[i].Event.Data)
		}
		if j.Delivery.Status != hookd.DeliveryPending || j.Delivery.Attempts != 0 || j.Delivery.EventID != res[i].Event.ID {
			t.Errorf("job %d: delivery %+v, want pending with no attempt, of its event", i, j.Delivery)
		}
		stored, _, err := services(db).Deliveries.FindDeliveryByID(ctx, s, j.Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.CreatedAt.Equal(j.Delivery.CreatedAt) || stored.Status != hookd.DeliveryPending {
			t.Errorf("job %d: stored %+v, handed %+v", i, stored, j.Delivery)
		}
	}

	// A claim now takes only webhook b's deliveries: a's are leased.
	claimed, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "claim.1", Limit: 10, Lease: time.Minute, Now: clock, PerWebhook: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].Delivery.WebhookID != b.ID || claimed[1].Delivery.WebhookID != b.ID {
		t.Fatalf("claimed %d, want webhook b's two", len(claimed))
	}

	// The first handed-off job succeeds under its lease; a stale owner
	// writes nothing.
	done := func(owner string, j *hookd.Job) error {
		return db.CompleteDeliveries(ctx, []hookd.Outcome{{DeliveryID: j.Delivery.ID, WebhookID: a.ID, Owner: owner,
			Kind: hookd.OutcomeSucceeded, Attempt: &hookd.Attempt{At: clock, StatusCode: 200}}})
	}
	if err := done("claim.1", jobs[0]); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := services(db).Deliveries.FindDeliveryByID(ctx, s, jobs[0].Delivery.ID); d.Status != hookd.DeliveryPending {
		t.Fatalf("completed under another owner: status %s, want pending", d.Status)
	}
	if err := done("hand.1", jobs[0]); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := services(db).Deliveries.FindDeliveryByID(ctx, s, jobs[0].Delivery.ID); d.Status != hookd.DeliverySucceeded {
		t.Fatalf("completed under its lease: status %s, want succeeded", d.Status)
	}

	// The second was never sent (its process died): after the lease it is
	// claimed like any other.
	clock = clock.Add(2 * time.Minute)
	again, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "claim.2", Limit: 10, Lease: time.Minute, Now: clock, PerWebhook: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range again {
		ids = append(ids, j.Delivery.ID)
	}
	if len(again) != 3 || !slices.Contains(ids, jobs[1].Delivery.ID) {
		t.Fatalf("claimed %v after the leases ran out, want b's two and %s", ids, jobs[1].Delivery.ID)
	}
}

// A publish that hands everything off wakes no dispatcher; one that leaves
// a delivery to the claims does.
func TestHandoffNotifiesOnlyForTheRest(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db := open(t, url, time.Now)
	s, _ := setup(t, db)
	listener := open(t, url, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken := make(chan struct{}, 64)
	go func() { _ = listener.Listen(ctx, func() { woken <- struct{}{} }) }()
	handoff := func(take bool) {
		t.Helper()
		h := hookd.Handoff{Owner: "hand", Lease: time.Minute, Take: func(string) bool { return take }}
		_, _, err := db.PublishEventsHandoff(ctx, []hookd.PublishRequest{{Scope: s,
			Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{}`)}}}, h)
		if err != nil {
			t.Fatal(err)
		}
	}
	publishUntilWoken(t, woken, func() { handoff(false) })
	time.Sleep(200 * time.Millisecond)
	for len(woken) > 0 {
		<-woken
	}
	for range 5 {
		handoff(true)
	}
	select {
	case <-woken:
		t.Fatal("a publish that handed every delivery off woke the dispatchers")
	case <-time.After(500 * time.Millisecond):
	}
	handoff(false)
	select {
	case <-woken:
	case <-time.After(30 * time.Second):
		t.Fatal("a publish that left a delivery to the claims woke no dispatcher")
	}
}

// The real publisher and dispatcher on PostgreSQL: every accepted event
// reaches its receiver, most without a claim; a dispatcher stopped while
// publishes are handing deliveries off hands them back (due at once), and
// the next dispatcher sends them, each exactly once.
func TestHandoffEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.NewDatabase(t), time.Now)
	s, unreachable := setup(t, db)
	var mu sync.Mutex
	got := map[string]int{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	// The setup's webhook points nowhere reachable: this test's goes to recv.
	if err := services(db).Webhooks.DeleteWebhook(ctx, s, unreachable.ID); err != nil {
		t.Fatal(err)
	}
	if err := services(db).Webhooks.CreateWebhook(ctx, s, &hookd.Webhook{URL: recv.URL, Enabled: true, TLSVerify: true}); err != nil {
		t.Fatal(err)
	}
	sender, err := webhook.New(webhook.Config{RequestTimeout: 5 * time.Second, Policy: hookd.NetPolicy{AllowPrivate: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.CloseIdleConnections)
	reg := prometheus.NewRegistry()
	metrics, err := delivery.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	start := func(owner string) *delivery.Dispatcher {
		d, err := delivery.NewDispatcher(db, sender, delivery.Config{Owner: owner, Metrics: metrics,
			PollInterval: 20 * time.Millisecond, PerWebhookInFlight: 8})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := start("first")
	pub, err := delivery.NewPublisher(db, delivery.PublisherOptions{Handoff: first, OnCommit: first.Notify, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()

	var accepted sync.Map
	publish := func(n int) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n / 8 {
					res, err := pub.Publish(ctx, hookd.PublishRequest{Scope: s, Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{}`)}})
					if err != nil {
						t.Error(err)
						return
					}
					accepted.Store(res.Event.ID, true)
				}
			}()
		}
		wg.Wait()
	}
	publish(400)
	handed := counter(t, reg, "hookd_deliveries_handed_off_total")
	if handed == 0 {
		t.Error("no delivery was handed off")
	}

	// Stop the dispatcher while publishes hand deliveries to it.
	stopped := make(chan struct{})
	go func() {
		time.Sleep(5 * time.Millisecond)
		first.Stop()
		close(stopped)
	}()
	publish(400)
	<-stopped
	second := start("second")
	defer second.Stop()

	total := 0
	accepted.Range(func(any, any) bool { total++; return true })
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events received", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s received %d times, want once (no crash, no timeout)", id, n)
		}
	}
	t.Logf("%d events, %v handed off before the stop", total, handed)
}

// counter reads a counter of reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
