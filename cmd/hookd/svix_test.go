package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookd/hookd/postgres/pgtest"
)

// svixReceiver records what each path received and answers 500 on paths
// told to fail.
type svixReceiver struct {
	mu   sync.Mutex
	got  map[string][]svixDelivery
	fail map[string]bool
}

type svixDelivery struct {
	body   []byte
	header http.Header
}

func (s *svixReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[r.URL.Path] = append(s.got[r.URL.Path], svixDelivery{b, r.Header.Clone()})
	if s.fail[r.URL.Path] {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Write([]byte("ok"))
}

func (s *svixReceiver) setFail(path string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = fail
}

// wait returns the n-th delivery (from 1) to path, waiting up to 15 s.
func (s *svixReceiver) wait(t *testing.T, path string, n int) svixDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		got := s.got[path]
		s.mu.Unlock()
		if len(got) >= n {
			return got[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no delivery #%d to %s within 15s", n, path)
	return svixDelivery{}
}

// TestSvixSDK drives Svix's official Go SDK, unchanged but for its server
// URL and token (hookd's operator key), through a whole flow against the
// real binary, on SQLite and on PostgreSQL.
func TestSvixSDK(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, in *instance) {
		testSvixFlow(t, in)
		testSvixLabels(t, in)
	})
}

// onBothStores runs test in parallel against the real binary on SQLite and
// on PostgreSQL, with one quick retry (200 ms) before a delivery fails.
func onBothStores(t *testing.T, test func(*testing.T, *instance)) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			flags := []string{"--allow-private-networks", "--retry-schedule", "200ms", "--retry-jitter", "0"}
			if store == "postgres" {
				flags = append(flags, "--database-url", pgtest.NewDatabase(t))
			}
			test(t, startHookd(t, flags...))
		})
	}
}

