package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

// tenancyTests are the operator's rules: tenants by uid, deletion, keys
// that stop at once, operator keys, portal links.
var tenancyTests = []test{
	{"Tenancy/PutByUID", testPutByUID},
	{"Tenancy/PutByUIDConcurrent", testPutByUIDConcurrent},
	{"Tenancy/FindAndSearch", testFindTenants},
	{"Tenancy/Update", testUpdateTenant},
	{"Tenancy/Delete", testDeleteTenant},
	{"Tenancy/RevokeIsImmediate", testRevokeImmediate},
	{"Tenancy/OperatorKeys", testOperatorKeys},
	{"Tenancy/ActAs", testActAs},
	{"Tenancy/PortalLink", testPortalLink},
	{"Tenancy/PortalLinkConcurrent", testPortalLinkConcurrent},
	{"Tenancy/LastUsed", testKeyLastUsed},
	{"Tenancy/MaxWebhooks", testMaxWebhooks},
	{"Tenancy/PublishRate", testPublishRate},
	{"Tenancy/OneReadABurst", testOneReadABurst},
}

func testMaxWebhooks(e *env) {
	t := e.t
	ten, _ := e.put(&hookd.Tenant{UID: "small", Limits: hookd.TenantLimits{MaxWebhooks: ptr(1)}})
	s := hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
	e.webhook(s, nil)
	err := e.svc.Webhooks.CreateWebhook(e.ctx, s, &hookd.Webhook{URL: "https://r.example/2", Enabled: true})
	wantCode(t, err, hookd.EFORBIDDEN, "max_webhooks")
	if _, err := e.svc.Tenants.UpdateTenant(e.ctx, "small", hookd.TenantUpdate{Limits: &hookd.TenantLimits{}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Webhooks.CreateWebhook(e.ctx, s, &hookd.Webhook{URL: "https://r.example/2", Enabled: true}); err != nil {
		t.Errorf("with the limit lifted: %v", err)
	}
}

// countingPublisher accepts every request and counts them.
type countingPublisher struct {
	mu sync.Mutex
	n  int
}

func (c *countingPublisher) Publish(_ context.Context, r hookd.PublishRequest) (hookd.PublishResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return hookd.PublishResult{Event: r.Event}, nil
}

func (c *countingPublisher) PublishBatch(_ context.Context, reqs []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(reqs)
	return make([]hookd.PublishResult, len(reqs)), nil
}

// A tenant publishes at most its rate, with a second's burst; over it the
// publish is refused with when to retry, and nothing reaches the publisher.
func testPublishRate(e *env) {
	t := e.t
	ten, _ := e.put(&hookd.Tenant{UID: "slow", Limits: hookd.TenantLimits{PublishRate: ptr(5)}})
	free, _ := e.put(&hookd.Tenant{UID: "free"})
	next := &countingPublisher{}
	svc := hookd.NewServices(e.store, hookd.ServiceOptions{Now: e.clock.Now, Publisher: next})
	publish := func(id string) error {
		_, err := svc.Publisher.Publish(e.ctx, hookd.PublishRequest{Scope: hookd.Scope{TenantID: id, Mode: hookd.ModeLive}, Event: e.event("a.one", `{}`)})
		return err
	}
	for i := range 5 {
		if err := publish(ten.ID); err != nil {
			t.Fatalf("publish %d within the burst: %v", i+1, err)
		}
	}
	err := publish(ten.ID)
	wantCode(t, err, hookd.ERATELIMITED, "5 events per second")
	if ra := hookd.ErrorRetryAfter(err); ra <= 0 || ra > 200*time.Millisecond {
		t.Errorf("Retry-After %v; want the 200 ms until the next token", ra)
	}
	for range 20 {
		if err := publish(free.ID); err != nil {
			t.Fatalf("a tenant without a limit: %v", err)
		}
	}
	e.clock.Advance(200 * time.Millisecond)
	if err := publish(ten.ID); err != nil {
		t.Errorf("after a token's time: %v", err)
	}
	if next.n != 26 {
		t.Errorf("the publisher got %d requests, want 26 (none of the refused)", next.n)
	}
	err = publish("ten_missing")
	wantCode(t, err, hookd.ENOTFOUND)
}

func (e *env) put(t *hookd.Tenant) (*hookd.Tenant, bool) {
	e.t.Helper()
	got, created, err := e.svc.Tenants.PutTenant(e.ctx, t)
	if err != nil {
		e.t.Fatalf("PutTenant(%+v): %v", t, err)
	}
	return got, created
}

func testPutByUID(e *env) {
	t := e.t
	a, created := e.put(&hookd.Tenant{UID: "cust-1", Name: "Acme", Metadata: map[string]string{"plan": "pro"}})
	if !created || a.ID == "" || a.UID != "cust-1" || a.Name != "Acme" || a.Metadata["plan"] != "pro" || !a.CreatedAt.Equal(Start) {
		t.Fatalf("first put: %+v created %v", a, created)
	}
	b, created := e.put(&hookd.Tenant{UID: "cust-1", Name: "Something else"})
	if created || b.ID != a.ID || b.Name != "Acme" {
		t.Errorf("second put of the uid: %+v created %v; want the first, unchanged", b, created)
	}
	c, _ := e.put(&hookd.Tenant{UID: "cust-2"})
	if c.Name != "cust-2" {
		t.Errorf("name defaults to the uid: got %q", c.Name)
	}
	_, _, err := e.svc.Tenants.PutTenant(e.ctx, &hookd.Tenant{UID: "cust-3", Name: "Acme"})
	wantCode(t, err, hookd.ECONFLICT, "Acme")
	for _, bad := range []hookd.Tenant{
		{},
		{UID: "a b"},
		{UID: "ten_x"},
		{Name: "x", Limits: hookd.TenantLimits{PublishRate: ptr(0)}},
		{Name: "x", Limits: hookd.TenantLimits{MaxWebhooks: ptr(-1)}},
	} {
		_, _, err := e.svc.Tenants.PutTenant(e.ctx, &bad)
		wantCode(t, err, hookd.EINVALID)
	}
}

// Concurrent creates of one uid make one tenant, and every caller gets it.
func testPutByUIDConcurrent(e *env) {
	t := e.t
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, c, err := e.svc.Tenants.PutTenant(e.ctx, &hookd.Tenant{UID: "cust-race"})
			if err != nil {
				t.Errorf("PutTenant: %v", err)
				return
			}
			ids[i], created[i] = got.ID, c
		}()
	}
	wg.Wait()
	made := 0
	for i := range n {
		if ids[i] != ids[0] {
			t.Errorf("callers got tenants %s and %s", ids[0], ids[i])
		}
		if created[i] {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d callers created the tenant, want 1", made)
	}
}

func testFindTenants(e *env) {
	t := e.t
	a, _ := e.put(&hookd.Tenant{UID: "cust-1", Name: "Acme Corp"})
	b, _ := e.put(&hookd.Tenant{UID: "cust-2", Name: "Globex"})
	e.put(&hookd.Tenant{Name: "acme labs"})
	for ref, want := range map[string]string{a.ID: a.ID, "cust-1": a.ID, "cust-2": b.ID} {
		got, err := e.svc.Tenants.FindTenant(e.ctx, ref)
		if err != nil || got.ID != want {
			t.Errorf("FindTenant(%s) = %v, %v; want %s", ref, got, err, want)
		}
	}
	_, err := e.svc.Tenants.FindTenant(e.ctx, "cust-9")
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = e.svc.Tenants.FindTenant(e.ctx, "ten_missing")
	wantCode(t, err, hookd.ENOTFOUND)

	names := func(f hookd.TenantFilter) ([]string, int) {
		t.Helper()
		ts, total, err := e.svc.Tenants.FindTenants(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ts {
			out = append(out, x.Name)
		}
		return out, total
	}
	if got, n := names(hookd.TenantFilter{Search: "ACME"}); n != 2 || len(got) != 2 {
		t.Errorf("search ACME: %v (%d in all); want both acmes", got, n)
	}
	if got, _ := names(hookd.TenantFilter{Search: "cust-2"}); !cmp.Equal(got, []string{"Globex"}) {
		t.Errorf("search by a whole uid: %v", got)
	}
	if got, _ := names(hookd.TenantFilter{UID: "cust-1"}); !cmp.Equal(got, []string{"Acme Corp"}) {
		t.Errorf("uid cust-1: %v", got)
	}
	first, n := names(hookd.TenantFilter{Page: hookd.Page{Limit: 2}})
	if len(first) != 2 || n != 3 {
		t.Errorf("first page: %v of %d", first, n)
	}
	page, _, err := e.svc.Tenants.FindTenants(e.ctx, hookd.TenantFilter{Page: hookd.Page{Limit: 2}})
	if err != nil {
		t.Fatal(err)
	}
	rest, _, err := e.svc.Tenants.FindTenants(e.ctx, hookd.TenantFilter{Page: hookd.Page{Limit: 2, Cursor: page[1].ID}})
	if err != nil || len(rest) != 1 {
		t.Errorf("page after the cursor: %v, %v; want the third tenant", rest, err)
	}
}

func testUpdateTenant(e *env) {
	t := e.t
	a, _ := e.put(&hookd.Tenant{UID: "cust-1", Name: "Acme"})
	e.put(&hookd.Tenant{UID: "cust-2", Name: "Globex"})
	e.clock.Advance(time.Minute)
	op := hookd.Caller{Operator: true}
	if _, err := e.svc.Tenants.ActAs(e.ctx, op, "cust-1", ""); err != nil { // remembered for a second
		t.Fatal(err)
	}
	got, err := e.svc.Tenants.UpdateTenant(e.ctx, "cust-1", hookd.TenantUpdate{
		UID: ptr("cust-1b"), Metadata: &map[string]string{"k": "v"}, Limits: &hookd.TenantLimits{MaxWebhooks: ptr(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != "cust-1b" || got.Name != "Acme" || got.Metadata["k"] != "v" || got.Limits.MaxWebhooks == nil ||
		*got.Limits.MaxWebhooks != 3 || !got.UpdatedAt.Equal(Start.Add(time.Minute)) || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("updated: %+v", got)
	}
	_, err = e.svc.Tenants.ActAs(e.ctx, op, "cust-1", "")
	wantCode(t, err, hookd.ENOTFOUND) // the old uid, though it was acted as just before
	read, err := e.svc.Tenants.FindTenant(e.ctx, "cust-1b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, read); diff != "" {
		t.Errorf("read back (-updated +read):\n%s", diff)
	}
	_, err = e.svc.Tenants.UpdateTenant(e.ctx, "cust-1b", hookd.TenantUpdate{Name: ptr("Globex")})
	wantCode(t, err, hookd.ECONFLICT)
	_, err = e.svc.Tenants.UpdateTenant(e.ctx, "cust-1b", hookd.TenantUpdate{UID: ptr("cust-2")})
	wantCode(t, err, hookd.ECONFLICT)
	_, err = e.svc.Tenants.UpdateTenant(e.ctx, "cust-1b", hookd.TenantUpdate{UID: ptr("bad uid")})
	wantCode(t, err, hookd.EINVALID, "uid")
	_, err = e.svc.Tenants.UpdateTenant(e.ctx, "cust-1", hookd.TenantUpdate{Name: ptr("x")})
	wantCode(t, err, hookd.ENOTFOUND)
}

// Deleting a tenant takes everything it owns and nothing of another's: its
// keys stop at once, its deliveries are never claimed.
func testDeleteTenant(e *env) {
	t := e.t
	gone, _ := e.put(&hookd.Tenant{UID: "gone"})
	stay, _ := e.put(&hookd.Tenant{UID: "stay"})
	var stopped []string
	svc := hookd.NewServices(e.store, hookd.ServiceOptions{Now: e.clock.Now, WebhooksStopped: func(ids []string) { stopped = append(stopped, ids...) }})
	scopes := []hookd.Scope{{TenantID: gone.ID, Mode: hookd.ModeLive}, {TenantID: stay.ID, Mode: hookd.ModeLive}}
	var keys []string
	var webhooks []*hookd.Webhook
	for _, s := range scopes {
		_, plain, err := svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Tenants.Authenticate(e.ctx, plain); err != nil { // cached now
			t.Fatal(err)
		}
		keys = append(keys, plain)
		webhooks = append(webhooks, e.webhook(s, nil))
		// One delivery done, with an attempt; one pending.
		j := e.one(s, "w")
		e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: hookd.OutcomeSucceeded, Attempt: e.attempt(200, "")})
	}
	for _, s := range scopes {
		e.publishOne(s, e.event("a.one", `{}`))
	}
	if _, _, err := svc.Tenants.CreatePortalLink(e.ctx, "gone", hookd.PortalLinkRequest{MakerKeyID: e.maker()}); err != nil {
		t.Fatal(err)
	}

	if err := svc.Tenants.DeleteTenant(e.ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(stopped, []string{webhooks[0].ID}) {
		t.Errorf("stopped webhooks %v, want %s", stopped, webhooks[0].ID)
	}
	_, err := svc.Tenants.FindTenant(e.ctx, gone.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = svc.Tenants.Authenticate(e.ctx, keys[0])
	wantCode(t, err, hookd.EUNAUTHORIZED)
	if _, err := svc.Tenants.Authenticate(e.ctx, keys[1]); err != nil {
		t.Errorf("the other tenant's key: %v", err)
	}
	if ds := e.deliveries(scopes[0], hookd.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("%d deliveries of the deleted tenant remain", len(ds))
	}
	if evs, err := svc.Events.FindEvents(e.ctx, scopes[0], hookd.EventFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("events of the deleted tenant: %d, %v", len(evs), err)
	}
	if ds := e.deliveries(scopes[1], hookd.DeliveryFilter{}); len(ds) != 2 {
		t.Errorf("the other tenant has %d deliveries, want 2", len(ds))
	}
	// Nothing of it is left in the queue either.
	if st, err := e.store.Stats(e.ctx, e.clock.Now()); err != nil || st.Pending != 1 {
		t.Errorf("pending after the deletion: %d, %v; want the other tenant's one", st.Pending, err)
	}
	jobs := e.claim("w", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Webhook == nil || jobs[0].Webhook.ID != webhooks[1].ID {
		t.Errorf("claimed %d jobs after the deletion; want the other tenant's pending one", len(jobs))
	}
	wantCode(t, svc.Tenants.DeleteTenant(e.ctx, gone.ID), hookd.ENOTFOUND)
	// Its uid is free again.
	if _, created := e.put(&hookd.Tenant{UID: "gone"}); !created {
		t.Error("the deleted tenant's uid was not free")
	}
}

// A key that authenticated (and so is cached) is refused at once when it
// is revoked.
func testRevokeImmediate(e *env) {
	t := e.t
	s := e.scope("acme")
	k, plain, err := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Tenants.Authenticate(e.ctx, plain); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tenants.RevokeAPIKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Tenants.Authenticate(e.ctx, plain)
	wantCode(t, err, hookd.EUNAUTHORIZED)

	// Another instance's services hear of it through Forget.
	other := hookd.NewServices(e.store, hookd.ServiceOptions{Now: e.clock.Now, AuthCacheTTL: time.Hour})
	k2, plain2, _ := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	if _, err := other.Tenants.Authenticate(e.ctx, plain2); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tenants.RevokeAPIKey(e.ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Tenants.Authenticate(e.ctx, plain2); err != nil {
		t.Errorf("before it heard of the change, the other instance refused its cached key: %v", err)
	}
	other.Forget(hookd.ChangeKeys)
	_, err = other.Tenants.Authenticate(e.ctx, plain2)
	wantCode(t, err, hookd.EUNAUTHORIZED)
}

func testOperatorKeys(e *env) {
	t := e.t
	k, plain, err := e.svc.Tenants.CreateOperatorKey(e.ctx, "backend")
	if err != nil {
		t.Fatal(err)
	}
	if !hookd.IsOperatorKey(plain) || hookd.KeyMode(plain) != "" || k.Name != "backend" {
		t.Fatalf("operator key %q: %+v", plain[:8], k)
	}
	c, err := e.svc.Tenants.AuthenticateCaller(e.ctx, plain)
	if err != nil || !c.Operator || c.KeyID != k.ID || c.Scope != (hookd.Scope{}) {
		t.Fatalf("AuthenticateCaller(operator) = %+v, %v", c, err)
	}
	_, err = e.svc.Tenants.Authenticate(e.ctx, plain)
	wantCode(t, err, hookd.EFORBIDDEN)
	keys, err := e.svc.Tenants.ListOperatorKeys(e.ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].LastUsedAt == nil {
		t.Errorf("ListOperatorKeys = %+v, %v; want the key, used", keys, err)
	}
	if err := e.svc.Tenants.RevokeOperatorKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Tenants.AuthenticateCaller(e.ctx, plain)
	wantCode(t, err, hookd.EUNAUTHORIZED)
	_, err = e.svc.Tenants.AuthenticateCaller(e.ctx, plain+"x")
	wantCode(t, err, hookd.EUNAUTHORIZED)
	wantCode(t, e.svc.Tenants.RevokeOperatorKey(e.ctx, "okey_missing"), hookd.ENOTFOUND)
}

func testActAs(e *env) {
	t := e.t
	a, _ := e.put(&hookd.Tenant{UID: "cust-a"})
	b, _ := e.put(&hookd.Tenant{UID: "cust-b"})
	_, plain, _ := e.svc.Tenants.CreateAPIKey(e.ctx, a.ID, hookd.ModeTest)
	tenant, err := e.svc.Tenants.AuthenticateCaller(e.ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	op := hookd.Caller{Operator: true, KeyID: "okey_x"}
	for _, c := range []struct {
		caller hookd.Caller
		ref    string
		mode   hookd.Mode
		want   hookd.Scope
		code   string
	}{
		{tenant, "", "", hookd.Scope{TenantID: a.ID, Mode: hookd.ModeTest}, ""},
		{tenant, "cust-a", "test", hookd.Scope{TenantID: a.ID, Mode: hookd.ModeTest}, ""},
		{tenant, a.ID, "", hookd.Scope{TenantID: a.ID, Mode: hookd.ModeTest}, ""},
		{tenant, "cust-b", "", hookd.Scope{}, hookd.EFORBIDDEN},
		{tenant, "cust-none", "", hookd.Scope{}, hookd.EFORBIDDEN},
		{tenant, "", "live", hookd.Scope{}, hookd.EFORBIDDEN},
		{op, "cust-b", "", hookd.Scope{TenantID: b.ID, Mode: hookd.ModeLive}, ""},
		{op, b.ID, "test", hookd.Scope{TenantID: b.ID, Mode: hookd.ModeTest}, ""},
		{op, "", "", hookd.Scope{}, hookd.EINVALID},
		{op, "cust-none", "", hookd.Scope{}, hookd.ENOTFOUND},
		{op, "cust-b", "staging", hookd.Scope{}, hookd.EINVALID},
	} {
		got, err := e.svc.Tenants.ActAs(e.ctx, c.caller, c.ref, c.mode)
		if hookd.ErrorCode(err) != c.code || got != c.want {
			t.Errorf("ActAs(operator %v, %q, %q) = %+v, %v; want %+v, code %q", c.caller.Operator, c.ref, c.mode, got, err, c.want, c.code)
		}
	}
}

func testPortalLink(e *env) {
	t := e.t
	a, _ := e.put(&hookd.Tenant{UID: "cust-a"})
	maker := e.maker()
	l, token, err := e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{Mode: hookd.ModeTest, ReadOnly: true, MakerKeyID: maker})
	if err != nil {
		t.Fatal(err)
	}
	if l.TenantID != a.ID || l.Mode != hookd.ModeTest || !l.ReadOnly || !l.ExpiresAt.Equal(Start.Add(hookd.DefaultPortalLinkTTL)) || l.MakerKeyID != maker {
		t.Errorf("link: %+v", l)
	}
	used, err := e.svc.Tenants.UsePortalLink(e.ctx, token)
	if err != nil || used.ID != l.ID || !used.ReadOnly || used.Mode != hookd.ModeTest || used.MakerKeyID != maker {
		t.Fatalf("first use: %+v, %v", used, err)
	}
	_, err = e.svc.Tenants.UsePortalLink(e.ctx, token)
	wantCode(t, err, hookd.EFORBIDDEN, "already used")
	_, err = e.svc.Tenants.UsePortalLink(e.ctx, "ptl_unknown")
	wantCode(t, err, hookd.ENOTFOUND)

	_, late, err := e.svc.Tenants.CreatePortalLink(e.ctx, a.ID, hookd.PortalLinkRequest{TTL: time.Minute, MakerKeyID: e.maker()})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	_, err = e.svc.Tenants.UsePortalLink(e.ctx, late)
	wantCode(t, err, hookd.EFORBIDDEN, "expired")

	_, _, err = e.svc.Tenants.CreatePortalLink(e.ctx, "cust-none", hookd.PortalLinkRequest{MakerKeyID: e.maker()})
	wantCode(t, err, hookd.ENOTFOUND)
	_, _, err = e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{TTL: time.Second, MakerKeyID: e.maker()})
	wantCode(t, err, hookd.EINVALID, "expiry")
	_, _, err = e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{})
	wantCode(t, err, hookd.EINVALID, "key that makes it")
}

// Of concurrent uses of one link, exactly one opens the portal.
func testPortalLinkConcurrent(e *env) {
	t := e.t
	e.put(&hookd.Tenant{UID: "cust-a"})
	_, token, err := e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{MakerKeyID: e.maker()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.Tenants.UsePortalLink(e.ctx, token)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if hookd.ErrorCode(err) != hookd.EFORBIDDEN {
				t.Errorf("UsePortalLink: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of %d concurrent uses opened the portal, want 1", ok, n)
	}
}

// A key's last use is kept to within a minute, without a write per use.
func testKeyLastUsed(e *env) {
	t := e.t
	s := e.scope("acme")
	k, plain, _ := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	svc := hookd.NewServices(e.store, hookd.ServiceOptions{Now: e.clock.Now, AuthCacheTTL: -1})
	lastUsed := func() *time.Time {
		t.Helper()
		keys, err := svc.Tenants.ListAPIKeys(e.ctx, s.TenantID)
		if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
			t.Fatalf("ListAPIKeys = %v, %v", keys, err)
		}
		return keys[0].LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new key has a last use")
	}
	if _, err := svc.Tenants.Authenticate(e.ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); got == nil || !got.Equal(Start) {
		t.Errorf("after a use: last used %v, want %v", got, Start)
	}
	e.clock.Advance(30 * time.Second)
	svc.Tenants.Authenticate(e.ctx, plain)
	if got := lastUsed(); !got.Equal(Start) {
		t.Errorf("30 s later: last used %v; want it unwritten (%v)", got, Start)
	}
	e.clock.Advance(time.Minute)
	svc.Tenants.Authenticate(e.ctx, plain)
	if got := lastUsed(); !got.Equal(Start.Add(90 * time.Second)) {
		t.Errorf("90 s later: last used %v, want %v", got, Start.Add(90*time.Second))
	}
}

// heldReads is a store whose reads of keys and tenants, and writes of a
// key's last use, are counted, and held until release is closed.
type heldReads struct {
	Store
	release                      chan struct{}
	keys, tenants, uids, touches atomic.Int32
}

func (h *heldReads) FindAPIKeyByHash(ctx context.Context, hash []byte) (*hookd.APIKey, error) {
	h.keys.Add(1)
	<-h.release
	return h.Store.FindAPIKeyByHash(ctx, hash)
}

func (h *heldReads) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	h.tenants.Add(1)
	<-h.release
	return h.Store.FindTenantByID(ctx, id)
}

func (h *heldReads) FindTenantByUID(ctx context.Context, uid string) (*hookd.Tenant, error) {
	h.uids.Add(1)
	<-h.release
	return h.Store.FindTenantByUID(ctx, uid)
}

func (h *heldReads) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	h.touches.Add(1)
	return h.Store.TouchAPIKey(ctx, id, at)
}

// A burst of requests with a key that the cache does not hold, of an
// operator's requests acting as a tenant it does not hold, and of
// publishes for a tenant whose limit it does not hold, reads the store once
// each (and writes the key's last use once), not once a request: 64
// publishers starting at once each read the key and wrote its last use,
// queued on the row's lock, holding the connections the publishes needed.
func testOneReadABurst(e *env) {
	t := e.t
	ten, _ := e.put(&hookd.Tenant{UID: "busy", Limits: hookd.TenantLimits{PublishRate: ptr(1000)}})
	_, plain, err := e.svc.Tenants.CreateAPIKey(e.ctx, ten.ID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	h := &heldReads{Store: e.store}
	svc := hookd.NewServices(h, hookd.ServiceOptions{Now: e.clock.Now, Publisher: &countingPublisher{}})
	burst := func() {
		t.Helper()
		h.release = make(chan struct{})
		errs := make(chan error, 60)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				s, err := svc.Tenants.ActAs(e.ctx, hookd.Caller{Operator: true, KeyID: "opk_burst"}, "busy", hookd.ModeLive)
				if err == nil && s.TenantID != ten.ID {
					err = fmt.Errorf("the operator acted as %q, want %q", s.TenantID, ten.ID)
				}
				errs <- err
			})
			wg.Go(func() {
				c, err := svc.Tenants.AuthenticateCaller(e.ctx, plain)
				if err == nil && c.Scope.TenantID != ten.ID {
					err = fmt.Errorf("the key authenticated as %q, want %q", c.Scope.TenantID, ten.ID)
				}
				errs <- err
			})
			wg.Go(func() {
				_, err := svc.Publisher.Publish(e.ctx, hookd.PublishRequest{Scope: hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}, Event: e.event("a.one", `{}`)})
				errs <- err
			})
		}
		time.Sleep(50 * time.Millisecond) // the burst waits behind the first reads
		close(h.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	burst()
	if k, u, n, w := h.keys.Load(), h.uids.Load(), h.tenants.Load(), h.touches.Load(); k != 1 || u != 1 || n != 1 || w != 1 {
		t.Errorf("20 requests of each kind read the key %d times, the tenant by uid %d times and its limits %d times, and wrote the last use %d times; want 1, 1, 1, 1", k, u, n, w)
	}
	e.clock.Advance(2 * time.Second) // past the caches' TTL, within the last use's minute
	burst()
	if k, u, n, w := h.keys.Load(), h.uids.Load(), h.tenants.Load(), h.touches.Load(); k != 2 || u != 2 || n != 2 || w != 1 {
		t.Errorf("after the TTL: %d key reads, %d tenant reads by uid, %d limit reads, %d last-use writes in all; want 2, 2, 2, 1", k, u, n, w)
	}
}
