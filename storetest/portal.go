package storetest

import (
	"bytes"
	"sort"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// portalTests are the portal's and the dashboard's: sessions, and the
// aggregates their screens show.
var portalTests = []test{
	{"Portal/SessionStore", testSessionStore},
	{"Portal/Sessions", testSessions},
	{"Portal/SessionsEnd", testSessionsEnd},
	{"Portal/SessionsEndWithMaker", testSessionsEndWithMaker},
	{"Portal/SessionMakerRevoked", testSessionMakerRevoked},
	{"Portal/Health", testWebhookHealth},
	{"Portal/Series", testDeliverySeries},
	{"Portal/FailingWebhooks", testFailingWebhooks},
	{"Portal/DeliveriesByEventType", testDeliveriesByEventType},
	{"Portal/WebhookPage", testWebhookPage},
}

// testWebhookPage: the store pages a scope's webhooks by id, with the
// scope's total, and sees no other scope's.
func testWebhookPage(e *env) {
	t := e.t
	a, b := e.scope("acme"), e.scope("globex")
	var ids []string
	for range 5 {
		ids = append(ids, e.webhook(a, nil).ID)
		e.webhook(b, nil)
	}
	// Ids made in one millisecond of a stopped clock sort by creation only
	// within a test (parallel tests share the id generator): sort them.
	sort.Strings(ids)
	for _, c := range []struct {
		p    hookd.Page
		want []string
	}{
		{hookd.Page{Limit: 2}, ids[:2]},
		{hookd.Page{Limit: 2, Cursor: ids[1]}, ids[2:4]},
		{hookd.Page{Limit: 10, Offset: 3}, ids[3:]},
		{hookd.Page{Limit: 10, Cursor: ids[4]}, nil},
	} {
		got, total, err := e.store.FindWebhookPage(e.ctx, a, c.p)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, w := range got {
			gotIDs = append(gotIDs, w.ID)
		}
		if total != 5 || strings.Join(gotIDs, ",") != strings.Join(c.want, ",") {
			t.Errorf("%+v: %v of %d, want %v of 5", c.p, gotIDs, total, c.want)
		}
	}
	// Through the service: the same page as the filtered path gives.
	page, total, err := e.svc.Webhooks.FindWebhooks(e.ctx, a, hookd.WebhookFilter{Page: hookd.Page{Limit: 3, Cursor: ids[0]}})
	if err != nil || total != 5 || len(page) != 3 || page[0].ID != ids[1] || page[0].Status != hookd.StatusActive {
		t.Errorf("FindWebhooks = %d of %d, %v", len(page), total, err)
	}
}

func testDeliveriesByEventType(e *env) {
	t := e.t
	s := e.scope("acme")
	w := e.webhook(s, nil)
	e.publishOne(s, e.event("a.one", `{}`))
	e.publishOne(s, e.event("b.two", `{}`))
	e.publishOne(s, e.event("a.one", `{}`))
	for _, c := range []struct {
		f    hookd.DeliveryFilter
		want int
	}{
		{hookd.DeliveryFilter{EventType: "a.one"}, 2},
		{hookd.DeliveryFilter{EventType: "b.two", WebhookID: w.ID}, 1},
		{hookd.DeliveryFilter{EventType: "a.one", Page: hookd.Page{Limit: 1}}, 1},
		{hookd.DeliveryFilter{EventType: "c.none"}, 0},
	} {
		ds := e.deliveries(s, c.f)
		if c.f.Limit == 1 {
			ds, _ = e.svc.Deliveries.FindDeliveries(e.ctx, s, c.f)
		}
		if len(ds) != c.want {
			t.Errorf("%+v: %d deliveries, want %d", c.f, len(ds), c.want)
		}
		for _, d := range ds {
			if d.EventType != c.f.EventType {
				t.Errorf("%+v: got a delivery of %s", c.f, d.EventType)
			}
		}
	}
}

func testSessionStore(e *env) {
	t := e.t
	a := e.scope("acme")
	s := &hookd.Session{ID: "ses_1", Hash: []byte("h1"), TenantID: a.TenantID, Mode: hookd.ModeTest, ReadOnly: true,
		CreatedAt: Start, ExpiresAt: Start.Add(time.Hour)}
	op := &hookd.Session{ID: "ses_2", Hash: []byte("h2"), OperatorKeyID: "okey_1", CreatedAt: Start, ExpiresAt: Start.Add(2 * time.Hour)}
	for _, x := range []*hookd.Session{s, op} {
		if err := e.store.InsertSession(e.ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.store.FindSessionByHash(e.ctx, []byte("h1"))
	if err != nil || got.ID != s.ID || got.TenantID != a.TenantID || got.Mode != hookd.ModeTest || !got.ReadOnly ||
		!got.ExpiresAt.Equal(s.ExpiresAt) || !bytes.Equal(got.Hash, s.Hash) {
		t.Fatalf("FindSessionByHash = %+v, %v", got, err)
	}
	got, err = e.store.FindSessionByHash(e.ctx, []byte("h2"))
	if err != nil || got.TenantID != "" || got.OperatorKeyID != "okey_1" || !got.Operator() {
		t.Fatalf("operator session = %+v, %v", got, err)
	}
	_, err = e.store.FindSessionByHash(e.ctx, []byte("none"))
	wantCode(t, err, hookd.ENOTFOUND)

	n, err := e.store.DeleteSessionsExpiredBefore(e.ctx, Start.Add(90*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteSessionsExpiredBefore = %d, %v; want 1", n, err)
	}
	_, err = e.store.FindSessionByHash(e.ctx, []byte("h1"))
	wantCode(t, err, hookd.ENOTFOUND)
	if err := e.store.DeleteSession(e.ctx, "ses_2"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteSession(e.ctx, "ses_2"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	_, err = e.store.FindSessionByHash(e.ctx, []byte("h2"))
	wantCode(t, err, hookd.ENOTFOUND)
}

func testSessions(e *env) {
	t := e.t
	ten, _ := e.put(&hookd.Tenant{UID: "cust-a"})
	_, link, err := e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{Mode: hookd.ModeTest, ReadOnly: true, MakerKeyID: e.maker()})
	if err != nil {
		t.Fatal(err)
	}
	s, token, err := e.svc.Sessions.EnterPortal(e.ctx, link, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.TenantID != ten.ID || s.Mode != hookd.ModeTest || !s.ReadOnly || !hookd.IsSessionToken(token) ||
		!s.ExpiresAt.Equal(Start.Add(hookd.DefaultSessionTTL)) {
		t.Fatalf("session %+v, token %q", s, token)
	}
	if stored, err := e.store.FindSessionByHash(e.ctx, hookd.HashAPIKey(token)); err != nil || stored.ID != s.ID {
		t.Fatalf("the session is kept by its token's hash: %+v, %v", stored, err)
	}
	if got, err := e.svc.Sessions.Resume(e.ctx, token); err != nil || got.ID != s.ID {
		t.Fatalf("Resume = %+v, %v", got, err)
	}
	_, _, err = e.svc.Sessions.EnterPortal(e.ctx, link, 0)
	wantCode(t, err, hookd.EFORBIDDEN, "already used")
	_, err = e.svc.Sessions.Resume(e.ctx, "pss_unknown")
	wantCode(t, err, hookd.EUNAUTHORIZED)
	_, err = e.svc.Sessions.Resume(e.ctx, link)
	wantCode(t, err, hookd.EUNAUTHORIZED)

	e.clock.Advance(hookd.DefaultSessionTTL)
	_, err = e.svc.Sessions.Resume(e.ctx, token)
	wantCode(t, err, hookd.EUNAUTHORIZED, "ended")

	// An operator signs in with its key; a tenant key may not.
	_, opk, err := e.svc.Tenants.CreateOperatorKey(e.ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	os, otoken, err := e.svc.Sessions.SignIn(e.ctx, opk, time.Hour)
	if err != nil || !os.Operator() || os.OperatorKeyID == "" {
		t.Fatalf("SignIn = %+v, %v", os, err)
	}
	if _, err := e.svc.Sessions.Resume(e.ctx, otoken); err != nil {
		t.Fatal(err)
	}
	_, sk, err := e.svc.Tenants.CreateAPIKey(e.ctx, ten.ID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Sessions.SignIn(e.ctx, sk, 0)
	wantCode(t, err, hookd.EFORBIDDEN)
	_, _, err = e.svc.Sessions.SignIn(e.ctx, "opk_wrong", 0)
	wantCode(t, err, hookd.EUNAUTHORIZED)
	_, _, err = e.svc.Sessions.SignIn(e.ctx, opk, time.Second)
	wantCode(t, err, hookd.EINVALID)

	if err := e.svc.Sessions.End(e.ctx, otoken); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Sessions.Resume(e.ctx, otoken)
	wantCode(t, err, hookd.EUNAUTHORIZED)
	if err := e.svc.Sessions.End(e.ctx, otoken); err != nil {
		t.Fatalf("ending twice: %v", err)
	}
}

// testSessionsEnd: deleting the tenant ends its portal sessions, revoking
// the operator key ends the sessions it opened.
func testSessionsEnd(e *env) {
	t := e.t
	e.put(&hookd.Tenant{UID: "cust-a"})
	_, link, err := e.svc.Tenants.CreatePortalLink(e.ctx, "cust-a", hookd.PortalLinkRequest{MakerKeyID: e.maker()})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := e.svc.Sessions.EnterPortal(e.ctx, link, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tenants.DeleteTenant(e.ctx, "cust-a"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Sessions.Resume(e.ctx, token)
	wantCode(t, err, hookd.EUNAUTHORIZED)

	k, opk, err := e.svc.Tenants.CreateOperatorKey(e.ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	_, otoken, err := e.svc.Sessions.SignIn(e.ctx, opk, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tenants.RevokeOperatorKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Sessions.Resume(e.ctx, otoken)
	wantCode(t, err, hookd.EUNAUTHORIZED)
	_, err = e.store.FindSessionByHash(e.ctx, hookd.HashAPIKey(otoken))
	wantCode(t, err, hookd.ENOTFOUND) // deleted with the revocation
}

// testSessionsEndWithMaker: revoking the key that made a portal link —
// a tenant's key or an operator key — deletes the session the link opened
// and the links it made that are still unused; revoking another key ends
// only that key's. A link without a maker (made before makers were
// recorded) outlives every revocation.
func testSessionsEndWithMaker(e *env) {
	t := e.t
	for _, kind := range []string{"tenant", "operator"} {
		ten, _ := e.put(&hookd.Tenant{UID: "cust-" + kind})
		newKey := func() (string, func() error) {
			if kind == "operator" {
				k, _, err := e.svc.Tenants.CreateOperatorKey(e.ctx, "ops")
				if err != nil {
					t.Fatal(err)
				}
				return k.ID, func() error { return e.svc.Tenants.RevokeOperatorKey(e.ctx, k.ID) }
			}
			k, _, err := e.svc.Tenants.CreateAPIKey(e.ctx, ten.ID, hookd.ModeLive)
			if err != nil {
				t.Fatal(err)
			}
			return k.ID, func() error { return e.svc.Tenants.RevokeTenantAPIKey(e.ctx, ten.ID, k.ID) }
		}
		link := func(maker string) string {
			l, token, err := e.svc.Tenants.CreatePortalLink(e.ctx, ten.ID, hookd.PortalLinkRequest{MakerKeyID: maker})
			if err != nil || l.MakerKeyID != maker {
				t.Fatalf("CreatePortalLink: %+v, %v", l, err)
			}
			return token
		}
		enter := func(link string) string {
			s, token, err := e.svc.Sessions.EnterPortal(e.ctx, link, 0)
			if err != nil {
				t.Fatalf("EnterPortal: %v", err)
			}
			if stored, err := e.store.FindSessionByHash(e.ctx, hookd.HashAPIKey(token)); err != nil || stored.MakerKeyID != s.MakerKeyID {
				t.Fatalf("stored session %+v, %v; want maker %q", stored, err, s.MakerKeyID)
			}
			return token
		}
		alive := func(what, token string) {
			t.Helper()
			if _, err := e.svc.Sessions.Resume(e.ctx, token); err != nil {
				t.Fatalf("%s key: %s: %v", kind, what, err)
			}
		}
		ended := func(what, token string) {
			t.Helper()
			if _, err := e.store.FindSessionByHash(e.ctx, hookd.HashAPIKey(token)); hookd.ErrorCode(err) != hookd.ENOTFOUND {
				t.Fatalf("%s key: %s: the session is still stored (%v)", kind, what, err)
			}
			_, err := e.svc.Sessions.Resume(e.ctx, token)
			wantCode(t, err, hookd.EUNAUTHORIZED, "ended")
		}

		maker, revokeMaker := newKey()
		other, revokeOther := newKey()
		session := enter(link(maker))
		unused, later := link(maker), link(maker)
		otherSession, otherUnused := enter(link(other)), link(other)
		legacy, legacyToken := hookd.NewPortalLink(hookd.Scope{TenantID: ten.ID, Mode: hookd.ModeLive}, false, time.Hour, e.clock.Now())
		if err := e.store.InsertPortalLink(e.ctx, legacy); err != nil {
			t.Fatal(err)
		}
		legacySession := enter(legacyToken)

		if err := revokeOther(); err != nil {
			t.Fatal(err)
		}
		ended("the other key's session", otherSession)
		_, _, err := e.svc.Sessions.EnterPortal(e.ctx, otherUnused, 0)
		wantCode(t, err, hookd.ENOTFOUND)
		alive("the maker's session, after another key's revocation", session)
		alive("a session of another maker's link", enter(unused))

		if err := revokeMaker(); err != nil {
			t.Fatal(err)
		}
		ended("the maker's session", session)
		_, _, err = e.svc.Sessions.EnterPortal(e.ctx, later, 0)
		wantCode(t, err, hookd.ENOTFOUND)
		alive("a session without a maker", legacySession)
		if err := revokeMaker(); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
	}
}

// testSessionMakerRevoked: a session is not stored for a maker key that is
// revoked or unknown — the race where a link is spent just before its key
// is revoked ends either way.
func testSessionMakerRevoked(e *env) {
	t := e.t
	a := e.scope("acme")
	k, _, err := e.svc.Tenants.CreateAPIKey(e.ctx, a.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	opk := e.maker()
	session := func(id, maker string) *hookd.Session {
		return &hookd.Session{ID: id, Hash: []byte(id), TenantID: a.TenantID, Mode: a.Mode, MakerKeyID: maker,
			CreatedAt: Start, ExpiresAt: Start.Add(time.Hour)}
	}
	for _, s := range []*hookd.Session{session("ses_tenant", k.ID), session("ses_operator", opk), session("ses_none", "")} {
		if err := e.store.InsertSession(e.ctx, s); err != nil {
			t.Fatalf("InsertSession(maker %q): %v", s.MakerKeyID, err)
		}
	}
	if err := e.svc.Tenants.RevokeAPIKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tenants.RevokeOperatorKey(e.ctx, opk); err != nil {
		t.Fatal(err)
	}
	for _, maker := range []string{k.ID, opk, "key_unknown"} {
		err := e.store.InsertSession(e.ctx, session("ses_late", maker))
		wantCode(t, err, hookd.EFORBIDDEN)
		_, err = e.store.FindSessionByHash(e.ctx, []byte("ses_late"))
		wantCode(t, err, hookd.ENOTFOUND)
	}
	for id, want := range map[string]string{"ses_tenant": hookd.ENOTFOUND, "ses_operator": hookd.ENOTFOUND, "ses_none": ""} {
		_, err := e.store.FindSessionByHash(e.ctx, []byte(id))
		if got := hookd.ErrorCode(err); got != want {
			t.Errorf("%s after the revocations: %q (%v), want %q", id, got, err, want)
		}
	}
}

// finish publishes one event to s and ends each of its deliveries with kind.
func (e *env) finish(s hookd.Scope, kind hookd.OutcomeKind) {
	e.t.Helper()
	e.publishOne(s, e.event("a.one", `{"n":1}`))
	for _, j := range e.claim("w", 100, time.Minute) {
		status := 200
		if kind != hookd.OutcomeSucceeded {
			status = 500
		}
		e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: kind,
			RetryAt: e.clock.Now().Add(time.Hour), Attempt: e.attempt(status, "")})
	}
}

func testWebhookHealth(e *env) {
	t := e.t
	a, b := e.scope("acme"), e.scope("globex")
	wa := e.webhook(a, nil)
	wb := e.webhook(b, nil)
	e.finish(a, hookd.OutcomeSucceeded) // a day and more before: outside the window
	e.clock.Advance(25 * time.Hour)
	e.finish(a, hookd.OutcomeSucceeded)
	e.finish(a, hookd.OutcomeSucceeded)
	e.finish(a, hookd.OutcomeFailed)
	e.clock.Advance(time.Minute)
	e.finish(a, hookd.OutcomeRetry) // pending, attempted now
	e.finish(b, hookd.OutcomeFailed)

	hs, err := e.svc.Stats.Health(e.ctx, a, []string{wa.ID, wb.ID, "wh_none"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := hs[wa.ID]
	if h.Succeeded != 2 || h.Failed != 1 || h.Pending != 1 || h.LastAttemptAt == nil || !h.LastAttemptAt.Equal(e.clock.Now()) {
		t.Errorf("health of acme's webhook = %+v (last %v), want 2 succeeded, 1 failed, 1 pending, last attempt now", h, h.LastAttemptAt)
	}
	if r, ok := h.SuccessRate(); !ok || r < 0.66 || r > 0.67 {
		t.Errorf("success rate = %v, %v", r, ok)
	}
	// Another tenant's webhook, asked for in acme's scope, counts nothing.
	if h := hs[wb.ID]; h.Succeeded+h.Failed+h.Pending != 0 || h.LastAttemptAt != nil {
		t.Errorf("globex's webhook seen from acme: %+v", h)
	}
	if h := hs["wh_none"]; h.WebhookID != "wh_none" {
		t.Errorf("every id asked for is answered: %+v", h)
	}
	if _, ok := hs["wh_none"].SuccessRate(); ok {
		t.Error("no finished delivery has no success rate")
	}
}

func testDeliverySeries(e *env) {
	t := e.t
	a, b := e.scope("acme"), e.scope("globex")
	wa := e.webhook(a, nil)
	e.webhook(b, nil)
	e.finish(a, hookd.OutcomeSucceeded)
	e.clock.Advance(2 * time.Hour)
	e.finish(a, hookd.OutcomeFailed)
	e.finish(a, hookd.OutcomeSucceeded)
	e.finish(b, hookd.OutcomeFailed)
	e.clock.Advance(time.Hour)
	e.finish(a, hookd.OutcomeRetry)

	ps, err := e.svc.Stats.Series(e.ctx, a, wa.ID, 24*time.Hour, 24)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 24 {
		t.Fatalf("%d points, want 24", len(ps))
	}
	var sum hookd.SeriesPoint
	for i, p := range ps {
		if i > 0 && !p.At.Equal(ps[i-1].At.Add(time.Hour)) {
			t.Errorf("point %d at %v after %v", i, p.At, ps[i-1].At)
		}
		sum.Succeeded += p.Succeeded
		sum.Failed += p.Failed
		sum.Pending += p.Pending
	}
	if sum.Succeeded != 2 || sum.Failed != 1 || sum.Pending != 1 {
		t.Errorf("totals %+v, want 2 succeeded, 1 failed, 1 pending", sum)
	}
	last := ps[len(ps)-1]
	if last.Pending != 1 || !e.clock.Now().Before(last.At.Add(time.Hour)) || e.clock.Now().Before(last.At) {
		t.Errorf("the last bucket holds now and the pending delivery: %+v (now %v)", last, e.clock.Now())
	}
	if ps[len(ps)-2].Succeeded != 1 || ps[len(ps)-2].Failed != 1 {
		t.Errorf("an hour before: %+v", ps[len(ps)-2])
	}
	_, err = e.svc.Stats.Series(e.ctx, b, wa.ID, 24*time.Hour, 24)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testFailingWebhooks(e *env) {
	t := e.t
	a, b := e.scope("acme"), e.scope("globex")
	wa := e.webhook(a, nil)
	e.webhook(a, nil, func(w *hookd.Webhook) { w.URL = "https://ok.example/" })
	wb := e.webhook(b, nil)
	e.finish(b, hookd.OutcomeFailed)
	e.clock.Advance(time.Minute)
	e.publishOne(a, e.event("a.one", `{}`))
	for _, j := range e.claim("w", 10, time.Minute) {
		st := 200
		if j.Webhook.ID == wa.ID {
			st = 500
		}
		kind := hookd.OutcomeSucceeded
		if st != 200 {
			kind = hookd.OutcomeFailed
		}
		e.complete(hookd.Outcome{DeliveryID: j.Delivery.ID, WebhookID: j.Webhook.ID, Owner: "w", Kind: kind, Attempt: e.attempt(st, "")})
	}
	ws, err := e.svc.Stats.FailingWebhooks(e.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].ID != wb.ID || ws[1].ID != wa.ID || ws[0].TenantID != b.TenantID {
		var ids []string
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		t.Fatalf("failing = %v, want [%s %s] (longest failing first)", ids, wb.ID, wa.ID)
	}
	if ws, _ := e.svc.Stats.FailingWebhooks(e.ctx, 1); len(ws) != 1 {
		t.Errorf("limit 1 gave %d", len(ws))
	}
	if _, err := e.svc.Webhooks.UpdateWebhook(e.ctx, b, wb.ID, hookd.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if ws, _ := e.svc.Stats.FailingWebhooks(e.ctx, 10); len(ws) != 1 || ws[0].ID != wa.ID {
		t.Errorf("a disabled webhook is not listed: %d listed", len(ws))
	}
}
