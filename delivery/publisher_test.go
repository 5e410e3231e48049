package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// countingEvents is the real store counting PublishEvents calls; the first
// call waits for hold to close, so that the rest pile up behind it.
type countingEvents struct {
	hookd.EventStore
	calls    atomic.Int64
	held     atomic.Int64 // requests in the held call
	hold     chan struct{}
	holdOnce sync.Once
}

func newCountingEvents(t *testing.T, events hookd.EventStore) *countingEvents {
	c := &countingEvents{EventStore: events, hold: make(chan struct{})}
	t.Cleanup(c.release) // before the publisher's Stop, which waits for the held call
	return c
}

func (c *countingEvents) release() { c.holdOnce.Do(func() { close(c.hold) }) }

func (c *countingEvents) PublishEvents(ctx context.Context, reqs []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	if c.calls.Add(1) == 1 {
		c.held.Store(int64(len(reqs)))
		<-c.hold
	}
	return c.EventStore.PublishEvents(ctx, reqs)
}

func startPublisher(t *testing.T, events hookd.EventStore, opts PublisherOptions) *Publisher {
	t.Helper()
	p, err := NewPublisher(events, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func (p *Publisher) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.webhook("https://example.com/hook", nil)
	var commits atomic.Int64
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	events := newCountingEvents(t, h.db)
	p := startPublisher(t, events, PublisherOptions{OnCommit: func() { commits.Add(1) }, Metrics: m})

	const n = 200
	var wg sync.WaitGroup
	results := make([]hookd.PublishResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = p.Publish(context.Background(), hookd.PublishRequest{Scope: h.scope, Event: &hookd.Event{
				ID: fmt.Sprintf("evt_%03d", i), Type: "order.created", Data: json.RawMessage(`{}`),
			}})
		})
	}
	// The first batch is committing (held); the other requests queue behind it.
	waitFor(t, "the requests to queue", func() bool {
		return events.calls.Load() == 1 && int(events.held.Load())+p.queued() == n
	})
	events.release()
	wg.Wait()

	for i := range n {
		if errs[i] != nil {
			t.Fatalf("publish %d: %v", i, errs[i])
		}
		if want := fmt.Sprintf("evt_%03d", i); results[i].Event == nil || results[i].Event.ID != want || results[i].Deliveries != 1 {
			t.Errorf("publish %d answered %+v, want event %s with 1 delivery", i, results[i], want)
		}
	}
	// The held batch, then everything that queued meanwhile (n < MaxBatch).
	if got := events.calls.Load(); got != 2 {
		t.Errorf("PublishEvents called %d times for %d requests, want 2", got, n)
	}
	if got := commits.Load(); got != 2 {
		t.Errorf("OnCommit called %d times, want 2", got)
	}
	if got := gathered(t, reg, "hookd_publish_batch_size"); got != 2 {
		t.Errorf("hookd_publish_batch_size observed %v batches, want 2", got)
	}
	if got := gathered(t, reg, "hookd_events_published_total"); got != n {
		t.Errorf("hookd_events_published_total = %v, want %d", got, n)
	}
}

// gathered returns the value of a counter or gauge, or the sample count of a histogram.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestPublishAnswersPerRequestErrorsToTheirCallerOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := startPublisher(t, h.db, PublisherOptions{})
	ctx := context.Background()
	req := func(data string) hookd.PublishRequest {
		return hookd.PublishRequest{Scope: h.scope, Event: &hookd.Event{ID: "evt_1", Type: "order.created", Data: json.RawMessage(data)}}
	}
	if _, err := p.Publish(ctx, req(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	res, err := p.Publish(ctx, req(`{"a":1}`))
	if err != nil || !res.Replayed {
		t.Errorf("same id, same body = %+v, %v; want a replay", res, err)
	}
	if _, err := p.Publish(ctx, req(`{"a":2}`)); hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Errorf("same id, other body: err = %v, want conflict", err)
	}
}

type failingEvents struct{ hookd.EventStore }

func (failingEvents) PublishEvents(context.Context, []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	return nil, errors.New("disk on fire")
}

func TestPublishBatchErrorGoesToEveryCaller(t *testing.T) {
	t.Parallel()
	p := startPublisher(t, failingEvents{}, PublisherOptions{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := p.Publish(context.Background(), hookd.PublishRequest{Event: &hookd.Event{Type: "x"}})
			if err == nil || !strings.Contains(err.Error(), "disk on fire") {
				t.Errorf("err = %v, want the batch error", err)
			}
		})
	}
	wg.Wait()
}

