package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
)

// TestClaimNeverSeesCompleted races claims, which read snapshots on the
// reader pool, against outcome writes: a delivery completed after a claim's
// snapshot was taken must not be handed out again, and none may be held by
// two claimers at once.
func TestClaimNeverSeesCompleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "hookd.db"), nil)
	ten, err := services(db).Tenants.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	for i := range 4 {
		if err := services(db).Webhooks.CreateWebhook(ctx, s, &hookd.Webhook{URL: fmt.Sprintf("https://r%d.example/", i), Enabled: true, TLSVerify: true}); err != nil {
			t.Fatal(err)
		}
	}
	const events = 300 // × 4 webhooks
	var reqs []hookd.PublishRequest
	for i := range events {
		reqs = append(reqs, hookd.PublishRequest{Scope: s, Event: &hookd.Event{Type: "a.b", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}})
	}
	if _, err := db.PublishEvents(ctx, reqs); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		claimed = map[string]string{} // delivery id → owner
		dupes   []string
		errs    []error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	deadline := time.Now().Add(time.Minute)
	for w := range 3 {
		owner := fmt.Sprintf("w%d", w)
		outcomes := make(chan []hookd.Outcome, 4)
		wg.Add(2)
		go func() { // completes what its claimer got, as successes, while others claim
			defer wg.Done()
			for outs := range outcomes {
				if err := db.CompleteDeliveries(ctx, outs); err != nil {
					fail(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer close(outcomes)
			for time.Now().Before(deadline) {
				jobs, err := db.ClaimDeliveries(ctx, hookd.ClaimRequest{Owner: owner, Limit: 13, Lease: time.Hour, Now: time.Now()})
				if err != nil {
					fail(err)
					return
				}
				if len(jobs) == 0 {
					mu.Lock()
					done := len(claimed) == 4*events
					mu.Unlock()
					if done {
						return
					}
					continue // outcomes still being written
				}
				outs := make([]hookd.Outcome, len(jobs))
				mu.Lock()
				for i, j := range jobs {
					if prev, ok := claimed[j.Delivery.ID]; ok {
						dupes = append(dupes, fmt.Sprintf("%s claimed by %s after %s", j.Delivery.ID, owner, prev))
					}
					claimed[j.Delivery.ID] = owner
					outs[i] = hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: owner,
						Kind: hookd.OutcomeSucceeded, Attempt: &hookd.Attempt{StatusCode: 200}}
				}
				mu.Unlock()
				outcomes <- outs
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(dupes) > 0 {
		t.Errorf("%d deliveries handed out twice:\n%s", len(dupes), strings.Join(dupes, "\n"))
	}
	if len(claimed) != 4*events {
		t.Errorf("claimed %d distinct deliveries, want %d", len(claimed), 4*events)
	}
	st, err := db.Stats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st != (hookd.QueueStats{}) {
		t.Errorf("after every success Stats = %+v, want an empty queue", st)
	}
}

func TestExclusive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	first, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true}); hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Fatalf("a second exclusive Open = %v, want ECONFLICT", err)
	}
	admin, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("a non-exclusive Open while the server runs: %v", err)
	}
	if _, err := services(admin).Tenants.CreateTenant(ctx, "acme"); err != nil {
		t.Errorf("an administrative write while the server runs: %v", err)
	}
	admin.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("exclusive Open after the holder closed: %v", err)
	}
	again.Close()
}
