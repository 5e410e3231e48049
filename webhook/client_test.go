package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
	"github.com/hookd/hookd/webhook"
)

const (
	testSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// loopback allows the test receivers, which listen on 127.0.0.1.
var loopback = hookd.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}

func newClient(t *testing.T, cfg webhook.Config) *webhook.Client {
	t.Helper()
	c, err := webhook.New(cfg)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func newJob(url string) *hookd.Job {
	return &hookd.Job{
		Delivery: &hookd.Delivery{ID: "dlv_1"},
		Event: &hookd.Event{
			ID:        "msg_p5jXN8AQM9LWM0D4loKWxJek",
			Type:      "CallBroadcast.started",
			Data:      json.RawMessage(`{"broadcastId": 42, "name": "spring", "owner": {"id": 7, "email": "a@example.com"}}`),
			CreatedAt: time.Unix(1700000000, 0),
		},
		Webhook: &hookd.Webhook{ID: "wh_1", URL: url, Secret: testSecret, TLSVerify: true, Enabled: true, Status: hookd.StatusActive},
	}
}

// request is what a receiver saw.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver is an httptest server that records each request and answers
// with respond.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newReceiver(t *testing.T, respond http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, request{Header: req.Header.Clone(), Body: body})
		r.mu.Unlock()
		if respond != nil {
			respond(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func (r *receiver) only(t *testing.T) request {
	t.Helper()
	got := r.received()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0]
}

func TestSendDeliversSignedEnvelope(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	job.Webhook.Headers = map[string]string{"X-Tenant": "acme", "Authorization": "Bearer receiver-token"}

	res := c.Send(context.Background(), job)
	if res.Attempt.ErrorClass != hookd.ClassNone || res.Attempt.StatusCode != 200 {
		t.Fatalf("Send = %+v, want success", res.Attempt)
	}
	got := rcv.only(t)

	var envelope map[string]any
	if err := json.Unmarshal(got.Body, &envelope); err != nil {
		t.Fatalf("body %q is not JSON: %v", got.Body, err)
	}
	want := map[string]any{
		"id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"type":      "CallBroadcast.started",
		"timestamp": float64(1700000000),
		"data":      map[string]any{"broadcastId": float64(42), "name": "spring", "owner": map[string]any{"id": float64(7), "email": "a@example.com"}},
	}
	if diff := cmp.Diff(want, envelope); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(got.Body), `"data":{"broadcastId": 42,`) {
		t.Errorf("body %s: data was re-encoded, want the raw bytes", got.Body)
	}

	wantHeaders := map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "hookd/" + hookd.Version,
		"Webhook-Id":    "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"X-Tenant":      "acme",
		"Authorization": "Bearer receiver-token",
	}
	gotHeaders := map[string]string{}
	for k := range wantHeaders {
		gotHeaders[k] = got.Header.Get(k)
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	official, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := official.Verify(got.Body, got.Header); err != nil {
		t.Errorf("official library: %v", err)
	}
	checkSignature(t, got)
}

// checkSignature verifies a received request with testSecret.
func checkSignature(t *testing.T, got request) {
	t.Helper()
	v, err := verify.New(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(got.Header, got.Body); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestSendReservedHeadersWin(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback, UserAgent: "hookd-test/1"})
	job := newJob(rcv.URL)
	// Validate refuses these; a row written around it must not spoof them.
	job.Webhook.Headers = map[string]string{"content-type": "text/plain", "webhook-id": "spoofed", "User-Agent": "spoofed"}
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	for k, want := range map[string]string{"Content-Type": "application/json", "Webhook-Id": job.Event.ID, "User-Agent": "hookd-test/1"} {
		if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != want {
			t.Errorf("%s = %q, want only %q", k, vs, want)
		}
	}
}

func TestSendWebhookIDStableAcrossRetries(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	now := time.Now()
	c := newClient(t, webhook.Config{Policy: loopback, Now: func() time.Time { return now }})
	job := newJob(rcv.URL)
	c.Send(context.Background(), job)
	now = now.Add(10 * time.Second)
	c.Send(context.Background(), job)
	got := rcv.received()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	if a, b := got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"); a != job.Event.ID || b != a {
		t.Errorf("webhook-id %q then %q, want %q both times", a, b, job.Event.ID)
	}
	if a, b := got[0].Header.Get("webhook-timestamp"), got[1].Header.Get("webhook-timestamp"); a == b {
		t.Errorf("webhook-timestamp %q both times, want the attempt time", a)
	}
}

