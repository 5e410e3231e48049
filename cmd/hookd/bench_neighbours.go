package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/delivery"
)

// neighbours is one tenant with a large backlog to a slow receiver beside
// --neighbour-tenants tenants publishing --neighbour-rate events/s each to
// fast receivers: do the neighbours wait for the backlog? In one run, with
// one data dir, it measures the neighbours' publish→receipt latency for
// --neighbour-duration with the big tenant idle (nothing queued), then
// stops hookd, queues --neighbour-backlog deliveries to the big tenant's
// receiver (which answers in --slow-delay), starts hookd again and
// measures the same while hookd drains the backlog, and how fast it
// drains it against the receiver's pace (the per-webhook in-flight cap
// over --slow-delay). It needs an in-process hookd and its operator key.
func (b *bencher) neighbours(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" {
		return nil, errors.New("neighbours queues a backlog in an in-process hookd's store: run it without --target")
	}
	n := b.cfg.NeighbourTenants
	s, err := startSinks(sinkOptions{servers: min(n+1, 8), sinks: n + 1,
		delay: map[int]time.Duration{0: b.cfg.SlowDelay}, untimed: []int{0}})
	if err != nil {
		return nil, err
	}
	defer s.close()
	dir := b.dataDir()
	dbURL, drop, err := b.scenarioDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, drop()) }()
	t, err := startInProcess(ctx, dir, dbURL, "", b.serveFlags())
	if err != nil {
		return nil, err
	}
	stop := t.stop
	defer func() { err = errors.Join(err, stop()) }()
	// The big tenant is the one whose key hookd printed; the neighbours are
	// made through the operator API, each with one webhook.
	if _, err := t.createWebhooks(ctx, []string{s.url(0)}); err != nil {
		return nil, err
	}
	if t.operatorKey == "" {
		return nil, errors.New("neighbours: the in-process hookd printed no operator key")
	}
	op := *t
	op.key, op.tenant = t.operatorKey, ""
	ns := make([]*target, n)
	for i := range ns {
		uid := "neighbour-" + strconv.Itoa(i)
		body, _ := json.Marshal(map[string]string{"uid": uid})
		if err := op.call(ctx, http.MethodPost, "/v1/tenants", body, http.StatusCreated, nil); err != nil {
			return nil, err
		}
		as := op
		as.tenant = uid
		body, _ = json.Marshal(map[string]string{"url": s.url(i + 1)})
		if err := as.call(ctx, http.MethodPost, "/v1/webhooks", body, http.StatusCreated, nil); err != nil {
			return nil, err
		}
		ns[i] = &as
	}
	small := seqIDs(n + 1)[1:]
	perPhase := int(float64(b.cfg.NeighbourRate) * b.cfg.NeighbourDuration.Seconds())
	// Each phase is measured after a second of the same publishing, not
	// measured: the busy phase begins with a restarted hookd, whose first
	// quarter second of publishes (new connections, the first claims and
	// counts of the backlog) would otherwise be the p99 (on PostgreSQL, 249
	// of the 250 publishes of that quarter second took over 100 ms).
	warm := b.cfg.NeighbourRate
	phase := func(first int) ([3]time.Duration, error) {
		if _, err := b.neighbourPhase(ctx, s, ns, small, first, warm); err != nil {
			return [3]time.Duration{}, fmt.Errorf("warming up: %w", err)
		}
		return b.neighbourPhase(ctx, s, ns, small, first+warm, perPhase)
	}

	fmt.Fprintln(b.log, "    big tenant idle")
	idle, err := phase(0)
	if err != nil {
		return nil, fmt.Errorf("neighbours, big tenant idle: %w", err)
	}
	if err := stop(); err != nil {
		return nil, err
	}
	stop = func() error { return nil }
	fmt.Fprintf(b.log, "    queueing %d deliveries for the big tenant\n", b.cfg.NeighbourBacklog)
	qstart := time.Now()
	if err := fillQueue(ctx, dir, dbURL, t.key, b.cfg.NeighbourBacklog, newEventBody(256)); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "    queued in %.1fs; big tenant busy\n", time.Since(qstart).Seconds())
	t2, err := startInProcess(ctx, dir, dbURL, t.key, b.serveFlags())
	if err != nil {
		return nil, err
	}
	stop = t2.stop
	for _, as := range ns {
		as.base = t2.base
	}
	bigBefore, start := s.countOf([]int{0}), time.Now()
	busy, err := phase(warm + perPhase)
	bigRate := float64(s.countOf([]int{0})-bigBefore) / time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("neighbours, big tenant busy: %w", err)
	}
	if bigRate == 0 {
		return nil, errors.New("neighbours: the big tenant's backlog did not move")
	}
	pace := float64(delivery.DefaultConfig().PerWebhookInFlight) / b.cfg.SlowDelay.Seconds()
	ms = []metric{
		{Scenario: "neighbours", Name: "tenants publishing", Value: float64(n), Unit: "tenants"},
		{Scenario: "neighbours", Name: "big tenant's backlog", Value: float64(b.cfg.NeighbourBacklog), Unit: "deliveries"},
		{Scenario: "neighbours", Name: "latency p50, big idle", Value: millis(idle[0]), Unit: "ms"},
		{Scenario: "neighbours", Name: "latency p99, big idle", Value: millis(idle[1]), Unit: "ms"},
		{Scenario: "neighbours", Name: "latency p50, big busy", Value: millis(busy[0]), Unit: "ms"},
		{Scenario: "neighbours", Name: "latency p99, big busy", Value: millis(busy[1]), Unit: "ms"},
		{Scenario: "neighbours", Name: "p99 busy vs idle", Value: 100 * busy[1].Seconds() / max(idle[1].Seconds(), 1e-9), Unit: "%"},
		{Scenario: "neighbours", Name: "publish accepted p99, big idle", Value: millis(idle[2]), Unit: "ms"},
		{Scenario: "neighbours", Name: "publish accepted p99, big busy", Value: millis(busy[2]), Unit: "ms"},
		{Scenario: "neighbours", Name: "big tenant drained/s", Value: bigRate, Unit: "deliveries/s"},
		{Scenario: "neighbours", Name: "big drained vs receiver's pace", Value: 100 * bigRate / pace, Unit: "%"},
	}
	return ms, nil
}