func testSvixFlow(t *testing.T, in *instance) {
	ctx := context.Background()
	rec := &svixReceiver{got: map[string][]svixDelivery{}, fail: map[string]bool{}}
	recv := httptest.NewServer(rec)
	defer recv.Close()
	base, _ := url.Parse(in.base)
	sdk := svix.New(in.opKey, &svix.SvixOptions{ServerUrl: base})

	// health
	res, err := http.Get(in.base + "/api/v1/health")
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("GET /api/v1/health = %v, %v; want 204", res, err)
	}
	res.Body.Close()

	// event types, with their schemas
	schemas := map[string]any{"1": map[string]any{"type": "object", "properties": map[string]any{"amount": map[string]any{"type": "number"}}}}
	et, err := sdk.EventType.Create(ctx, &svix.EventTypeIn{Name: "invoice.paid", Description: "An invoice was paid", Schemas: schemas})
	if err != nil {
		t.Fatalf("EventType.Create: %v", err)
	}
	if got, err := sdk.EventType.Get(ctx, "invoice.paid"); err != nil || fmt.Sprint(got.Schemas) != fmt.Sprint(schemas) || got.Description != et.Description {
		t.Fatalf("EventType.Get = %+v, %v", got, err)
	}
	if _, err := sdk.EventType.Create(ctx, &svix.EventTypeIn{Name: "invoice.voided", Description: "voided"}); err != nil {
		t.Fatal(err)
	}
	if err := sdk.EventType.Delete(ctx, "invoice.voided"); err != nil { // archives
		t.Fatal(err)
	}
	if l, err := sdk.EventType.List(ctx, nil); err != nil || len(l.Data) != 1 || l.Data[0].Name != "invoice.paid" || !l.Done {
		t.Fatalf("EventType.List = %+v, %v; want invoice.paid only (invoice.voided archived)", l, err)
	}

	// applications: create with get_if_exists is idempotent; a plain create of the same uid is 409
	app, err := sdk.Application.GetOrCreate(ctx, &svix.ApplicationIn{Name: "Acme", Uid: svix.String("acme")})
	if err != nil {
		t.Fatalf("Application.GetOrCreate: %v", err)
	}
	if !strings.HasPrefix(app.Id, "app_") || app.Uid == nil || *app.Uid != "acme" || app.Name != "Acme" {
		t.Fatalf("application = %+v", app)
	}
	again, err := sdk.Application.GetOrCreate(ctx, &svix.ApplicationIn{Name: "Acme", Uid: svix.String("acme")})
	if err != nil || again.Id != app.Id {
		t.Fatalf("GetOrCreate again = %+v, %v; want %s", again, err, app.Id)
	}
	_, err = sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme", Uid: svix.String("acme")})
	wantSvixError(t, err, 409, "conflict")
	// The operator's own tenant, which holds its endpoints for operator
	// events, is not an application.
	apps, err := sdk.Application.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps.Data {
		if a.Id == "app_operator" {
			t.Errorf("the operator's tenant is listed as an application")
		}
	}
	_, err = sdk.Application.Get(ctx, "app_operator")
	wantSvixError(t, err, 404, "not_found")
	// Svix's names need not be unique.
	twin, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Acme"})
	if err != nil || twin.Name != "Acme" || twin.Id == app.Id {
		t.Fatalf("a second application named Acme = %+v, %v", twin, err)
	}
	patched, err := sdk.Application.Patch(ctx, "acme", &svix.ApplicationPatch{Metadata: &map[string]string{"plan": "pro"}})
	if err != nil || patched.Metadata["plan"] != "pro" || patched.Name != "Acme" {
		t.Fatalf("Application.Patch = %+v, %v", patched, err)
	}
	if err := sdk.Application.Delete(ctx, twin.Id); err != nil {
		t.Fatal(err)
	}
	_, err = sdk.Application.Get(ctx, twin.Id)
	wantSvixError(t, err, 404, "not_found")

	// endpoints
	_, err = sdk.Endpoint.Create(ctx, "acme", &svix.EndpointIn{Url: recv.URL + "/x", FilterTypes: []string{"no.such"}})
	wantSvixError(t, err, 422, "")
	ep, err := sdk.Endpoint.Create(ctx, "acme", &svix.EndpointIn{
		Url: recv.URL + "/ok", Uid: svix.String("ep-ok"), FilterTypes: []string{"invoice.paid"},
		Channels: []string{"project_1"}, Metadata: &map[string]string{"team": "billing"}, RateLimit: svix.Int32(100),
	})
	if err != nil {
		t.Fatalf("Endpoint.Create: %v", err)
	}
	if !strings.HasPrefix(ep.Id, "ep_") || fmt.Sprint(ep.FilterTypes) != "[invoice.paid]" || fmt.Sprint(ep.Channels) != "[project_1]" ||
		ep.Metadata["team"] != "billing" || ep.RateLimit == nil || *ep.RateLimit != 100 || ep.Uid == nil || *ep.Uid != "ep-ok" {
		t.Fatalf("endpoint = %+v", ep)
	}
	if byUID, err := sdk.Endpoint.Get(ctx, app.Id, "ep-ok"); err != nil || byUID.Id != ep.Id {
		t.Fatalf("Endpoint.Get by uid = %+v, %v", byUID, err)
	}
	if err := sdk.Endpoint.UpdateHeaders(ctx, "acme", ep.Id, &svix.EndpointHeadersIn{Headers: map[string]string{"X-Tenant": "acme"}}); err != nil {
		t.Fatal(err)
	}
	if h, err := sdk.Endpoint.GetHeaders(ctx, "acme", ep.Id); err != nil || h.Headers["X-Tenant"] != "acme" {
		t.Fatalf("GetHeaders = %+v, %v", h, err)
	}
	secret, err := sdk.Endpoint.GetSecret(ctx, "acme", ep.Id)
	if err != nil || !strings.HasPrefix(secret.Key, "whsec_") {
		t.Fatalf("GetSecret = %+v, %v", secret, err)
	}

	// a message, delivered as Svix delivers it and verified by the SDK's verifier
	payload := map[string]any{"invoice": "in_1", "amount": 42.5}
	msg, err := sdk.Message.CreateWithOptions(ctx, "acme", &svix.MessageIn{EventType: "invoice.paid", Payload: payload, EventId: svix.String("evt-1"), Channels: []string{"project_1"}},
		&svix.PostOptions{IdempotencyKey: svix.String("key-1")})
	if err != nil {
		t.Fatalf("Message.Create: %v", err)
	}
	if msg.EventId == nil || *msg.EventId != "evt-1" || msg.EventType != "invoice.paid" {
		t.Fatalf("message = %+v", msg)
	}
	d := rec.wait(t, "/ok", 1)
	wh, err := svix.NewWebhook(secret.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(d.body, d.header); err != nil {
		t.Fatalf("Webhook.Verify: %v (headers %v)", err, d.header)
	}
	if d.header.Get("svix-id") != msg.Id || d.header.Get("webhook-id") != msg.Id || d.header.Get("X-Tenant") != "acme" {
		t.Errorf("delivery headers = %v", d.header)
	}
	var body map[string]any
	if err := json.Unmarshal(d.body, &body); err != nil || fmt.Sprint(body) != fmt.Sprint(payload) {
		t.Errorf("delivery body = %s, want the payload as given", d.body)
	}
	// The same idempotency key answers the same message.
	replay, err := sdk.Message.CreateWithOptions(ctx, "acme", &svix.MessageIn{EventType: "invoice.paid", Payload: payload, EventId: svix.String("evt-1"), Channels: []string{"project_1"}},
		&svix.PostOptions{IdempotencyKey: svix.String("key-1")})
	if err != nil || replay.Id != msg.Id {
		t.Fatalf("replayed Message.Create = %+v, %v", replay, err)
	}
	if got, err := sdk.Message.Get(ctx, "acme", msg.Id); err != nil || got.Id != msg.Id || fmt.Sprint(got.Payload) != fmt.Sprint(payload) {
		t.Fatalf("Message.Get = %+v, %v", got, err)
	}
	if l, err := sdk.Message.List(ctx, "acme", nil); err != nil || len(l.Data) != 1 || l.Data[0].Id != msg.Id {
		t.Fatalf("Message.List = %+v, %v", l, err)
	}

	// attempts, and a resend
	atts := waitAttempts(t, sdk, "acme", msg.Id, 1)
	if a := atts[0]; a.Status != svix.MessageStatus(0) || a.ResponseStatusCode != 200 || a.EndpointId != ep.Id || a.MsgId != msg.Id || a.Url != recv.URL+"/ok" {
		t.Fatalf("attempt = %+v", a)
	}
	if got, err := sdk.MessageAttempt.Get(ctx, "acme", msg.Id, atts[0].Id); err != nil || got.Id != atts[0].Id {
		t.Fatalf("MessageAttempt.Get = %+v, %v", got, err)
	}
	if err := sdk.MessageAttempt.Resend(ctx, "acme", msg.Id, ep.Id); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if d2 := rec.wait(t, "/ok", 2); d2.header.Get("svix-id") != msg.Id {
		t.Errorf("resent svix-id = %q, want %q", d2.header.Get("svix-id"), msg.Id)
	}
	waitAttempts(t, sdk, "acme", msg.Id, 2)
	if l, err := sdk.MessageAttempt.ListByEndpoint(ctx, "acme", ep.Id, nil); err != nil || len(l.Data) != 2 {
		t.Fatalf("ListByEndpoint = %+v, %v", l, err)
	}
	if l, err := sdk.MessageAttempt.ListAttemptedDestinations(ctx, "acme", msg.Id, nil); err != nil || len(l.Data) != 1 ||
		l.Data[0].Id != ep.Id || l.Data[0].Status != svix.MessageStatus(0) {
		t.Fatalf("ListAttemptedDestinations = %+v, %v", l, err)
	}
	if l, err := sdk.MessageAttempt.ListAttemptedMessages(ctx, "acme", ep.Id, nil); err != nil || len(l.Data) != 1 ||
		l.Data[0].Id != msg.Id || l.Data[0].Status != svix.MessageStatus(0) {
		t.Fatalf("ListAttemptedMessages = %+v, %v", l, err)
	}

	// the secret rotated: the next delivery verifies with the new one
	if err := sdk.Endpoint.RotateSecret(ctx, "acme", ep.Id, &svix.EndpointSecretRotateIn{}); err != nil {
		t.Fatal(err)
	}
	rotated, err := sdk.Endpoint.GetSecret(ctx, "acme", ep.Id)
	if err != nil || rotated.Key == secret.Key {
		t.Fatalf("secret after rotation = %+v, %v", rotated, err)
	}
	if _, err := sdk.Message.Create(ctx, "acme", &svix.MessageIn{EventType: "invoice.paid", Payload: payload, Channels: []string{"project_1"}}); err != nil {
		t.Fatal(err)
	}
	d3 := rec.wait(t, "/ok", 3)
	if wh2, _ := svix.NewWebhook(rotated.Key); wh2.Verify(d3.body, d3.header) != nil {
		t.Errorf("a delivery after the rotation does not verify with the new secret")
	}

	// recover: a failing endpoint's failed messages are sent again
	since := time.Now().Add(-time.Minute)
	rec.setFail("/down", true)
	down, err := sdk.Endpoint.Create(ctx, "acme", &svix.EndpointIn{Url: recv.URL + "/down"})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := sdk.Message.Create(ctx, "acme", &svix.MessageIn{EventType: "invoice.paid", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "/down", 2) // the first attempt and the one retry of --retry-schedule
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := sdk.Endpoint.GetStats(ctx, "acme", down.Id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Fail == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint stats = %+v, want one failed message", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec.setFail("/down", false)
	ro, err := sdk.Endpoint.Recover(ctx, "acme", down.Id, &svix.RecoverIn{Since: since})
	if err != nil || ro.Task != "endpoint.recover" {
		t.Fatalf("Recover = %+v, %v", ro, err)
	}
	if d := rec.wait(t, "/down", 3); d.header.Get("svix-id") != failed.Id {
		t.Errorf("recovered svix-id = %q, want %q", d.header.Get("svix-id"), failed.Id)
	}

	// app portal access
	pa, err := sdk.Authentication.AppPortalAccess(ctx, "acme", &svix.AppPortalAccessIn{})
	if err != nil || !strings.HasPrefix(pa.Token, "ptl_") || !strings.Contains(pa.Url, "/portal/enter?token=") {
		t.Fatalf("AppPortalAccess = %+v, %v", pa, err)
	}

	// paging through 250 endpoints with the SDK's iterator
	if _, err := sdk.Application.Create(ctx, &svix.ApplicationIn{Name: "Paging", Uid: svix.String("paging")}); err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	for i := range 250 {
		e, err := sdk.Endpoint.Create(ctx, "paging", &svix.EndpointIn{Url: fmt.Sprintf("%s/p/%d", recv.URL, i)})
		if err != nil {
			t.Fatalf("endpoint %d: %v", i, err)
		}
		made[e.Id] = true
	}
	seen := map[string]bool{}
	opts := &svix.EndpointListOptions{Limit: svix.Int32(100)}
	for pages := 0; ; pages++ {
		l, err := sdk.Endpoint.List(ctx, "paging", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Data {
			if seen[e.Id] || !made[e.Id] {
				t.Fatalf("page %d: endpoint %s seen twice or never made", pages, e.Id)
			}
			seen[e.Id] = true
		}
		if l.Done {
			break
		}
		if pages > 3 {
			t.Fatalf("more than 4 pages of 100 for 250 endpoints")
		}
		opts.Iterator = l.Iterator.Get()
	}
	if len(seen) != 250 {
		t.Fatalf("the iterator went through %d endpoints, want 250", len(seen))
	}

	// errors, as the SDK's error type
	_, err = sdk.Endpoint.Get(ctx, "acme", "ep_nope")
	wantSvixError(t, err, 404, "not_found")
	_, err = svix.New("opk_wrong", &svix.SvixOptions{ServerUrl: base}).Application.List(ctx, nil)
	wantSvixError(t, err, 401, "authentication_failed")
	_, err = svix.New(in.liveKey, &svix.SvixOptions{ServerUrl: base}).Application.List(ctx, nil)
	wantSvixError(t, err, 403, "")
	_, err = sdk.Integration.List(ctx, "acme", nil) // not served
	wantSvixError(t, err, 404, "not_found")
}

func waitAttempts(t *testing.T, sdk *svix.Svix, app, msg string, n int) []svix.MessageAttemptOut {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := sdk.MessageAttempt.ListByMsg(context.Background(), app, msg, nil)
		if err != nil {
			t.Fatalf("ListByMsg: %v", err)
		}
		if len(l.Data) >= n {
			return l.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListByMsg = %d attempts, want %d", len(l.Data), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantSvixError checks that err is the SDK's *svix.Error with the status
// and, if code is set, the code of Svix's error body.
func wantSvixError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *svix.Error
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *svix.Error %d", err, err, status)
	}
	if se.Status() != status {
		t.Fatalf("status = %d, want %d; body %s", se.Status(), status, se.Body())
	}
	var body struct {
		Code   string `json:"code"`
		Detail any    `json:"detail"`
	}
	if err := json.Unmarshal(se.Body(), &body); err != nil || body.Detail == nil || (code != "" && body.Code != code) {
		t.Errorf("error body = %s, want Svix's shape with code %q", se.Body(), code)
	}
}