func TestSendSignsWithBothSecretsDuringRotation(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	until := time.Now().Add(time.Hour)
	job.Webhook.Secret, job.Webhook.PreviousSecret, job.Webhook.PreviousSecretExpiresAt = otherSecret, testSecret, &until

	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	if sigs := strings.Fields(got.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("webhook-signature %q, want two signatures", got.Header.Get("webhook-signature"))
	}
	for _, secret := range []string{testSecret, otherSecret} {
		official, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := official.Verify(got.Body, got.Header); err != nil {
			t.Errorf("official library with %s…: %v", secret[:10], err)
		}
		v, err := verify.New(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(got.Header, got.Body); err != nil {
			t.Errorf("verify with %s…: %v", secret[:10], err)
		}
	}
	// Each signature alone verifies with exactly one of the secrets.
	for i, sig := range strings.Fields(got.Header.Get("webhook-signature")) {
		h := got.Header.Clone()
		h.Set("webhook-signature", sig)
		var ok int
		for _, secret := range []string{testSecret, otherSecret} {
			v, _ := verify.New(secret)
			if v.Verify(h, got.Body) == nil {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("signature %d verifies with %d secrets, want 1", i, ok)
		}
	}
}

// TestSendSignsEachWebhookWithItsSecret sends, concurrently, to webhooks
// with different secrets through one client (whose keyed HMACs are cached
// per secret) and checks that each request verifies with its own secret
// only.
func TestSendSignsEachWebhookWithItsSecret(t *testing.T) {
	t.Parallel()
	secrets := []string{testSecret, otherSecret, "raw-secret-from-a-compat-api"}
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			job := newJob(rcv.URL + "/" + strconv.Itoa(i%len(secrets)))
			job.Webhook.Secret = secrets[i%len(secrets)]
			job.Event.ID = "msg_" + strconv.Itoa(i)
			if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
				t.Errorf("Send = %+v", res.Attempt)
			}
		})
	}
	wg.Wait()
	reqs := rcv.received()
	if len(reqs) != 30 {
		t.Fatalf("receiver got %d requests, want 30", len(reqs))
	}
	for _, r := range reqs {
		id := r.Header.Get("webhook-id")
		n, err := strconv.Atoi(strings.TrimPrefix(id, "msg_"))
		if err != nil {
			t.Fatalf("webhook-id %q", id)
		}
		for k, secret := range secrets {
			v, err := verify.New(secret)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Verify(r.Header, r.Body)
			if want := k == n%len(secrets); (err == nil) != want {
				t.Errorf("event %s with secret %d: verify error %v, want success %v", id, k, err, want)
			}
		}
	}
}

func TestSendClassifiesStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		respond    http.HandlerFunc
		wantStatus int
		wantClass  hookd.ErrorClass
		wantRetry  time.Duration
	}{
		{"200", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }, 200, hookd.ClassNone, 0},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }, 204, hookd.ClassNone, 0},
		{"410", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) }, 410, hookd.ClassGone, 0},
		{"429 with Retry-After seconds", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, 429, hookd.ClassHTTPStatus, 7 * time.Second},
		{"429 without Retry-After", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) }, 429, hookd.ClassHTTPStatus, 0},
		{"503 with Retry-After date", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(503)
		}, 503, hookd.ClassHTTPStatus, 90 * time.Second},
		{"503 with Retry-After in the past", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat))
			w.WriteHeader(503)
		}, 503, hookd.ClassHTTPStatus, 0},
		{"500 ignores Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(500)
		}, 500, hookd.ClassHTTPStatus, 0},
		{"400", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }, 400, hookd.ClassHTTPStatus, 0},
		{"304", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(304) }, 304, hookd.ClassHTTPStatus, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tt.respond)
			c := newClient(t, webhook.Config{Policy: loopback, Now: func() time.Time { return now }})
			res := c.Send(context.Background(), newJob(rcv.URL))
			type summary struct {
				Status     int
				Class      hookd.ErrorClass
				RetryAfter time.Duration
				HasError   bool
			}
			want := summary{tt.wantStatus, tt.wantClass, tt.wantRetry, tt.wantClass != hookd.ClassNone}
			got := summary{res.Attempt.StatusCode, res.Attempt.ErrorClass, res.RetryAfter, res.Attempt.Error != ""}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Send (-want +got):\n%s\nattempt: %+v", diff, res.Attempt)
			}
			if !res.Attempt.At.Equal(now) {
				t.Errorf("At = %v, want the clock's %v", res.Attempt.At, now)
			}
		})
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := newReceiver(t, nil)
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusMovedPermanently)
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.URL))
	if res.Attempt.StatusCode != 301 || res.Attempt.ErrorClass != hookd.ClassHTTPStatus {
		t.Errorf("Send = %+v, want 301 http_status", res.Attempt)
	}
	if n := len(target.received()); n != 0 {
		t.Errorf("redirect target received %d requests, want 0", n)
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before rcv.Close
	c := newClient(t, webhook.Config{Policy: loopback, RequestTimeout: 200 * time.Millisecond})
	res := c.Send(context.Background(), newJob(rcv.URL))
	if res.Attempt.ErrorClass != hookd.ClassTimeout || res.Attempt.StatusCode != 0 {
		t.Errorf("Send = %+v, want timeout", res.Attempt)
	}
}

