package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
)

// clock is a settable clock for the API's cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// keyStore is a hand-written TenantService with one key that can be
// revoked; it counts the lookups. Other services are nil: the test only
// reaches routes that authenticate and list nothing.
type keyStore struct {
	hookd.TenantService
	hookd.WebhookService
	mu      sync.Mutex
	revoked bool
	lookups int
}

func (k *keyStore) Authenticate(_ context.Context, key string) (hookd.Scope, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lookups++
	if key != "sk_live_good" || k.revoked {
		return hookd.Scope{}, hookd.Errorf(hookd.EUNAUTHORIZED, "invalid or revoked API key")
	}
	return hookd.Scope{TenantID: "ten_1", Mode: hookd.ModeLive}, nil
}

func (k *keyStore) FindWebhooks(context.Context, hookd.Scope, hookd.WebhookFilter) ([]*hookd.Webhook, int, error) {
	return nil, 0, nil
}

// TestAuthCacheRevokedKey checks the documented price of the key cache: a
// revoked key works until its cached entry is AuthCacheTTL old, then is
// refused; with the cache off, at once. Unknown keys are never cached.
func TestAuthCacheRevokedKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		// whether the revoked key still answers 200 right after revoking
		wantCached  bool
		wantLookups int
	}{
		{"cached", 5 * time.Second, true, 4},
		{"off", -1, false, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &keyStore{}
			b := brokenStore{}
			clk := &clock{t: time.Now()}
			srv, err := httpapi.New(httpapi.Config{
				Services: hookd.Services{Tenants: st, Webhooks: st, EventTypes: b, Events: b, Deliveries: b, Publisher: b},
				Now:      clk.now, AuthCacheTTL: tc.ttl,
			})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			status := func(key string) int {
				t.Helper()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/v1/webhooks", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for range 2 {
				if got := status("sk_live_good"); got != http.StatusOK {
					t.Fatalf("valid key: status %d, want 200", got)
				}
				if got := status("sk_live_bad"); got != http.StatusUnauthorized {
					t.Fatalf("unknown key: status %d, want 401", got)
				}
			}
			st.mu.Lock()
			st.revoked = true
			st.mu.Unlock()
			want := http.StatusUnauthorized
			if tc.wantCached {
				want = http.StatusOK
			}
			if got := status("sk_live_good"); got != want {
				t.Fatalf("just revoked: status %d, want %d", got, want)
			}
			clk.add(5 * time.Second)
			if got := status("sk_live_good"); got != http.StatusUnauthorized {
				t.Fatalf("revoked 5s ago: status %d, want 401", got)
			}
			// Cached: the good key once before and once after expiry, the
			// unknown key every time. Off: all six requests.
			st.mu.Lock()
			got := st.lookups
			st.mu.Unlock()
			if got != tc.wantLookups {
				t.Errorf("lookups = %d, want %d", got, tc.wantLookups)
			}
		})
	}
}