// neighbourPhase publishes perTenant events to each tenant of ns at
// --neighbour-rate a second each (open loop, the tenants interleaved),
// numbered from first, waits until the small sinks received them all, and
// returns the p50 and p99 of their publish→receipt latency and the p99 of
// their publish→accepted (202) latency, each measured from when the event
// was due to be published: the two sides of a delay, hookd's API and
// commit, or its dispatch.
func (b *bencher) neighbourPhase(ctx context.Context, s *sinks, ns []*target, small []int, first, perTenant int) ([3]time.Duration, error) {
	var q [3]time.Duration
	accepted := new(histogram)
	total := perTenant * len(ns)
	interval := time.Second / time.Duration(b.cfg.NeighbourRate*len(ns))
	body := newEventBody(b.cfg.BodySize)
	type due struct {
		as  *target
		seq int64
		at  time.Time
	}
	work := make(chan due, total)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range max(b.cfg.Publishers, b.cfg.NeighbourRate*len(ns)/50) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for d := range work {
				buf = body.append(buf[:0], d.seq, d.at)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.as.base+"/v1/events", bytes.NewReader(buf))
				d.as.auth(req)
				req.Header.Set("Content-Type", "application/json")
				resp, err := d.as.hc.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if resp.StatusCode != http.StatusAccepted {
					firstErr.CompareAndSwap(nil, fmt.Errorf("publish: status %d", resp.StatusCode))
				}
				accepted.record(time.Since(d.at))
				drain(resp.Body)
			}
		}()
	}
	s.latencies.reset()
	s.window.Store(true)
	defer s.window.Store(false)
	stopProgress := progressLine(b.log, "neighbours", func() string {
		return fmt.Sprintf("neighbours received %d, big tenant %d, p99 so far %.1fms",
			s.countOf(small), s.countOf([]int{0}), millis(s.latencies.quantile(0.99)))
	})
	defer stopProgress()
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		work <- due{as: ns[i%len(ns)], seq: int64(first + i/len(ns)), at: at}
	}
	close(work)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return q, err
	}
	if err := awaitAll(ctx, s, small, first+perTenant, b.drainTimeout(int64(total))); err != nil {
		return q, err
	}
	return [3]time.Duration{s.latencies.quantile(0.5), s.latencies.quantile(0.99), accepted.quantile(0.99)}, nil
}
