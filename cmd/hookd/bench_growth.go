package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// growth is the shape in which PostgreSQL's queue once stalled (issue 16):
// a store that grows from empty under load. On a fresh database (SQLite: a
// fresh data dir) hookd idles for --growth-idle while the machine is busy,
// then takes --growth-rate events/s for --growth-phase, then --publishers
// publish at full speed for --growth-phase; the bench then waits for the
// backlog. On PostgreSQL it runs ANALYZE halfway through the slow phase
// (--growth-analyze), as autovacuum happened to in the stalled runs: the
// statistics then say that nothing is pending just before a backlog forms,
// and left to autovacuum's schedule (a visit a minute, at an offset of its
// own) whether a run meets that history is luck. It reports the delivery rate of each phase, the drain rate after
// publishing, and the slowest second while a backlog stood: a plan gone
// bad on stale statistics shows as that second falling to a few hundred
// deliveries, and the drain giving up. It needs an in-process hookd.
func (b *bencher) growth(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" {
		fmt.Fprintln(b.log, "    skipped: growth needs a fresh database, so an in-process hookd")
		return nil, nil
	}
	dbURL, drop, err := b.scenarioDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, drop()) }()
	s, err := b.sinks(b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	t, err := startInProcess(ctx, b.dataDir(), dbURL, "", b.serveFlags())
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, t.stop()) }()
	if _, err := t.createWebhooks(ctx, sinkURLs(s)); err != nil {
		return nil, err
	}

	var seq, accepted atomic.Int64
	tl := startTimeline(s, &accepted)
	u := startUsage()
	stopProgress := progressLine(b.log, "growth", func() string {
		return fmt.Sprintf("published %d, delivered %d", accepted.Load(), s.received.Load())
	})
	defer stopProgress()

	burnCPU(b.cfg.GrowthIdle)
	fmt.Fprintf(b.log, "    idle %s with the CPUs busy\n", b.cfg.GrowthIdle)

	body := newEventBody(b.cfg.BodySize)
	phase := func(name string, publish func() error) (published, delivered float64, err error) {
		a0, r0, start := accepted.Load(), s.received.Load(), time.Now()
		err = publish()
		el := time.Since(start).Seconds()
		published, delivered = float64(accepted.Load()-a0)/el, float64(s.received.Load()-r0)/el
		fmt.Fprintf(b.log, "    %s: published %.0f events/s, delivered %.0f deliveries/s, %d left\n",
			name, published, delivered, accepted.Load()*int64(s.n)-s.received.Load())
		return published, delivered, err
	}
	slowPub, slowDel, err := phase("slow phase", func() (err error) {
		if dbURL != "" && b.cfg.GrowthAnalyze {
			analyzed := make(chan error, 1)
			time.AfterFunc(b.cfg.GrowthPhase/2, func() { analyzed <- analyze(ctx, dbURL) })
			defer func() { err = errors.Join(err, <-analyzed) }()
		}
		return pace(ctx, t, body, b.cfg.GrowthRate, b.cfg.GrowthPhase, &seq, &accepted)
	})
	if err != nil {
		return nil, err
	}
	fastPub, fastDel, err := phase("full-speed phase", func() error {
		return b.flood(ctx, []*target{t}, time.Now().Add(b.cfg.GrowthPhase), &seq, &accepted)
	})
	if err != nil {
		return nil, err
	}

	backlog := accepted.Load()*int64(s.n) - s.received.Load()
	drainStart := time.Now()
	werr := awaitOrStall(ctx, s, int(seq.Load()))
	drained := time.Since(drainStart)
	samples := tl.stop()
	fmt.Fprintf(b.log, "    drain: %d deliveries in %.1fs\n", backlog, drained.Seconds())

	ms = []metric{
		{Scenario: "growth", Name: "slow published/s", Value: slowPub, Unit: "events/s"},
		{Scenario: "growth", Name: "slow delivered/s", Value: slowDel, Unit: "deliveries/s"},
		{Scenario: "growth", Name: "full-speed published/s", Value: fastPub, Unit: "events/s"},
		{Scenario: "growth", Name: "full-speed delivered/s", Value: fastDel, Unit: "deliveries/s"},
		{Scenario: "growth", Name: "drain delivered/s", Value: float64(backlog) / drained.Seconds(), Unit: "deliveries/s"},
		{Scenario: "growth", Name: "drain after publishing", Value: drained.Seconds(), Unit: "s"},
	}
	if slowest, ok := slowestBusySecond(samples); ok {
		ms = append(ms, metric{Scenario: "growth", Name: "slowest second with a backlog", Value: slowest, Unit: "deliveries/s"})
	}
	ms = append(ms, usageMetrics("growth", true, u)...)
	return ms, werr
}

