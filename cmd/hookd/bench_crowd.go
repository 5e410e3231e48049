package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"time"
)

// crowd is issue 16's "many tenants": does publishing to one tenant cost
// more when the store holds --crowd-tenants other tenants of
// --crowd-webhooks webhooks each? Two stores are made in the same run: one
// with the bench's tenant alone, and one with the same tenant among the
// crowd, which is written straight into the stopped store's tables in a few
// bulk INSERTs (creating a million webhooks through the API would take
// longer than the measurement). Then, for --crowd-rounds rounds, hookd is
// started on each store in turn (the order alternating) and --publishers
// publish to the bench's tenant at full speed for --duration, each event
// fanning out to its --webhooks webhooks. It reports, per store, the
// medians of the rounds, the crowd's ratios to the lone tenant (the median
// of each round's ratio), and the peak RSS. It needs an in-process hookd.
func (b *bencher) crowd(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" {
		fmt.Fprintln(b.log, "    skipped: crowd fills the stores of in-process hookds")
		return nil, nil
	}
	s, err := b.sinks(b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	stores := []*crowdStore{{name: "one tenant"}, {name: "crowd"}}
	defer func() {
		for _, st := range stores {
			if st.drop != nil {
				err = errors.Join(err, st.drop())
			}
		}
	}()
	for _, st := range stores {
		st.dir = b.dataDir()
		if st.dbURL, st.drop, err = b.scenarioDatabase(ctx); err != nil {
			return nil, err
		}
		t, err := startInProcess(ctx, st.dir, st.dbURL, "", b.serveFlags())
		if err != nil {
			return nil, err
		}
		st.key = t.key
		_, err = t.createWebhooks(ctx, sinkURLs(s))
		if err = errors.Join(err, t.stop()); err != nil {
			return nil, err
		}
	}
	tenants, per := b.cfg.CrowdTenants, b.cfg.CrowdWebhooks
	fmt.Fprintf(b.log, "    adding %d tenants of %d webhooks each (bulk INSERTs into the stopped store)\n", tenants, per)
	start := time.Now()
	if err := addCrowd(ctx, stores[1], tenants, per); err != nil {
		return nil, err
	}
	setup := time.Since(start)
	fmt.Fprintf(b.log, "    added in %.1fs\n", setup.Seconds())

	var seq atomic.Int64
	for round := range b.cfg.CrowdRounds {
		order := []*crowdStore{stores[0], stores[1]}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, st := range order {
			r, err := b.crowdPhase(ctx, s, st, &seq)
			if err != nil {
				return nil, fmt.Errorf("crowd: %s, round %d: %w", st.name, round+1, err)
			}
			fmt.Fprintf(b.log, "    round %d, %s: %.0f events/s, %.0f deliveries/s, p99 %.1f ms, %.0f µs CPU per event, peak RSS %d MiB\n",
				round+1, st.name, r.published, r.delivered, r.p99, r.cpuPerEvent, r.peakRSS>>20)
			st.rounds = append(st.rounds, r)
		}
	}
	ms = []metric{
		{Scenario: "crowd", Name: "tenants", Value: float64(tenants + 1), Unit: "tenants"},
		{Scenario: "crowd", Name: "webhooks", Value: float64(tenants*per + b.cfg.Webhooks), Unit: "webhooks"},
		{Scenario: "crowd", Name: "bulk setup", Value: setup.Seconds(), Unit: "s"},
	}
	one, many := stores[0].medians(), stores[1].medians()
	for _, st := range []struct {
		name string
		m    crowdResult
	}{{"one tenant", one}, {"crowd", many}} {
		ms = append(ms,
			metric{Scenario: "crowd", Name: st.name + ": published/s", Value: st.m.published, Unit: "events/s"},
			metric{Scenario: "crowd", Name: st.name + ": delivered/s", Value: st.m.delivered, Unit: "deliveries/s"},
			metric{Scenario: "crowd", Name: st.name + ": latency p99", Value: st.m.p99, Unit: "ms"},
			metric{Scenario: "crowd", Name: st.name + ": cpu per event", Value: st.m.cpuPerEvent, Unit: "µs"},
			metric{Scenario: "crowd", Name: st.name + ": peak rss", Value: float64(st.m.peakRSS >> 20), Unit: "MiB"},
		)
	}
	// Each round's ratio is of two phases run one after the other, so the
	// machine's load changes less between them than across rounds.
	paired := func(f func(crowdResult) float64) float64 {
		rs := make([]float64, 0, len(stores[0].rounds))
		for i, o := range stores[0].rounds {
			if i < len(stores[1].rounds) && f(o) > 0 {
				rs = append(rs, 100*f(stores[1].rounds[i])/f(o))
			}
		}
		return median(rs)
	}
	return append(ms,
		metric{Scenario: "crowd", Name: "published/s, crowd vs one", Value: paired(func(r crowdResult) float64 { return r.published }), Unit: "%"},
		metric{Scenario: "crowd", Name: "cpu per event, crowd vs one", Value: paired(func(r crowdResult) float64 { return r.cpuPerEvent }), Unit: "%"},
		metric{Scenario: "crowd", Name: "p99, crowd vs one", Value: paired(func(r crowdResult) float64 { return r.p99 }), Unit: "%"},
	), nil
}

