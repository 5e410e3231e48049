package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/storetest"
)

func open(t testing.TB, path string, now func() time.Time) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: now, Synchronous: os.Getenv("SYNC")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "hookd.db"), clock.Now)
	})
}

func TestWALAndPragmas(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dir", "hookd.db")
	open(t, path, nil)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestMigrateTwiceAndReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	ten, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path, nil)
	got, err := services(db).Tenants.FindTenantByName(ctx, "acme")
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if got.ID != ten.ID {
		t.Errorf("after reopening tenant id = %s, want %s", got.ID, ten.ID)
	}
}

func TestOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		path string
		opts sqlite.Options
	}{
		{"no path", "", sqlite.Options{}},
		{"synchronous", "x.db", sqlite.Options{Synchronous: "OFF"}},
		{"read conns", "x.db", sqlite.Options{ReadConns: -1}},
	} {
		_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), c.path), c.opts)
		if c.path == "" {
			_, err = sqlite.Open(context.Background(), "", c.opts)
		}
		if hookd.ErrorCode(err) != hookd.EINVALID {
			t.Errorf("%s: Open = %v, want EINVALID", c.name, err)
		}
	}
}

// benchStore is a store with one tenant and webhooks webhooks subscribed to
// everything.
func benchStore(b *testing.B, webhooks int) (*sqlite.DB, hookd.Scope) {
	b.Helper()
	db := open(b, filepath.Join(b.TempDir(), "hookd.db"), nil)
	ctx := context.Background()
	ten, err := services(db).Tenants.CreateTenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	s := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	for i := range webhooks {
		w := &hookd.Webhook{URL: fmt.Sprintf("https://r%d.example/", i), Enabled: true, TLSVerify: true}
		if err := services(db).Webhooks.CreateWebhook(ctx, s, w); err != nil {
			b.Fatal(err)
		}
	}
	return db, s
}

func publishBatch(b *testing.B, db *sqlite.DB, s hookd.Scope, n int) {
	b.Helper()
	publishLabelled(b, db, s, n, nil, nil)
}

// publishLabelled publishes n events with these channels and tags.
func publishLabelled(b *testing.B, db *sqlite.DB, s hookd.Scope, n int, channels, tags []string) {
	b.Helper()
	reqs := make([]hookd.PublishRequest, n)
	data := json.RawMessage(`{"call_id":12345,"disposition":1,"to":"+15555550100"}`)
	for i := range reqs {
		reqs[i] = hookd.PublishRequest{Scope: s, Event: &hookd.Event{Type: "CALL_LOGGED", Data: data, CreatedAt: time.Now(),
			Channels: channels, Tags: tags}}
	}
	res, err := db.PublishEvents(context.Background(), reqs)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkPublish publishes batches of 100 events to 2 webhooks each; the
// rows/s metric counts events and deliveries inserted.
func BenchmarkPublish(b *testing.B) {
	const batch, webhooks = 100, 2
	db, s := benchStore(b, webhooks)
	b.ResetTimer()
	for b.Loop() {
		publishBatch(b, db, s, batch)
	}
	b.ReportMetric(float64(b.N*batch*(1+webhooks))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPublishLabelled is BenchmarkPublish with a channel and a tag
// on every event (Svix's): two more rows each, in event_labels.
func BenchmarkPublishLabelled(b *testing.B) {
	const batch, webhooks = 100, 2
	db, s := benchStore(b, webhooks)
	b.ResetTimer()
	for b.Loop() {
		publishLabelled(b, db, s, batch, []string{"project_1"}, []string{"bench"})
	}
	b.ReportMetric(float64(b.N*batch*(1+webhooks))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPublishFanout10 is the throughput scenario's shape: batches of
// 100 events, each to 10 webhooks.
func BenchmarkPublishFanout10(b *testing.B) {
	const batch, webhooks = 100, 10
	db, s := benchStore(b, webhooks)
	b.ResetTimer()
	for b.Loop() {
		publishBatch(b, db, s, batch)
	}
	b.ReportMetric(float64(b.N*batch*webhooks)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimComplete claims 100 deliveries and completes them as
// successes, per iteration.
func BenchmarkClaimComplete(b *testing.B) {
	const batch = 100
	db, s := benchStore(b, 1)
	b.ResetTimer()
	claimCompleteLoop(b, db, s, batch)
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "deliveries/s")
}

// claimCompleteLoop is the loop of the claim benchmarks: publish batch
// deliveries (untimed), claim them and complete them as successes. It
// returns the time spent in the claims alone.
func claimCompleteLoop(b *testing.B, db *sqlite.DB, s hookd.Scope, batch int) (claiming time.Duration) {
	b.Helper()
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		publishBatch(b, db, s, batch)
		b.StartTimer()
		start := time.Now()
		jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: "bench", Limit: batch, Lease: time.Minute, Now: start,
			PerWebhook: batch})
		claiming += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(jobs) != batch {
			b.Fatalf("claimed %d, want %d", len(jobs), batch)
		}
		outs := make([]hookd.Outcome, len(jobs))
		for i, j := range jobs {
			outs[i] = hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "bench", Kind: hookd.OutcomeSucceeded,
				Attempt: &hookd.Attempt{At: time.Now(), StatusCode: 200, DurationMS: 3}}
		}
		if err := db.CompleteDeliveries(ctx, outs); err != nil {
			b.Fatal(err)
		}
	}
	return claiming
}

// BenchmarkPublishLatency publishes batches of 10 events to 10 webhooks
// each, one after another (the API's group commit at 1,000 events/s), and
// reports the 50th and 99th percentile of a batch's time: a commit that
// pays for a WAL checkpoint shows in the tail.
func BenchmarkPublishLatency(b *testing.B) {
	const batch, webhooks = 10, 10
	db, s := benchStore(b, webhooks)
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		publishBatch(b, db, s, batch)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// services are the domain's services over db, on the real clock.
func services(db *sqlite.DB) hookd.Services {
	return hookd.NewServices(db, hookd.ServiceOptions{Policy: hookd.NetPolicy{AllowPrivate: true}})
}