// freshDatabase creates an empty database on the server at base and returns
// its URL; drop removes it, ending any connection left to it.
func freshDatabase(ctx context.Context, base string) (fresh string, drop func() error, err error) {
	name := fmt.Sprintf("hookd_bench_%d", time.Now().UnixNano())
	admin := func(ctx context.Context, sql string) error {
		conn, err := connectPG(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create a fresh database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// connectPG opens one connection to the database at url, which may carry
// the pool's settings (pool_max_conns and the rest, which hookd serve
// reads): pgx.Connect refuses those as unknown server parameters.
func connectPG(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// analyze runs ANALYZE on the database at url.
func analyze(ctx context.Context, url string) error {
	conn, err := connectPG(ctx, url)
	if err != nil {
		return fmt.Errorf("growth: analyze: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("growth: analyze: %w", err)
	}
	return nil
}

// burnCPU keeps every CPU busy for d, as other work on the machine would.
func burnCPU(d time.Duration) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; time.Now().Before(deadline); x++ {
				if x%1_000_000 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
}

// pace publishes rate events a second for d (open loop: each is due at its
// time whatever the previous answers), numbering them from seq.
func pace(ctx context.Context, t *target, body eventBody, rate int, d time.Duration, seq, accepted *atomic.Int64) error {
	due := make(chan struct{}, rate)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range max(4, rate/50) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for range due {
				if err := t.publish(ctx, &buf, body, seq.Add(1)-1); err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	start, interval := time.Now(), time.Second/time.Duration(rate)
	for at := start; at.Sub(start) < d && ctx.Err() == nil && firstErr.Load() == nil; at = at.Add(interval) {
		time.Sleep(time.Until(at))
		due <- struct{}{}
	}
	close(due)
	wg.Wait()
	err, _ := firstErr.Load().(error)
	return err
}

// stallFloor is the delivery rate under which the drain gives up: ten
// seconds below it, with deliveries left, is a stall, not a slow machine
// (PostgreSQL on two cores drains at about 10,000/s).
const stallFloor = 1000

// awaitOrStall waits until every sink received events [0, events), and
// fails when ten seconds pass with fewer than stallFloor deliveries a second
// (or, with fewer left than that, without delivering them all).
func awaitOrStall(ctx context.Context, s *sinks, events int) error {
	ids := seqIDs(s.n)
	type mark struct {
		at   time.Time
		left int
	}
	var marks []mark
	for {
		left := s.missing(ids, events)
		if left <= 0 {
			return nil
		}
		now := time.Now()
		marks = append(marks, mark{now, left})
		for len(marks) > 1 && now.Sub(marks[1].at) >= 10*time.Second {
			marks = marks[1:]
		}
		w, done := now.Sub(marks[0].at), marks[0].left-left
		if w >= 10*time.Second && float64(done) < min(stallFloor*w.Seconds(), float64(marks[0].left)) {
			return fmt.Errorf("delivery stalled: %d of %d deliveries left, %.0f/s over the last %.0fs",
				left, events*s.n, float64(done)/w.Seconds(), w.Seconds())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// timeline samples, once a second, how many deliveries were received and
// how many were owed (accepted events × sinks).
type timeline struct {
	done    chan struct{}
	stopped chan []sample
}

type sample struct{ received, owed int64 }

func startTimeline(s *sinks, accepted *atomic.Int64) *timeline {
	tl := &timeline{done: make(chan struct{}), stopped: make(chan []sample, 1)}
	go func() {
		var out []sample
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			out = append(out, sample{s.received.Load(), accepted.Load() * int64(s.n)})
			select {
			case <-tl.done:
				tl.stopped <- out
				return
			case <-t.C:
			}
		}
	}()
	return tl
}

func (tl *timeline) stop() []sample {
	close(tl.done)
	return <-tl.stopped
}

// busyBacklog is how many owed deliveries keep the dispatcher busy for a
// whole second at any sane rate; below it a slow second means idle, not stuck.
const busyBacklog = 1000

// slowestBusySecond is the fewest deliveries received in one second that
// began and ended with at least busyBacklog deliveries owed.
func slowestBusySecond(ss []sample) (float64, bool) {
	slowest, found := 0.0, false
	for i := 1; i < len(ss); i++ {
		a, b := ss[i-1], ss[i]
		if a.owed-a.received < busyBacklog || b.owed-b.received < busyBacklog {
			continue
		}
		if r := float64(b.received - a.received); !found || r < slowest {
			slowest, found = r, true
		}
	}
	return slowest, found
}