func TestSendCancelledContext(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.Send(ctx, newJob(rcv.URL))
	if res.Attempt.ErrorClass != hookd.ClassTimeout {
		t.Errorf("Send = %+v, want timeout", res.Attempt)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob("http://"+addr+"/hook"))
	if res.Attempt.ErrorClass != hookd.ClassConnection || res.Attempt.Error == "" {
		t.Errorf("Send = %+v, want connection", res.Attempt)
	}
}

func TestSendUnknownHost(t *testing.T) {
	t.Parallel()
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob("http://no-such-host.invalid/hook"))
	if res.Attempt.ErrorClass != hookd.ClassConnection {
		t.Errorf("Send = %+v, want connection", res.Attempt)
	}
}

func TestSendCapsResponseExcerpt(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, big)
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.URL))
	if got := res.Attempt.ResponseExcerpt; got != big[:hookd.MaxResponseExcerpt] {
		t.Errorf("excerpt is %d bytes, want the first %d of the body", len(got), hookd.MaxResponseExcerpt)
	}
	if res.Attempt.ErrorClass != hookd.ClassHTTPStatus {
		t.Errorf("class %q, want http_status", res.Attempt.ErrorClass)
	}
}

func TestSendExcerptIsStorableText(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte("bad\x00input \xff é"))
	})
	c := newClient(t, webhook.Config{Policy: loopback})
	res := c.Send(context.Background(), newJob(rcv.URL))
	if want := "badinput ? é"; res.Attempt.ResponseExcerpt != want {
		t.Errorf("excerpt %q, want %q", res.Attempt.ResponseExcerpt, want)
	}
}

// TestSendReusesConnections checks that every kind of answer within the
// read cap is drained so that the next send reuses the connection.
func TestSendReusesConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		respond http.HandlerFunc
	}{
		{"204 no body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }},
		{"200 short body", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }},
		{"200 body beyond the excerpt", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, strings.Repeat("x", 10<<10)) // more than the excerpt, less than the read cap
		}},
		{"200 chunked body", func(w http.ResponseWriter, _ *http.Request) {
			for range 3 {
				io.WriteString(w, strings.Repeat("y", 3<<10))
				w.(http.Flusher).Flush()
			}
		}},
		{"500 with body", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, "boom")
		}},
		{"429 with Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		}},
		{"302 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv, conns := newCountingServer(t, tt.respond)
			c := newClient(t, webhook.Config{Policy: loopback})
			for range 5 {
				if res := c.Send(context.Background(), newJob(rcv.URL)); res.Attempt.StatusCode == 0 {
					t.Fatalf("Send = %+v", res.Attempt)
				}
			}
			if n := conns.opened.Load(); n != 1 {
				t.Errorf("5 sequential sends opened %d connections, want 1", n)
			}
		})
	}
}