// TestPublishQueueIsBounded holds a batch in the store while publishes pile
// up behind it: once MaxPending wait, one more is refused at once
// (EUNAVAILABLE) and never committed; those that waited all commit.
func TestPublishQueueIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	events := newCountingEvents(t, h.db)
	p := startPublisher(t, events, PublisherOptions{MaxBatch: 2, MaxPending: 3})
	reqs := h.publishRequests(5, "order.created")
	errs := make(chan error, 4)
	go func() {
		_, err := p.Publish(context.Background(), reqs[0])
		errs <- err
	}()
	waitFor(t, "the first batch", func() bool { return events.calls.Load() == 1 })
	for _, r := range reqs[1:4] {
		go func() {
			_, err := p.Publish(context.Background(), r)
			errs <- err
		}()
	}
	waitFor(t, "three publishes to wait", func() bool { return p.queued() == 3 })
	if _, err := p.Publish(context.Background(), reqs[4]); hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
		t.Fatalf("a publish over the bound: err = %v, want EUNAVAILABLE", err)
	}
	events.release()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	evs, err := services(h.db).Events.FindEvents(context.Background(), h.scope, hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Errorf("committed %d events, want the 4 that were queued", len(evs))
	}
}

func TestPublishRespectsTheCallersContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	events := newCountingEvents(t, h.db)
	p := startPublisher(t, events, PublisherOptions{})
	first := make(chan error, 1)
	go func() {
		_, err := p.Publish(context.Background(), h.publishRequests(1, "order.created")[0])
		first <- err
	}()
	waitFor(t, "the first batch", func() bool { return events.calls.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Publish(ctx, h.publishRequests(1, "order.created")[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled publish: err = %v, want context.Canceled", err)
	}
	events.release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The cancelled request, still queued when its caller left, was not committed.
	evs, err := services(h.db).Events.FindEvents(context.Background(), h.scope, hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("committed %d events, want 1", len(evs))
	}
}

func TestPublisherStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p, err := NewPublisher(h.db, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), h.publishRequests(1, "a.b")[0]); hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
		t.Errorf("publish before start: err = %v, want unavailable", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	p.Stop()
	if _, err := p.Publish(context.Background(), h.publishRequests(1, "a.b")[0]); hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
		t.Errorf("publish after stop: err = %v, want unavailable", err)
	}
	if _, err := NewPublisher(h.db, PublisherOptions{MaxBatch: -1}); hookd.ErrorCode(err) != hookd.EINVALID {
		t.Errorf("negative batch: err = %v, want invalid", err)
	}
}

// handoffEvents is the real store as a HandoffStore that takes nothing.
type handoffEvents struct{ hookd.EventStore }

func (e handoffEvents) PublishEventsHandoff(ctx context.Context, reqs []hookd.PublishRequest, _ hookd.Handoff) ([]hookd.PublishResult, []*hookd.Job, error) {
	res, err := e.PublishEvents(ctx, reqs)
	return res, nil, err
}

// answeredFirst is a Handoffer whose hand-over notes whether the publish's
// caller had its answer by then, waiting a while for it.
type answeredFirst struct {
	answered, handedOver chan struct{}
	first                atomic.Bool
}

func (a *answeredFirst) Handoff() (hookd.Handoff, func([]*hookd.Job)) {
	return hookd.Handoff{Take: func(string) bool { return false }}, func([]*hookd.Job) {
		select {
		case <-a.answered:
			a.first.Store(true)
		case <-time.After(5 * time.Second):
		}
		close(a.handedOver)
	}
}

// A batch's callers get their answers before its deliveries go to the
// workers: a handoff wakes a worker per delivery, and callers woken after
// them waited behind them all for a core.
func TestPublishAnswersBeforeHandingOver(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.webhook("https://example.com/hook", nil)
	a := &answeredFirst{answered: make(chan struct{}), handedOver: make(chan struct{})}
	p := startPublisher(t, handoffEvents{h.db}, PublisherOptions{Handoff: a})
	if _, err := p.Publish(context.Background(), hookd.PublishRequest{Scope: h.scope, Event: &hookd.Event{
		Type: "order.created", Data: json.RawMessage(`{}`),
	}}); err != nil {
		t.Fatal(err)
	}
	close(a.answered)
	<-a.handedOver
	if !a.first.Load() {
		t.Error("the batch was handed over before its caller had its answer")
	}
}