// crowdStore is one of the crowd scenario's two stores.
type crowdStore struct {
	name, dir, dbURL, key string
	drop                  func() error // removes its fresh database (nothing on SQLite)
	rounds                []crowdResult
}

// crowdResult is one publishing phase on one store.
type crowdResult struct {
	published, delivered float64 // per second
	p99                  float64 // publish to receipt, ms
	cpuPerEvent          float64 // µs of the bench process (hookd, publishers, receivers)
	peakRSS              int64
}

// medians returns the median of each figure over the rounds (the peak RSS
// is the highest).
func (c *crowdStore) medians() crowdResult {
	med := func(f func(crowdResult) float64) float64 {
		vs := make([]float64, len(c.rounds))
		for i, r := range c.rounds {
			vs[i] = f(r)
		}
		return median(vs)
	}
	var peak int64
	for _, r := range c.rounds {
		peak = max(peak, r.peakRSS)
	}
	return crowdResult{
		published:   med(func(r crowdResult) float64 { return r.published }),
		delivered:   med(func(r crowdResult) float64 { return r.delivered }),
		p99:         med(func(r crowdResult) float64 { return r.p99 }),
		cpuPerEvent: med(func(r crowdResult) float64 { return r.cpuPerEvent }),
		peakRSS:     peak,
	}
}

// median returns the median of vs (0 for none); it sorts vs.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if len(vs)%2 == 0 {
		return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return vs[len(vs)/2]
}

// crowdPhase starts hookd on st, publishes to its tenant at full speed for
// --duration, waits for every delivery and stops it.
func (b *bencher) crowdPhase(ctx context.Context, s *sinks, st *crowdStore, seq *atomic.Int64) (r crowdResult, err error) {
	t, err := startInProcess(ctx, st.dir, st.dbURL, st.key, b.serveFlags())
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, t.stop()) }()
	u := startUsage()
	first := seq.Load()
	var accepted atomic.Int64
	received0 := s.received.Load()
	s.latencies.reset()
	s.window.Store(true)
	start := time.Now()
	ferr := b.flood(ctx, []*target{t}, start.Add(b.cfg.Duration), seq, &accepted)
	elapsed := time.Since(start)
	delivered := s.received.Load() - received0
	if ferr != nil {
		u.end()
		return r, ferr
	}
	events := seq.Load()
	werr := awaitAll(ctx, s, seqIDs(s.n), int(events), b.drainTimeout((events-first)*int64(s.n)))
	s.window.Store(false)
	cpu, peak := u.end()
	if werr != nil {
		return r, werr
	}
	return crowdResult{
		published:   float64(accepted.Load()) / elapsed.Seconds(),
		delivered:   float64(delivered) / elapsed.Seconds(),
		p99:         millis(s.latencies.quantile(0.99)),
		cpuPerEvent: float64(cpu.Microseconds()) / float64(max(events-first, 1)),
		peakRSS:     peak,
	}, nil
}

