package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on a fresh database, closed when the test ends.
func open(tb testing.TB, url string, now func() time.Time) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{Now: now, MaxConns: 4})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

// setup makes a tenant with one enabled webhook subscribed to every event.
func setup(tb testing.TB, db *postgres.DB) (hookd.Scope, *hookd.Webhook) {
	tb.Helper()
	ctx := context.Background()
	ten, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	s := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	w := &hookd.Webhook{URL: "https://receiver.example/hook", Enabled: true, TLSVerify: true}
	if err := services(db).Webhooks.CreateWebhook(ctx, s, w); err != nil {
		tb.Fatalf("CreateWebhook: %v", err)
	}
	return s, w
}

// publish publishes n events of one type in one batch.
func publish(tb testing.TB, db *postgres.DB, s hookd.Scope, n int) []hookd.PublishResult {
	tb.Helper()
	return publishLabelled(tb, db, s, n, nil, nil)
}

// publishLabelled publishes n events with these channels and tags.
func publishLabelled(tb testing.TB, db *postgres.DB, s hookd.Scope, n int, channels, tags []string) []hookd.PublishResult {
	tb.Helper()
	reqs := make([]hookd.PublishRequest, n)
	for i := range reqs {
		reqs[i] = hookd.PublishRequest{Scope: s, Event: &hookd.Event{
			Type: "order.created", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), CreatedAt: time.Now(),
			Channels: channels, Tags: tags}}
	}
	res, err := db.PublishEvents(context.Background(), reqs)
	if err != nil {
		tb.Fatalf("PublishEvents: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			tb.Fatalf("PublishEvents: %v", r.Err)
		}
	}
	return res
}

