// Package compattest is the test environment of the compatibility APIs: a
// real SQLite store, the real group-commit publisher, optionally the real
// dispatcher with the real webhook client, API keys for fresh tenants, and
// a loopback receiver that records what it is sent.
package compattest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/webhook"
)

// Deadline bounds every wait so that a broken test fails instead of hanging.
// It is never a speed assertion.
const Deadline = 30 * time.Second

// Env is one store with its services.
type Env struct {
	DB       *sqlite.DB
	Services hookd.Services

	publisher *delivery.Publisher
}

// New opens a store in a temporary directory and starts a publisher. Webhook
// writes go through the SSRF guard with policy.
func New(t testing.TB, policy hookd.NetPolicy) *Env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := delivery.NewPublisher(db, delivery.PublisherOptions{})
	if err != nil {
		t.Fatalf("new publisher: %v", err)
	}
	if err := pub.Start(ctx); err != nil {
		t.Fatalf("start publisher: %v", err)
	}
	t.Cleanup(pub.Stop)
	return &Env{
		DB:        db,
		Services:  hookd.NewServices(db, hookd.ServiceOptions{Policy: policy, Publisher: pub}),
		publisher: pub,
	}
}

// Key creates a tenant and returns a live API key and its scope.
func (e *Env) Key(t testing.TB) (string, hookd.Scope) {
	t.Helper()
	ctx := context.Background()
	id := hookd.NewID("t")
	name := "tenant-" + strings.ToLower(id[len(id)-12:])
	tn, err := e.Services.Tenants.CreateTenant(ctx, name)
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	_, plain, err := e.Services.Tenants.CreateAPIKey(ctx, tn.ID, hookd.ModeLive)
	if err != nil {
		t.Fatalf("create api key: %v", err)
	}
	return plain, hookd.Scope{TenantID: tn.ID, Mode: hookd.ModeLive}
}

// StartDelivery runs the real dispatcher with the real webhook client,
// allowed to reach loopback receivers.
func (e *Env) StartDelivery(t testing.TB) {
	t.Helper()
	client, err := webhook.New(webhook.Config{Policy: hookd.NetPolicy{AllowPrivate: true}})
	if err != nil {
		t.Fatalf("new webhook client: %v", err)
	}
	d, err := delivery.NewDispatcher(e.DB, client, delivery.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("new dispatcher: %v", err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatalf("start dispatcher: %v", err)
	}
	t.Cleanup(d.Stop)
}

// Publish publishes one event of type typ with data in scope s and returns
// the result.
func (e *Env) Publish(t testing.TB, s hookd.Scope, typ, data string) hookd.PublishResult {
	t.Helper()
	res, err := e.publisher.Publish(context.Background(), hookd.PublishRequest{
		Scope: s,
		Event: &hookd.Event{Type: typ, Data: json.RawMessage(data), CreatedAt: time.Now().UTC()},
	})
	if err != nil {
		t.Fatalf("publish %s: %v", typ, err)
	}
	return res
}

// Request is one request a Receiver got.
type Request struct {
	Header http.Header
	Body   []byte
}

// Receiver is a loopback HTTP server that answers 204 and records requests.
type Receiver struct {
	URL  string
	reqs chan Request
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	rc := &Receiver{reqs: make(chan Request, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.reqs <- Request{Header: r.Header.Clone(), Body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Next waits for the next request.
func (rc *Receiver) Next(t testing.TB) Request {
	t.Helper()
	select {
	case r := <-rc.reqs:
		return r
	case <-time.After(Deadline):
		t.Fatalf("no request reached the receiver within %v", Deadline)
		return Request{}
	}
}

// Response is what a handler answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response body is not JSON (%v): %s", err, r.Body)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request to h and returns its answer. Headers are "Name: value"
// strings; a body without a Content-Type header is sent as application/json.
func Do(t testing.TB, h http.Handler, method, target, body string, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Header: rec.Header(), Body: bytes.Clone(rec.Body.Bytes())}
}