// addCrowd writes tenants tenants of per webhooks each (all enabled, active,
// subscribed to every event type, pointing at example.invalid), and one
// event type each, into st's stopped store: the rows a tenant, its
// webhooks and its first published event would leave, in bulk.
func addCrowd(ctx context.Context, st *crowdStore, tenants, per int) error {
	if st.dbURL != "" {
		return addCrowdPostgres(ctx, st.dbURL, tenants, per)
	}
	c := defaultConfig()
	c.DataDir = st.dir
	return addCrowdSQLite(ctx, c.sqlitePath(), tenants, per)
}

func addCrowdSQLite(ctx context.Context, path string, tenants, per int) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return fmt.Errorf("crowd: %w", err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("crowd: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	now := time.Now().UnixMilli()
	const series = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) `
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{series + `INSERT INTO tenants (id, name, created_at, uid, metadata, updated_at)
			SELECT printf('ten_crowd%08d', i), printf('crowd-%d', i), ?2, printf('crowd-%d', i), '{}', ?2 FROM n`,
			[]any{tenants, now}},
		{series + `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
			SELECT printf('ten_crowd%08d', i), 'live', 'order.created', '', ?2, ?2 FROM n`,
			[]any{tenants, now}},
		{series + `INSERT INTO webhooks (id, tenant_id, mode, url, event_types, enabled, status, secret, created_at, updated_at)
			SELECT printf('wh_crowd%09d', i), printf('ten_crowd%08d', i / ?3), 'live',
			printf('https://crowd-%d.example.invalid/hooks/%d', i / ?3, i % ?3), '[]', 1, 'active', 'whsec_crowdcrowdcrowdcrowd', ?2, ?2 FROM n`,
			[]any{tenants * per, now, per}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("crowd: %w", err)
		}
	}
	return tx.Commit()
}

func addCrowdPostgres(ctx context.Context, dbURL string, tenants, per int) error {
	conn, err := connectPG(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("crowd: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	now := time.Now().UTC()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("crowd: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO tenants (id, name, created_at, uid, metadata, updated_at)
			SELECT 'ten_crowd' || lpad(i::text, 8, '0'), 'crowd-' || i, $2, 'crowd-' || i, '{}', $2
			FROM generate_series(0, $1::int - 1) i`, []any{tenants, now}},
		{`INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
			SELECT 'ten_crowd' || lpad(i::text, 8, '0'), 'live', 'order.created', '', $2, $2
			FROM generate_series(0, $1::int - 1) i`, []any{tenants, now}},
		{`INSERT INTO webhooks (id, tenant_id, mode, url, event_types, enabled, status, secret, created_at, updated_at)
			SELECT 'wh_crowd' || lpad(i::text, 9, '0'), 'ten_crowd' || lpad((i / $3::int)::text, 8, '0'), 'live',
			'https://crowd-' || (i / $3::int) || '.example.invalid/hooks/' || (i % $3::int), '{}', true, 'active',
			'whsec_crowdcrowdcrowdcrowd', $2, $2
			FROM generate_series(0, $1::int - 1) i`, []any{tenants * per, now, per}},
	} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("crowd: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("crowd: %w", err)
	}
	// A database that grew to this size over time has been vacuumed and
	// analyzed; left to autovacuum, the vacuum of a million fresh rows
	// would run during the measurement.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) tenants, event_types, webhooks"); err != nil {
		return fmt.Errorf("crowd: vacuum: %w", err)
	}
	return nil
}