// The whole path once: publish, claim with event and webhook, complete,
// and read the delivery back with its attempt.
func TestPublishClaimComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.NewDatabase(t), time.Now)
	s, w := setup(t, db)

	res := publish(t, db, s, 1)
	if res[0].Deliveries != 1 {
		t.Fatalf("deliveries = %d, want 1", res[0].Deliveries)
	}
	jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "a", Limit: 10, Lease: time.Minute, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Event == nil || jobs[0].Webhook == nil {
		t.Fatalf("claimed %+v, want one job with its event and webhook", jobs)
	}
	if diff := cmp.Diff(string(res[0].Event.Data), string(jobs[0].Event.Data)); diff != "" {
		t.Errorf("event data (-want +got):\n%s", diff)
	}
	if jobs[0].Webhook.Secret != w.Secret {
		t.Errorf("claimed webhook secret = %q, want %q", jobs[0].Webhook.Secret, w.Secret)
	}
	at := time.Now()
	err = db.CompleteDeliveries(ctx, []hookd.Outcome{{
		DeliveryID: jobs[0].Delivery.ID, WebhookID: w.ID, Owner: "a", Kind: hookd.OutcomeSucceeded,
		Attempt: &hookd.Attempt{At: at, StatusCode: 200, ResponseExcerpt: "ok\x00\xff"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d, attempts, err := services(db).Deliveries.FindDeliveryByID(ctx, s, jobs[0].Delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != hookd.DeliverySucceeded || d.Attempts != 1 || len(attempts) != 1 {
		t.Fatalf("after success: status %s, %d attempts, %d attempt rows", d.Status, d.Attempts, len(attempts))
	}
	// PostgreSQL text refuses NUL and invalid UTF-8: they are replaced, not fatal.
	if got, want := attempts[0].ResponseExcerpt, "ok\uFFFD\uFFFD"; got != want {
		t.Errorf("excerpt = %q, want %q", got, want)
	}
}

// Driver errors become domain errors: a duplicate is ECONFLICT, a missing
// row ENOTFOUND naming it.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.NewDatabase(t), time.Now)
	s, _ := setup(t, db)
	_, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if got := hookd.ErrorCode(err); got != hookd.ECONFLICT {
		t.Errorf("duplicate tenant: code %q (%v), want %q", got, err, hookd.ECONFLICT)
	}
	_, err = services(db).Webhooks.FindWebhookByID(ctx, s, "wh_missing")
	if got := hookd.ErrorCode(err); got != hookd.ENOTFOUND || hookd.ErrorMessage(err) != "webhook wh_missing not found" {
		t.Errorf("missing webhook: %v, want ENOTFOUND naming it", err)
	}
	// PostgreSQL text refuses NUL: the client's fault, and never the batch's.
	bad := &hookd.Webhook{URL: "https://receiver.example/", Name: "a\x00b", Enabled: true}
	if got := hookd.ErrorCode(services(db).Webhooks.CreateWebhook(ctx, s, bad)); got != hookd.EINVALID {
		t.Errorf("webhook name with NUL: code %q, want %q", got, hookd.EINVALID)
	}
	res, err := db.PublishEvents(ctx, []hookd.PublishRequest{
		{Scope: s, Event: &hookd.Event{ID: "a\x00b", Type: "order.created", Data: json.RawMessage(`{}`)}},
		{Scope: s, Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{}`)}},
	})
	if err != nil {
		t.Fatalf("a bad id failed the whole batch: %v", err)
	}
	if got := hookd.ErrorCode(res[0].Err); got != hookd.EINVALID {
		t.Errorf("event id with NUL: code %q, want %q", got, hookd.EINVALID)
	}
	if res[1].Err != nil || res[1].Deliveries != 1 {
		t.Errorf("the good event of the batch: %+v, want 1 delivery", res[1])
	}
	other := hookd.Scope{TenantID: s.TenantID, Mode: hookd.ModeTest}
	ws, n, err := services(db).Webhooks.FindWebhooks(ctx, other, hookd.WebhookFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 || n != 0 {
		t.Errorf("test mode sees %d live webhooks", n)
	}
}

// Open migrates; running the migrations again, or from several instances
// at once, is harmless thanks to the advisory lock.
func TestMigrateTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = postgres.Migrate(ctx, url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	db := open(t, url, time.Now)
	if _, err := services(db).Tenants.CreateTenant(ctx, "after-migrations"); err != nil {
		t.Fatalf("store unusable after migrations: %v", err)
	}
}

// Several instances (pools) claiming at once never hold the same delivery
// while its lease is valid, and together claim every delivery exactly once:
// in due order, and fairly (each instance with its own place in the round).
func TestConcurrentClaimersShareNothing(t *testing.T) {
	t.Parallel()
	for _, perWebhook := range []int{0, 3} {
		t.Run(fmt.Sprintf("per webhook %d", perWebhook), func(t *testing.T) {
			t.Parallel()
			concurrentClaimersShareNothing(t, perWebhook)
		})
	}
}

func concurrentClaimersShareNothing(t *testing.T, perWebhook int) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	first := open(t, url, time.Now)
	s, _ := setup(t, first)
	const total = 600
	for range total / 100 {
		publish(t, first, s, 100)
	}
	const instances = 3
	var (
		mu      sync.Mutex
		claimed = map[string]string{} // delivery id → owner
		wg      sync.WaitGroup
		errs    = make(chan error, instances)
	)
	for i := range instances {
		db := first
		if i > 0 {
			db = open(t, url, time.Now)
		}
		owner := fmt.Sprintf("instance-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: owner, Limit: 7, Lease: time.Hour, Now: time.Now(),
					PerWebhook: perWebhook})
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					if prev, ok := claimed[j.Delivery.ID]; ok {
						errs <- fmt.Errorf("delivery %s claimed by %s while %s holds its lease", j.Delivery.ID, owner, prev)
					}
					claimed[j.Delivery.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != total {
		t.Errorf("claimed %d distinct deliveries, want %d", len(claimed), total)
	}
}

// Two instances publishing the same event id at once: one stores it, the
// other replays it (after retrying its batch), and nothing fails.
func TestConcurrentPublishOfOneID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a := open(t, url, time.Now)
	s, _ := setup(t, a)
	b := open(t, url, time.Now)
	for round := range 20 {
		id := fmt.Sprintf("evt-%d", round)
		results := make([]hookd.PublishResult, 2)
		var wg sync.WaitGroup
		for i, db := range []*postgres.DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := db.PublishEvents(ctx, []hookd.PublishRequest{{Scope: s, Event: &hookd.Event{
					ID: id, Type: "order.created", Data: json.RawMessage(`{}`), CreatedAt: time.Now()}}})
				if err != nil {
					t.Errorf("round %d: PublishEvents: %v", round, err)
					return
				}
				results[i] = res[0]
			}()
		}
		wg.Wait()
		replays := 0
		for _, r := range results {
			if r.Err != nil {
				t.Fatalf("round %d: %v", round, r.Err)
			}
			if r.Deliveries != 1 {
				t.Errorf("round %d: deliveries = %d, want 1 (the original count, on a replay too)", round, r.Deliveries)
			}
			if r.Replayed {
				replays++
			}
		}
		if replays != 1 {
			t.Fatalf("round %d: %d replays, want exactly 1", round, replays)
		}
	}
}

// A publish that makes deliveries wakes a listener of another instance.
func TestListenWakesOnPublish(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db := open(t, url, time.Now)
	s, _ := setup(t, db)
	listener := open(t, url, time.Now)

	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- listener.Listen(ctx, func() { woken <- struct{}{} }) }()

	publishUntilWoken(t, woken, func() { publish(t, db, s, 1) })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Listen returned %v after cancel, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

// publishUntilWoken publishes every 50 ms until a wake-up arrives: LISTEN
// takes effect asynchronously.
func publishUntilWoken(t *testing.T, woken <-chan struct{}, publish func()) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-woken:
			return
		case <-tick.C:
			publish()
		case <-deadline:
			t.Fatal("no notification within 30s of publishing")
		}
	}
}

func BenchmarkPublish(b *testing.B) { benchPublish(b, nil, nil) }

// benchPublish publishes batches of 100 events with these channels and tags.
func benchPublish(b *testing.B, channels, tags []string) {
	db := open(b, pgtest.NewDatabase(b), time.Now)
	s, _ := setup(b, db)
	const batch = 100
	b.ResetTimer()
	for b.Loop() {
		publishLabelled(b, db, s, batch, channels, tags)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPublishLabelled is BenchmarkPublish with a channel and a tag
// on every event (Svix's): two more rows each, in event_labels.
func BenchmarkPublishLabelled(b *testing.B) {
	benchPublish(b, []string{"project_1"}, []string{"bench"})
}

// BenchmarkClaimComplete claims and completes deliveries of one webhook in
// batches of 100, and of the dispatcher's default claim batch (512).
func BenchmarkClaimComplete(b *testing.B) {
	for _, batch := range []int{100, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchClaimComplete(b, batch) })
	}
}

func benchClaimComplete(b *testing.B, batch int) {
	ctx := context.Background()
	db := open(b, pgtest.NewDatabase(b), time.Now)
	s, w := setup(b, db)
	outs := make([]hookd.Outcome, 0, batch)
	for range b.N {
		publish(b, db, s, batch)
	}
	b.ResetTimer()
	for range b.N {
		jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "bench", Limit: batch, Lease: time.Minute, Now: time.Now(),
			PerWebhook: batch})
		if err != nil {
			b.Fatal(err)
		}
		if len(jobs) != batch {
			b.Fatalf("claimed %d, want %d", len(jobs), batch)
		}
		outs = outs[:0]
		for _, j := range jobs {
			outs = append(outs, hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: w.ID, Owner: "bench", Kind: hookd.OutcomeSucceeded,
				Attempt: &hookd.Attempt{At: time.Now(), StatusCode: 200, Duration: time.Millisecond}})
		}
		if err := db.CompleteDeliveries(ctx, outs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "deliveries/s")
}

// services are the domain's services over db, on the real clock.
func services(db *postgres.DB) hookd.Services {
	return hookd.NewServices(db, hookd.ServiceOptions{Policy: hookd.NetPolicy{AllowPrivate: true}})
}

// TestInstances: the dispatchers alive are those whose heartbeat is
// younger than the ttl.
func TestInstances(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.NewDatabase(t), nil)
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct {
		owner string
		at    time.Time
		want  int
	}{
		{"a", now, 1},
		{"b", now, 2},
		{"a", now.Add(time.Second), 2},
		{"a", now.Add(10 * time.Second), 1}, // b went silent
	} {
		n, err := db.Instances(ctx, c.owner, c.at, 6*time.Second)
		if err != nil || n != c.want {
			t.Errorf("Instances(%s at +%s) = %d, %v; want %d", c.owner, c.at.Sub(now), n, err, c.want)
		}
	}
}