func TestSendTLSVerify(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newClient(t, webhook.Config{Policy: loopback})

	job := newJob(srv.URL)
	job.Webhook.TLSVerify = true
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassConnection {
		t.Errorf("tls_verify=true against a self-signed certificate: %+v, want connection", res.Attempt)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("receiver handled %d requests before any verified handshake", n)
	}
	job.Webhook.TLSVerify = false
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Errorf("tls_verify=false: %+v, want success", res.Attempt)
	}
	// The insecure pool must not leak into webhooks that verify.
	job.Webhook.TLSVerify = true
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassConnection {
		t.Errorf("tls_verify=true after an insecure delivery: %+v, want connection", res.Attempt)
	}
}

func TestSendFieldsProjection(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	job.Webhook.Fields = []string{"owner.id", "name", "missing.path"}
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	var envelope struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &envelope); err != nil {
		t.Fatalf("body %q: %v", got.Body, err)
	}
	if want := `{"name":"spring","owner":{"id":7}}`; string(envelope.Data) != want {
		t.Errorf("data = %s, want %s", envelope.Data, want)
	}
	v, _ := verify.New(testSecret)
	if err := v.Verify(got.Header, got.Body); err != nil {
		t.Errorf("projected body does not verify: %v", err)
	}
}

func TestSendCallFireSignature(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	job := newJob(rcv.URL)
	job.Webhook.Source = "callfire"
	job.Webhook.Number, job.Webhook.Name = 3749003, "Test Webhook"
	job.Webhook.Fields = []string{"broadcastId", "owner.id"}
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Fatalf("Send = %+v", res.Attempt)
	}
	got := rcv.only(t)
	// CallFire's notification shape, with the projected data as the resource.
	want := `{"timestamp":1700000000000,"webhookId":3749003,"webhookName":"Test Webhook","resourceType":"CallBroadcast",` +
		`"events":[{"timestamp":1700000000000,"webhookId":3749003,"resourceType":"CallBroadcast","eventType":"Started",` +
		`"resource":{"broadcastId":42,"owner":{"id":7}}}]}`
	if string(got.Body) != want {
		t.Errorf("body = %s\nwant   %s", got.Body, want)
	}
	if got.Header.Get("webhook-id") != job.Event.ID {
		t.Errorf("webhook-id = %q, want the event id", got.Header.Get("webhook-id"))
	}
	if want := webhook.SignCallFire(testSecret, got.Body); got.Header.Get("X-CallFire-Signature") != want {
		t.Errorf("X-CallFire-Signature = %q, want %q", got.Header.Get("X-CallFire-Signature"), want)
	}
	if err := verify.VerifyCallFire(testSecret, got.Header, got.Body); err != nil {
		t.Errorf("VerifyCallFire: %v", err)
	}

	// Other webhooks do not carry it.
	plain := newReceiver(t, nil)
	c.Send(context.Background(), newJob(plain.URL))
	if h := plain.only(t).Header.Get("X-CallFire-Signature"); h != "" {
		t.Errorf("a non-CallFire webhook got X-CallFire-Signature %q", h)
	}
}

func TestSendRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{}) // the default policy
	res := c.Send(context.Background(), newJob(rcv.URL))
	if res.Attempt.ErrorClass != hookd.ClassDestinationBlocked {
		t.Errorf("Send = %+v, want destination_blocked", res.Attempt)
	}
	// By name too: the check runs on the resolved address.
	job := newJob(strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1))
	if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassDestinationBlocked {
		t.Errorf("Send to localhost = %+v, want destination_blocked", res.Attempt)
	}
	if n := len(rcv.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}

	allowed := newClient(t, webhook.Config{Policy: hookd.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	if res := allowed.Send(context.Background(), newJob(rcv.URL)); res.Attempt.ErrorClass != hookd.ClassNone {
		t.Errorf("Send with 127.0.0.0/8 allowed = %+v, want success", res.Attempt)
	}
}

func TestSendIgnoresProxyEnvironment(t *testing.T) {
	// Not parallel: it sets environment variables.
	proxy := newReceiver(t, nil)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	c := newClient(t, webhook.Config{})
	res := c.Send(context.Background(), newJob("http://127.0.0.1:9/hook"))
	if res.Attempt.ErrorClass != hookd.ClassDestinationBlocked {
		t.Errorf("Send = %+v, want destination_blocked", res.Attempt)
	}
	if n := len(proxy.received()); n != 0 {
		t.Errorf("the proxy got %d requests, want 0", n)
	}
}

func TestSendInvalidRequest(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	c := newClient(t, webhook.Config{Policy: loopback})
	const badSecret = "whsec_this-is-not*base64"
	tests := []struct {
		name string
		edit func(*hookd.Job)
	}{
		{"bad URL", func(j *hookd.Job) { j.Webhook.URL = "http://[::1" }},
		{"bad secret", func(j *hookd.Job) { j.Webhook.Secret = badSecret }},
		{"empty secret", func(j *hookd.Job) { j.Webhook.Secret = "" }},
		{"invalid data with fields", func(j *hookd.Job) {
			j.Event.Data = json.RawMessage(`{"a":`)
			j.Webhook.Fields = []string{"a"}
		}},
		{"no webhook", func(j *hookd.Job) { j.Webhook = nil }},
		{"no event", func(j *hookd.Job) { j.Event = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(rcv.URL)
			tt.edit(job)
			res := c.Send(context.Background(), job)
			if res.Attempt.ErrorClass != hookd.ClassInvalid || res.Attempt.Error == "" {
				t.Errorf("Send = %+v, want invalid_request", res.Attempt)
			}
			if strings.Contains(res.Attempt.Error, "this-is-not") {
				t.Errorf("error %q contains the secret", res.Attempt.Error)
			}
		})
	}
	if n := len(rcv.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  webhook.Config
		want string
	}{
		{webhook.Config{ConnectTimeout: -1}, "connect timeout"},
		{webhook.Config{RequestTimeout: -1}, "request timeout"},
		{webhook.Config{MaxResponseRead: -1}, "max response read"},
		{webhook.Config{MaxIdleConnsPerHost: -1}, "idle connections"},
		{webhook.Config{IdleConnTimeout: -1}, "idle connection timeout"},
		{webhook.Config{UserAgent: "a\r\nX-Evil: 1"}, "user agent"},
		{webhook.Config{Policy: hookd.NetPolicy{Allow: []netip.Prefix{{}}}}, "allowed network 1"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want EINVALID naming %q", tt.cfg, err, tt.want)
		}
		if _, err := webhook.New(tt.cfg); err == nil {
			t.Errorf("New(%+v) succeeded", tt.cfg)
		}
	}
	if err := (webhook.Config{}).Validate(); err != nil {
		t.Errorf("the zero Config (all defaults) is invalid: %v", err)
	}
}

func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	benchmarkSend(b, srv.URL)
}

// BenchmarkSendClientOnly is BenchmarkSend against a receiver that is not
// net/http (it answers 204 from a fixed byte string), so that the allocations
// counted are the sender's alone.
func BenchmarkSendClientOnly(b *testing.B) {
	benchmarkSend(b, rawReceiver(b))
}

func benchmarkSend(b *testing.B, url string) {
	c, err := webhook.New(webhook.Config{Policy: loopback})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	job := newJob(url)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := c.Send(context.Background(), job); res.Attempt.ErrorClass != hookd.ClassNone {
				b.Errorf("Send = %+v", res.Attempt)
				return
			}
		}
	})
}

// rawReceiver serves keep-alive HTTP/1.1 POSTs with a Content-Length by
// answering each with a fixed 204, allocating nothing per request. It
// returns its URL.
func rawReceiver(tb testing.TB) string {
	tb.Helper()
	answer := []byte("HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n")
	addr := serveConns(tb, func(conn net.Conn) {
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			length := -1
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break // the blank line ending the headers
				}
				const name = "content-length:"
				if len(line) > len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
					length = 0
					for _, c := range bytes.TrimSpace(line[len(name):]) {
						if c < '0' || c > '9' {
							return
						}
						length = 10*length + int(c-'0')
					}
				}
			}
			if length < 0 {
				return
			}
			if _, err := r.Discard(length); err != nil {
				return
			}
			if _, err := conn.Write(answer); err != nil {
				return
			}
		}
	})
	return "http://" + addr + "/hook"
}

// serveConns accepts connections on a loopback port until the test ends,
// each handled by handle on its own goroutine, and returns the address.
func serveConns(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(conn)
		}
	}()
	return ln.Addr().String()
}
