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
)

// batchSize is how many events one request of the tenants scenario carries.
const batchSize = 100

// tenants is the producer with many customers: --batch-tenants tenants,
// each with one webhook (on the --webhooks receivers in turn), and the
// operator publishing for all of them in batches of 100 events through
// POST /v1/events/batch, each event for the next tenant. Every event makes
// one delivery; the rate is compared with the baseline's.
func (b *bencher) tenants(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" {
		return nil, errors.New("tenants needs the in-process hookd's operator key: run it without --target")
	}
	s, err := b.sinks(b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	t, err := b.newTarget(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, t.stop()) }()
	op := *t
	op.key, op.tenant = t.operatorKey, ""
	if op.key == "" {
		return nil, errors.New("tenants: the in-process hookd printed no operator key")
	}
	uids := make([]string, b.cfg.BatchTenants)
	for i := range uids {
		uids[i] = "bench-" + strconv.Itoa(i)
	}
	if err := b.makeTenants(ctx, &op, s, uids); err != nil {
		return nil, err
	}

	var seq, accepted atomic.Int64
	u := startUsage()
	stopProgress := progressLine(b.log, "tenants", func() string {
		return fmt.Sprintf("published %d, delivered %d", accepted.Load(), s.countOf(seqIDs(s.n)))
	})
	defer stopProgress()
	s.window.Store(true)
	start := time.Now()
	deadline := start.Add(b.cfg.Duration)
	body := newEventBody(b.cfg.BodySize)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range max(1, b.cfg.Publishers/8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf, req []byte
			for ctx.Err() == nil && time.Now().Before(deadline) && firstErr.Load() == nil {
				first := seq.Add(batchSize) - batchSize
				req = append(req[:0], `{"events":[`...)
				now := time.Now()
				for k := int64(0); k < batchSize; k++ {
					n := first + k
					buf = body.append(buf[:0], n, now)
					data := buf[bytes.Index(buf, []byte(`"data":`))+len(`"data":`) : len(buf)-1]
					if k > 0 {
						req = append(req, ',')
					}
					req = append(req, `{"tenant":"`...)
					req = append(req, uids[n%int64(len(uids))]...)
					req = append(req, `","type":"bench.tick","data":`...)
					req = append(req, data...)
					req = append(req, '}')
				}
				req = append(req, "]}"...)
				if err := op.call(ctx, http.MethodPost, "/v1/events/batch", req, http.StatusAccepted, nil); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				accepted.Add(batchSize)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := seqIDs(s.n)
	deliveredInWindow := s.countOf(all)
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	events := accepted.Load()
	timeout := b.drainTimeout(events)
	for d := time.Now().Add(timeout); s.countOf(all) < events; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(d) {
			return nil, fmt.Errorf("tenants: %d of %d deliveries did not arrive within %s", events-s.countOf(all), events, timeout)
		}
	}
	drained := time.Since(start)
	s.window.Store(false)
	ms = []metric{
		{Scenario: "tenants", Name: "tenants", Value: float64(len(uids)), Unit: "tenants"},
		{Scenario: "tenants", Name: "published/s", Value: float64(events) / elapsed.Seconds(), Unit: "events/s"},
		{Scenario: "tenants", Name: "delivered/s", Value: float64(deliveredInWindow) / elapsed.Seconds(), Unit: "deliveries/s"},
		{Scenario: "tenants", Name: "end-to-end delivered/s", Value: float64(events) / drained.Seconds(), Unit: "deliveries/s"},
	}
	ms = append(ms, latencyMetrics("tenants", "", &s.latencies, 0.5, 0.99)...)
	return append(ms, usageMetrics("tenants", true, u)...), nil
}

// makeTenants creates the tenants through the operator API and one webhook
// for each, acting as it, on the sinks in turn.
func (b *bencher) makeTenants(ctx context.Context, op *target, s *sinks, uids []string) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(uids))
	sem := make(chan struct{}, 16)
	for i, uid := range uids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, _ := json.Marshal(map[string]string{"uid": uid})
			if err := op.call(ctx, http.MethodPost, "/v1/tenants", body, http.StatusCreated, nil); err != nil {
				errs <- err
				return
			}
			as := *op
			as.tenant = uid
			body, _ = json.Marshal(map[string]string{"url": s.url(i % s.n)})
			if err := as.call(ctx, http.MethodPost, "/v1/webhooks", body, http.StatusCreated, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
