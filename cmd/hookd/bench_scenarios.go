package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/delivery"
)

// bencher runs the scenarios of one `hookd bench`.
type bencher struct {
	cfg benchConfig
	log io.Writer
	n   int // data dirs made
}

func (b *bencher) run(ctx context.Context, name string) ([]metric, error) {
	switch name {
	case "baseline":
		return b.baseline(ctx)
	case "throughput":
		return b.throughput(ctx)
	case "latency":
		return b.latency(ctx)
	case "fanout":
		return b.fanout(ctx)
	case "isolation":
		return b.isolation(ctx)
	case "backlog":
		return b.backlog(ctx)
	case "growth":
		return b.growth(ctx)
	case "tenants":
		return b.tenants(ctx)
	case "neighbours":
		return b.neighbours(ctx)
	case "crowd":
		return b.crowd(ctx)
	case "instances":
		return b.instances(ctx)
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// serveFlags are the in-process hookd's flags beyond the defaults: retries
// come within a second (so that --fail-share scenarios end), and the
// operator's own --serve-flag values win.
func (b *bencher) serveFlags() []string {
	return append([]string{"--retry-schedule", "100ms,200ms,400ms,800ms", "--retry-jitter", "0"}, b.cfg.ServeFlags...)
}

// dataDir is a fresh directory for one in-process hookd.
func (b *bencher) dataDir() string {
	b.n++
	return fmt.Sprintf("%s/%02d", b.cfg.WorkDir, b.n)
}

// scenarioDatabase is the database for one in-process hookd and what comes
// after it in the scenario: "" (SQLite, in the hookd's fresh data dir)
// without --database-url, else a fresh database on that server, which drop
// removes. Every run then starts empty on either store; a run on the
// server's own database would inherit every earlier run's rows.
func (b *bencher) scenarioDatabase(ctx context.Context) (url string, drop func() error, err error) {
	if b.cfg.DatabaseURL == "" {
		return "", func() error { return nil }, nil
	}
	return freshDatabase(ctx, b.cfg.DatabaseURL)
}

// newTarget starts a fresh in-process hookd, or connects to --target.
func (b *bencher) newTarget(ctx context.Context) (*target, error) {
	if b.cfg.Target != "" {
		t := &target{base: strings.TrimRight(b.cfg.Target, "/"), key: b.cfg.Key, hc: newBenchClient(512)}
		return t, b.chooseAPI(ctx, t, "", "")
	}
	dir := b.dataDir()
	dbURL, drop, err := b.scenarioDatabase(ctx)
	if err != nil {
		return nil, err
	}
	t, err := startInProcess(ctx, dir, dbURL, "", b.serveFlags())
	if err != nil {
		return nil, errors.Join(err, drop())
	}
	stop := t.stop
	t.stop = func() error { return errors.Join(stop(), drop()) }
	if b.cfg.AsOperator {
		if err := t.actAsOperator(ctx); err != nil {
			_ = t.stop()
			return nil, err
		}
	}
	if err := b.chooseAPI(ctx, t, dir, dbURL); err != nil {
		return nil, errors.Join(err, t.stop())
	}
	return t, nil
}

// rig starts n receivers (hung ones never answer) and a hookd with one
// webhook per receiver. done stops them, or on a --target hookd removes the
// webhooks the scenario made.
func (b *bencher) rig(ctx context.Context, n int, hung ...int) (s *sinks, t *target, done func() error, err error) {
	if s, err = b.sinks(n, hung...); err != nil {
		return nil, nil, nil, err
	}
	if t, err = b.newTarget(ctx); err != nil {
		s.close()
		return nil, nil, nil, err
	}
	if n > 100 {
		fmt.Fprintf(b.log, "    creating %d webhooks\n", n)
	}
	hooks, err := t.createWebhooks(ctx, sinkURLs(s))
	done = func() error {
		defer s.close()
		if t.stop != nil {
			return t.stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		t.deleteWebhooks(ctx, hooks)
		return nil
	}
	if err != nil {
		return nil, nil, nil, errors.Join(err, done())
	}
	return s, t, done, nil
}

func (b *bencher) sinks(n int, hung ...int) (*sinks, error) {
	return startSinks(sinkOptions{
		servers: min(n, b.cfg.Webhooks), sinks: n, hung: hung,
		failShare: b.cfg.FailShare, slowShare: b.cfg.SlowShare, slowDelay: b.cfg.SlowDelay,
	})
}

func sinkURLs(s *sinks) []string {
	urls := make([]string, s.n)
	for i := range urls {
		urls[i] = s.url(i)
	}
	return urls
}

func seqIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func latencyMetrics(scenario, prefix string, h *histogram, qs ...float64) []metric {
	var out []metric
	for _, q := range qs {
		name := fmt.Sprintf("%slatency p%g", prefix, q*100)
		if q == 1 {
			name = prefix + "latency max"
		}
		out = append(out, metric{Scenario: scenario, Name: name, Value: millis(h.quantile(q)), Unit: "ms"})
	}
	return out
}

func usageMetrics(scenario string, inProcess bool, u *resourceUse) []metric {
	cpu, peak := u.end()
	if !inProcess {
		return nil
	}
	return []metric{
		{Scenario: scenario, Name: "cpu", Value: cpu.Seconds(), Unit: "s"},
		{Scenario: scenario, Name: "peak rss", Value: float64(peak >> 20), Unit: "MiB"},
	}
}

// baseline posts delivery-sized bodies straight to the receivers with a
// plain keep-alive client at full speed: the most this machine can deliver.
func (b *bencher) baseline(ctx context.Context) ([]metric, error) {
	s, err := b.sinks(b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	body := newEventBody(b.cfg.BodySize)
	hc := newBenchClient(b.cfg.BaselineConns)
	seqs := make([]atomic.Int64, s.n)
	u := startUsage()
	stopProgress := progressLine(b.log, "baseline", func() string {
		return fmt.Sprintf("delivered %d", s.received.Load())
	})
	s.window.Store(true)
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(b.cfg.Duration))
	defer cancel()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for g := range b.cfg.BaselineConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := g; ctx.Err() == nil; i++ {
				sink := i % s.n
				seq := seqs[sink].Add(1) - 1
				buf = appendDelivery(buf[:0], body, seq, time.Now())
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url(sink), bytes.NewReader(buf))
				deliveryHeaders(req.Header, seq)
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				drain(resp.Body)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.window.Store(false)
	stopProgress()
	delivered := s.inWindow.Load()
	out := []metric{{Scenario: "baseline", Name: "delivered/s", Value: float64(delivered) / elapsed.Seconds(), Unit: "deliveries/s"}}
	out = append(out, latencyMetrics("baseline", "", &s.latencies, 0.5, 0.99)...)
	out = append(out, usageMetrics("baseline", true, u)...)
	if err, _ := firstErr.Load().(error); err != nil {
		return out, fmt.Errorf("baseline request failed: %w", err)
	}
	if delivered == 0 {
		return out, errors.New("baseline delivered nothing")
	}
	return out, nil
}

// appendDelivery is the body hookd would deliver for the event: the
// Standard Webhooks envelope around the event's data.
func appendDelivery(dst []byte, e eventBody, seq int64, sent time.Time) []byte {
	dst = append(dst, `{"id":"msg_01jd3k2x0s5v6y7z8a9b0c1d2e","type":"bench.tick","timestamp":`...)
	dst = fmt.Appendf(dst, "%d", sent.Unix())
	dst = append(dst, `,"data":`...)
	ev := e.append(nil, seq, sent)
	// ev is {"type":…,"data":{…}}: keep the data object.
	ev = ev[bytes.Index(ev, []byte(`"data":`))+len(`"data":`) : len(ev)-1]
	dst = append(dst, ev...)
	return append(dst, '}')
}

// deliveryHeaders are headers of the size hookd sends (no signing work).
func deliveryHeaders(h http.Header, seq int64) {
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{"hookd/" + hookd.Version}
	h["Webhook-Id"] = []string{fmt.Sprintf("msg_%026d", seq)}
	h["Webhook-Timestamp"] = []string{"1700000000"}
	h["Webhook-Signature"] = []string{"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}
}

// flood publishes from cfg.Publishers goroutines until the deadline,
// numbering events from seq, and counts those accepted. Publisher i sends
// to ts[i % len(ts)]. A request under way at the deadline is finished, not
// cut off, so that every number taken is an accepted event (or the
// returned error).
func (b *bencher) flood(ctx context.Context, ts []*target, deadline time.Time, seq, accepted *atomic.Int64) error {
	body := newEventBody(b.cfg.BodySize)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := range b.cfg.Publishers {
		t := ts[i%len(ts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil && time.Now().Before(deadline) && firstErr.Load() == nil {
				if err := t.publish(ctx, &buf, body, seq.Add(1)-1); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	err, _ := firstErr.Load().(error)
	return err
}

// awaitAll waits until the given sinks received events [0, events) or the
// deadline passes.
func awaitAll(ctx context.Context, s *sinks, ids []int, events int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := s.missing(ids, events)
		if left <= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d deliveries did not arrive within %s", left, len(ids)*events, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// drainTimeout is how long a scenario waits for its backlog after publishing.
func (b *bencher) drainTimeout(deliveries int64) time.Duration {
	return max(30*time.Second, time.Duration(deliveries/500)*time.Second)
}

// throughput publishes at full speed to webhooks that all receive every
// event, then waits for every delivery.
func (b *bencher) throughput(ctx context.Context) ([]metric, error) {
	return b.floodScenario(ctx, "throughput", nil)
}

// isolation is throughput with one receiver that never answers: the
// others should not notice.
func (b *bencher) isolation(ctx context.Context) ([]metric, error) {
	return b.floodScenario(ctx, "isolation", []int{0})
}

func (b *bencher) floodScenario(ctx context.Context, name string, hung []int) (ms []metric, err error) {
	s, t, done, err := b.rig(ctx, b.cfg.Webhooks, hung...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	healthy := seqIDs(s.n)[len(hung):]

	var seq, accepted atomic.Int64
	u := startUsage()
	stopProgress := progressLine(b.log, name, func() string {
		return fmt.Sprintf("published %d, delivered %d", accepted.Load(), s.countOf(healthy))
	})
	defer stopProgress()
	s.window.Store(true)
	start := time.Now()
	ferr := b.flood(ctx, []*target{t}, start.Add(b.cfg.Duration), &seq, &accepted)
	elapsed := time.Since(start)
	deliveredInWindow := s.countOf(healthy)
	if ferr != nil {
		return nil, ferr
	}
	events := int(seq.Load())
	drainStart := time.Now()
	werr := awaitAll(ctx, s, healthy, events, b.drainTimeout(int64(events*len(healthy))))
	drained := time.Since(start)
	s.window.Store(false)
	rate := float64(deliveredInWindow) / elapsed.Seconds()
	pre := ""
	if len(hung) > 0 {
		pre = "healthy "
	}
	ms = []metric{
		{Scenario: name, Name: "published/s", Value: float64(accepted.Load()) / elapsed.Seconds(), Unit: "events/s"},
		{Scenario: name, Name: pre + "delivered/s", Value: rate, Unit: "deliveries/s"},
		{Scenario: name, Name: pre + "delivered/s per webhook", Value: rate / float64(len(healthy)), Unit: "deliveries/s/webhook"},
		{Scenario: name, Name: "end-to-end delivered/s", Value: float64(s.countOf(healthy)) / drained.Seconds(), Unit: "deliveries/s"},
		{Scenario: name, Name: "drain after publishing", Value: time.Since(drainStart).Seconds(), Unit: "s"},
	}
	ms = append(ms, latencyMetrics(name, pre, &s.latencies, 0.5, 0.95, 0.99)...)
	ms = append(ms, usageMetrics(name, t.stop != nil, u)...)
	if werr == nil && s.dupes.Load() > 0 {
		ms = append(ms, metric{Scenario: name, Name: "duplicates", Value: float64(s.dupes.Load()), Unit: "deliveries"})
	}
	return ms, werr
}

// latencyWarmup is how long latency publishes before the events it measures.
const latencyWarmup = time.Second

// latency publishes at a fixed rate (open loop: each event is due at its
// time whether or not the previous answered) and measures each receipt
// from the moment its event was due. It publishes for one second more than
// --latency-duration: the first second, when the fresh hookd opens its
// connections and warms its caches, is reported on its own, and the
// latencies are those of the events due after it.
func (b *bencher) latency(ctx context.Context) (ms []metric, err error) {
	s, t, done, err := b.rig(ctx, b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	total := int(float64(b.cfg.LatencyRate) * (latencyWarmup + b.cfg.LatencyDuration).Seconds())
	interval := time.Second / time.Duration(b.cfg.LatencyRate)
	body := newEventBody(b.cfg.BodySize)
	type due struct {
		seq int64
		at  time.Time
	}
	work := make(chan due, total)
	var accepted, late atomic.Int64
	var warmUntil time.Time
	acceptance := new(histogram)
	// Where the tail was: the seconds whose events took over 50 ms (the
	// target of issue 16) to be accepted, or to arrive.
	slowAccepts, slowReceipts := newSlowSeconds(50*time.Millisecond), newSlowSeconds(50*time.Millisecond)
	s.slow = slowReceipts
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range max(b.cfg.Publishers, b.cfg.LatencyRate/50) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for d := range work {
				if time.Since(d.at) > 10*time.Millisecond {
					late.Add(1)
				}
				buf = body.append(buf[:0], d.seq, d.at)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/events", bytes.NewReader(buf))
				req.Header.Set("Authorization", "Bearer "+t.key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := t.hc.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if resp.StatusCode != http.StatusAccepted {
					firstErr.CompareAndSwap(nil, fmt.Errorf("publish: status %d", resp.StatusCode))
				} else {
					accepted.Add(1)
					if !d.at.Before(warmUntil) {
						acceptance.record(time.Since(d.at))
						slowAccepts.record(d.at, time.Since(d.at))
					}
				}
				drain(resp.Body)
			}
		}()
	}
	u := startUsage()
	stopProgress := progressLine(b.log, "latency", func() string {
		return fmt.Sprintf("published %d, delivered %d, p99 so far %.1fms", accepted.Load(), s.received.Load(), millis(s.latencies.quantile(0.99)))
	})
	defer stopProgress()
	start := time.Now()
	warmUntil = start.Add(latencyWarmup)
	s.warmUntil.Store(warmUntil.UnixNano())
	defer s.warmUntil.Store(0)
	s.window.Store(true)
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		work <- due{seq: int64(i), at: at}
	}
	close(work)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	werr := awaitAll(ctx, s, seqIDs(s.n), total, b.drainTimeout(int64(total*s.n)))
	s.window.Store(false)
	fmt.Fprintf(b.log, "    measured from %s (UTC), after %s of warm-up\n", warmUntil.UTC().Format("15:04:05.000"), latencyWarmup)
	fmt.Fprintf(b.log, "    accepted after more than 50 ms, by the second due (UTC): %s\n", slowAccepts)
	fmt.Fprintf(b.log, "    received after more than 50 ms, by the second due (UTC): %s\n", slowReceipts)
	ms = []metric{
		{Scenario: "latency", Name: "published/s", Value: float64(accepted.Load()) / (latencyWarmup + b.cfg.LatencyDuration).Seconds(), Unit: "events/s"},
		{Scenario: "latency", Name: "sent >10ms late", Value: float64(late.Load()), Unit: "events"},
	}
	ms = append(ms, latencyMetrics("latency", "", &s.latencies, 0.5, 0.99, 1)...)
	ms = append(ms,
		metric{Scenario: "latency", Name: "publish accepted p99", Value: millis(acceptance.quantile(0.99)), Unit: "ms"},
		metric{Scenario: "latency", Name: "first second's p99", Value: millis(s.warming.quantile(0.99)), Unit: "ms"},
		metric{Scenario: "latency", Name: "seconds with a receipt > 50 ms", Value: float64(slowReceipts.seconds()), Unit: "s"})
	ms = append(ms, usageMetrics("latency", t.stop != nil, u)...)
	return ms, werr
}

// fanout publishes one event to FanoutWebhooks webhooks.
func (b *bencher) fanout(ctx context.Context) (ms []metric, err error) {
	s, t, done, err := b.rig(ctx, b.cfg.FanoutWebhooks)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	u := startUsage()
	stopProgress := progressLine(b.log, "fanout", func() string { return fmt.Sprintf("delivered %d of %d", s.received.Load(), s.n) })
	defer stopProgress()
	s.window.Store(true)
	start := time.Now()
	var buf []byte
	if err := t.publish(ctx, &buf, newEventBody(b.cfg.BodySize), 0); err != nil {
		return nil, err
	}
	accept := time.Since(start)
	werr := awaitAll(ctx, s, seqIDs(s.n), 1, b.drainTimeout(int64(s.n)))
	all := time.Since(start)
	s.window.Store(false)
	ms = []metric{
		{Scenario: "fanout", Name: "webhooks", Value: float64(s.n), Unit: ""},
		{Scenario: "fanout", Name: "accepted in", Value: millis(accept), Unit: "ms"},
		{Scenario: "fanout", Name: "all delivered in", Value: all.Seconds(), Unit: "s"},
		{Scenario: "fanout", Name: "delivered/s", Value: float64(s.received.Load()) / all.Seconds(), Unit: "deliveries/s"},
	}
	ms = append(ms, usageMetrics("fanout", t.stop != nil, u)...)
	return ms, werr
}

// backlog queues BacklogEvents × Webhooks deliveries while no dispatcher
// runs — the receivers are, in effect, down — then starts hookd and
// measures how fast it drains them and how much memory that takes.
//
// The queue is filled through the store's PublishEvents (what the API's
// group commit calls), with hookd stopped: a receiver outage through a
// running hookd would spend the outage on failed attempts and retry
// timers, which is a different measurement (and one the retry schedule,
// not hookd, decides). It needs an in-process hookd.
func (b *bencher) backlog(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" {
		fmt.Fprintln(b.log, "    skipped: backlog fills the queue of an in-process hookd while it is stopped")
		return nil, nil
	}
	s, err := b.sinks(b.cfg.Webhooks)
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
	if _, err := t.createWebhooks(ctx, sinkURLs(s)); err != nil {
		return nil, errors.Join(err, t.stop())
	}
	if err := t.stop(); err != nil {
		return nil, err
	}

	fmt.Fprintf(b.log, "    queueing %d deliveries\n", b.cfg.BacklogEvents*s.n)
	qstart := time.Now()
	if err := fillQueue(ctx, dir, dbURL, t.key, b.cfg.BacklogEvents, newEventBody(b.cfg.BodySize)); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "    queued in %.1fs\n", time.Since(qstart).Seconds())

	total := b.cfg.BacklogEvents * s.n
	u := startUsage()
	stopProgress := progressLine(b.log, "backlog", func() string { return fmt.Sprintf("delivered %d of %d", s.received.Load(), total) })
	defer stopProgress()
	start := time.Now()
	t, err = startInProcess(ctx, dir, dbURL, t.key, b.serveFlags())
	if err != nil {
		return nil, err
	}
	werr := awaitAll(ctx, s, seqIDs(s.n), b.cfg.BacklogEvents, b.drainTimeout(int64(total)))
	elapsed := time.Since(start)
	ms = []metric{
		{Scenario: "backlog", Name: "deliveries", Value: float64(total), Unit: ""},
		{Scenario: "backlog", Name: "drained/s", Value: float64(s.received.Load()) / elapsed.Seconds(), Unit: "deliveries/s"},
		{Scenario: "backlog", Name: "drained in", Value: elapsed.Seconds(), Unit: "s"},
	}
	ms = append(ms, usageMetrics("backlog", true, u)...)
	return ms, errors.Join(werr, t.stop())
}

// fillQueue publishes events straight into the store of a stopped hookd,
// in batches as the group commit would make them. The event's sent time is
// the moment it was queued. It returns once the fill is on disk: it
// dirtied hundreds of megabytes of page cache, which the kernel would
// otherwise write back about 30 s later, in the measured phase that
// follows — on PostgreSQL every commit's WAL flush then waited behind them
// (0.25 to 0.7 s stalls in about half the runs of neighbours).
func fillQueue(ctx context.Context, dataDir, databaseURL, key string, events int, body eventBody) error {
	c := defaultConfig()
	c.DataDir, c.DatabaseURL = dataDir, databaseURL
	st, err := openStore(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	scope, err := tenantsOf(st).Authenticate(ctx, key)
	if err != nil {
		return fmt.Errorf("backlog: %w", err)
	}
	const batch = delivery.DefaultMaxBatch
	var buf []byte
	for i := 0; i < events; i += batch {
		reqs := make([]hookd.PublishRequest, 0, batch)
		now := time.Now()
		for seq := i; seq < min(i+batch, events); seq++ {
			buf = body.append(buf[:0], int64(seq), now)
			data := buf[bytes.Index(buf, []byte(`"data":`))+len(`"data":`) : len(buf)-1]
			reqs = append(reqs, hookd.PublishRequest{Scope: scope, Event: &hookd.Event{
				Type: "bench.tick", Data: bytes.Clone(data), CreatedAt: now,
			}})
		}
		res, err := st.PublishEvents(ctx, reqs)
		if err != nil {
			return fmt.Errorf("backlog: %w", err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("backlog: %w", r.Err)
			}
		}
	}
	if databaseURL != "" {
		// A backlog that built up over a receiver's outage has been
		// vacuumed and analyzed as it grew; this one was written in under
		// a minute, and left to autovacuum, the first vacuum and analyze
		// of its million rows (14 s at ~28 MB/s, then a read of 90 MB/s)
		// would land inside the measurement in some runs and not others.
		conn, err := connectPG(ctx, databaseURL)
		if err != nil {
			return fmt.Errorf("backlog: %w", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) deliveries, events, queue"); err != nil {
			return fmt.Errorf("backlog: vacuum: %w", err)
		}
	}
	syscall.Sync()
	return nil
}
