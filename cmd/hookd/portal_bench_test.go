package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/portal"
	"github.com/hookd/hookd/sqlite"
)

// BenchmarkPortalPages times each portal page, rendered in full, on a
// tenant with 10,000 webhooks and 1,000,000 deliveries on SQLite (the
// issue's bar: every page under 100 ms), and the dashboard's overview with
// eight days of the queue's history. Setting up takes a minute or so:
//
//	go test -run '^$' -bench BenchmarkPortalPages -benchtime 20x ./cmd/hookd
func BenchmarkPortalPages(b *testing.B) {
	const webhooks, events = 10_000, 100 // each event goes to every webhook
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookd.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := hookd.NewServices(st, hookd.ServiceOptions{Publisher: nopPublisher{}})
	ten, err := svc.Tenants.CreateTenant(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	sc := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	if err := svc.EventTypes.EnsureEventTypes(ctx, sc, []*hookd.EventType{{Name: "Order.created"}, {Name: "Order.shipped"}}); err != nil {
		b.Fatal(err)
	}
	var firstHook string
	for i := range webhooks {
		w := &hookd.Webhook{URL: fmt.Sprintf("https://r%d.example/hook", i), Name: fmt.Sprintf("hook %d", i), Enabled: true, TLSVerify: true}
		if err := svc.Webhooks.CreateWebhook(ctx, sc, w); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			firstHook = w.ID
		}
	}
	now := time.Now()
	for i := 0; i < events; i += 5 {
		var reqs []hookd.PublishRequest
		for j := range 5 {
			data := []byte(fmt.Sprintf(`{"order":%d,"total":12.5}`, i+j))
			reqs = append(reqs, hookd.PublishRequest{Scope: sc, Event: &hookd.Event{Type: "Order.created", Data: data,
				CreatedAt: now.Add(-time.Duration(events-i) * time.Minute), BodyHash: hookd.ComputeBodyHash("Order.created", data)}})
		}
		if _, err := st.PublishEvents(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
	ds, err := svc.Deliveries.FindDeliveries(ctx, sc, hookd.DeliveryFilter{WebhookID: firstHook, Page: hookd.Page{Limit: 1}})
	if err != nil || len(ds) == 0 {
		b.Fatalf("deliveries: %v", err)
	}
	h, err := portal.New(portal.Config{Services: svc})
	if err != nil {
		b.Fatal(err)
	}
	opk, _, err := svc.Tenants.CreateOperatorKey(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, link, err := svc.Tenants.CreatePortalLink(ctx, ten.ID, hookd.PortalLinkRequest{Mode: hookd.ModeLive, MakerKeyID: opk.ID})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	enter := httptest.NewRequest("POST", "/portal/enter", strings.NewReader(url.Values{"token": {link}}.Encode()))
	enter.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, enter)
	base := strings.TrimSuffix(rec.Header().Get("Location"), "/endpoints")
	// Eight days of the queue's history (the retention), a sample a minute.
	minute := now.Truncate(time.Minute)
	for i := range 8 * 24 * 60 {
		s := hookd.QueueSample{At: minute.Add(-time.Duration(i) * time.Minute), Pending: i % 500, Due: i % 70,
			OldestDueAge: time.Duration(i%90) * time.Second, Succeeded: 1000 + i%300, Failed: i % 40}
		if err := st.AddQueueSample(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	_, opKey, err := svc.Tenants.CreateOperatorKey(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, dash, err := svc.Sessions.SignIn(ctx, opKey, 0)
	if err != nil {
		b.Fatal(err)
	}
	dashBase := "/dashboard/s/" + dash
	for _, p := range []struct{ name, path string }{
		{"dashboard-overview-hour", dashBase + "/"},
		{"dashboard-overview-day", dashBase + "/?history=24h"},
		{"dashboard-overview-week", dashBase + "/?history=7d"},
		{"endpoints", "/endpoints"},
		{"endpoints-last-page", "/endpoints?cursor=" + lastButOne(b, svc, sc)},
		{"endpoint", "/endpoints/" + firstHook},
		{"edit", "/endpoints/" + firstHook + "/edit"},
		{"catalog", "/catalog"},
		{"deliveries", "/deliveries"},
		{"deliveries-of-endpoint", "/deliveries?endpoint=" + firstHook},
		{"deliveries-failed", "/deliveries?status=failed"},
		{"deliveries-pending", "/deliveries?status=pending"},
		{"deliveries-of-endpoint-failed", "/deliveries?status=failed&endpoint=" + firstHook},
		{"deliveries-of-absent-type", "/deliveries?event_type=Order.shipped"},
		{"deliveries-of-type-failed", "/deliveries?status=failed&event_type=Order.created"},
		{"deliveries-since-last-hour", "/deliveries?since=" + now.Add(-time.Hour).UTC().Format("2006-01-02T15:04")},
		{"deliveries-until-yesterday", "/deliveries?until=" + now.Add(-24*time.Hour).UTC().Format("2006-01-02T15:04")},
		{"deliveries-in-future-hour", "/deliveries?since=" + now.Add(time.Hour).UTC().Format("2006-01-02T15:04") +
			"&until=" + now.Add(2*time.Hour).UTC().Format("2006-01-02T15:04")},
		{"delivery", "/deliveries/" + ds[0].ID},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				path := p.path
				if !strings.HasPrefix(path, "/dashboard/") {
					path = base + path
				}
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d: %s", p.path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// lastButOne is the cursor of the endpoints list's last page.
func lastButOne(b *testing.B, svc hookd.Services, sc hookd.Scope) string {
	ws, total, err := svc.Webhooks.FindWebhooks(context.Background(), sc, hookd.WebhookFilter{Page: hookd.Page{Limit: 1, Offset: 9_949}})
	if err != nil || len(ws) == 0 {
		b.Fatalf("webhooks: %d of %d, %v", len(ws), total, err)
	}
	return ws[0].ID
}

// nopPublisher stands for the publisher the portal's benchmark never calls.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, hookd.PublishRequest) (hookd.PublishResult, error) {
	return hookd.PublishResult{}, hookd.Errorf(hookd.EUNAVAILABLE, "not in this benchmark")
}

func (nopPublisher) PublishBatch(context.Context, []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	return nil, hookd.Errorf(hookd.EUNAVAILABLE, "not in this benchmark")
}
