// Package storetest is the suite every hookd store must pass, at two
// levels: the SQLite and PostgreSQL packages each call Run with a function
// that opens an empty store, and every test runs on both.
//
//   - primitives.go checks the store's own contract (hookd.Store): each verb
//     atomic and correct, the conditions and uniqueness it promises held in
//     its transaction, reads returning rows as stored.
//   - every other file checks the domain's rules once, through the services
//     of hookd.NewServices over the store (validation, derived status,
//     keys, retry and recover, the catalog), and the queue (claim,
//     complete, publish) that the engine drives directly.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hookd/hookd"
)

// Store is everything a hookd store implements.
type Store = hookd.Store

// Clock is a settable fake clock. A store under test must take every time
// it makes itself (created_at, updated_at, "due now", "expired") from
// clock.Now, so that tests can move time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Start is where every test's clock begins: a whole second, so that stores
// keeping milliseconds or microseconds round-trip it exactly.
var Start = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// OpenFunc opens a new, empty store built with clock. It is called once per
// test (tests run in parallel) and should register its own cleanup with
// t.Cleanup.
type OpenFunc func(t *testing.T, clock *Clock) Store

type test struct {
	name string
	fn   func(e *env)
}

// Run runs the whole suite against the stores that open makes.
func Run(t *testing.T, open OpenFunc) {
	var all []test
	all = append(all, tenantTests...)
	all = append(all, eventTypeTests...)
	all = append(all, webhookTests...)
	all = append(all, publishTests...)
	all = append(all, queueTests...)
	all = append(all, fairTests...)
	all = append(all, textTests...)
	all = append(all, primitiveTests...)
	all = append(all, tenancyTests...)
	all = append(all, opEventTests...)
	all = append(all, ruleTests...)
	all = append(all, portalTests...)
	all = append(all, queueHistoryTests...)
	all = append(all, operatorCatalogTests...)
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start)
			st := open(t, clock)
			svc := hookd.NewServices(st, hookd.ServiceOptions{Now: clock.Now})
			tc.fn(&env{t: t, ctx: t.Context(), store: st, svc: svc, clock: clock})
		})
	}
}

// env is one test's store, the services over it, its clock and helpers.
type env struct {
	t     *testing.T
	ctx   context.Context
	store Store
	svc   hookd.Services
	clock *Clock
}

// scope creates a tenant and returns its live scope.
func (e *env) scope(name string) hookd.Scope {
	e.t.Helper()
	ten, err := e.svc.Tenants.CreateTenant(e.ctx, name)
	if err != nil {
		e.t.Fatalf("CreateTenant(%q): %v", name, err)
	}
	return hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}
}

// maker makes an operator key and returns its id, to make portal links with.
func (e *env) maker() string {
	e.t.Helper()
	k, _, err := e.svc.Tenants.CreateOperatorKey(e.ctx, "links")
	if err != nil {
		e.t.Fatalf("CreateOperatorKey: %v", err)
	}
	return k.ID
}

// types adds event types to a scope's catalog.
func (e *env) types(s hookd.Scope, names ...string) {
	e.t.Helper()
	ts := make([]*hookd.EventType, len(names))
	for i, n := range names {
		ts[i] = &hookd.EventType{Name: n}
	}
	if err := e.svc.EventTypes.EnsureEventTypes(e.ctx, s, ts); err != nil {
		e.t.Fatalf("EnsureEventTypes(%v): %v", names, err)
	}
}

// webhook creates an enabled webhook subscribed to types (adding concrete
// ones to the catalog first); opts adjust it before it is created.
func (e *env) webhook(s hookd.Scope, types []string, opts ...func(*hookd.Webhook)) *hookd.Webhook {
	e.t.Helper()
	var concrete []string
	for _, p := range types {
		if !hookd.IsWildcard(p) {
			concrete = append(concrete, p)
		}
	}
	if len(concrete) > 0 {
		e.types(s, concrete...)
	}
	w := &hookd.Webhook{URL: "https://receiver.example/hook", EventTypes: types, Enabled: true, TLSVerify: true}
	for _, o := range opts {
		o(w)
	}
	if err := e.svc.Webhooks.CreateWebhook(e.ctx, s, w); err != nil {
		e.t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

// event makes an event of type typ with data (JSON text), created now.
func (e *env) event(typ, data string) *hookd.Event {
	return &hookd.Event{Type: typ, Data: json.RawMessage(data), CreatedAt: e.clock.Now(),
		BodyHash: hookd.ComputeBodyHash(typ, []byte(data))}
}

// publish publishes requests in one batch and fails on a batch error.
func (e *env) publish(reqs ...hookd.PublishRequest) []hookd.PublishResult {
	e.t.Helper()
	res, err := e.store.PublishEvents(e.ctx, reqs)
	if err != nil {
		e.t.Fatalf("PublishEvents: %v", err)
	}
	if len(res) != len(reqs) {
		e.t.Fatalf("PublishEvents answered %d results for %d requests", len(res), len(reqs))
	}
	return res
}

// publishOne publishes one event and fails on any error.
func (e *env) publishOne(s hookd.Scope, ev *hookd.Event) hookd.PublishResult {
	e.t.Helper()
	r := e.publish(hookd.PublishRequest{Scope: s, Event: ev})[0]
	if r.Err != nil {
		e.t.Fatalf("publish %s: %v", ev.Type, r.Err)
	}
	return r
}

// claim claims up to limit due deliveries for owner at the clock's time.
func (e *env) claim(owner string, limit int, lease time.Duration) []*hookd.Job {
	e.t.Helper()
	jobs, err := e.store.ClaimDeliveries(e.ctx, hookd.ClaimRequest{Owner: owner, Limit: limit, Lease: lease, Now: e.clock.Now()})
	if err != nil {
		e.t.Fatalf("ClaimDeliveries: %v", err)
	}
	return jobs
}

func (e *env) complete(outs ...hookd.Outcome) {
	e.t.Helper()
	if err := e.store.CompleteDeliveries(e.ctx, outs); err != nil {
		e.t.Fatalf("CompleteDeliveries: %v", err)
	}
}

// deliveries lists a scope's deliveries matching f, all of them.
func (e *env) deliveries(s hookd.Scope, f hookd.DeliveryFilter) []*hookd.Delivery {
	e.t.Helper()
	f.Limit = hookd.MaxPageLimit
	ds, err := e.svc.Deliveries.FindDeliveries(e.ctx, s, f)
	if err != nil {
		e.t.Fatalf("FindDeliveries: %v", err)
	}
	return ds
}

// delivery finds one delivery with its attempts.
func (e *env) delivery(s hookd.Scope, id string) (*hookd.Delivery, []*hookd.Attempt) {
	e.t.Helper()
	d, as, err := e.svc.Deliveries.FindDeliveryByID(e.ctx, s, id)
	if err != nil {
		e.t.Fatalf("FindDeliveryByID(%s): %v", id, err)
	}
	return d, as
}

// wantCode fails unless err carries code and its message contains every
// one of words.
func wantCode(t *testing.T, err error, code string, words ...string) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	var he *hookd.Error
	if !errors.As(err, &he) {
		return
	}
	for _, w := range words {
		if !strings.Contains(he.Message, w) {
			t.Errorf("error message %q does not mention %q", he.Message, w)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// sortStrings compares string slices as sets.
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })
