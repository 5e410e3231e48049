package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// MaintenanceConfig tunes Maintenance. Zero fields take the defaults.
type MaintenanceConfig struct {
	// Interval between auto-disable and prune runs. Default 1 minute.
	Interval time.Duration
	// StatsInterval between refreshes of the queue gauges. Default 5s.
	StatsInterval time.Duration
	// ReclaimInterval between checks of whether the queue's removed rows
	// need reclaiming, when the queue is a hookd.QueueReclaimer. Default 1s.
	ReclaimInterval time.Duration
	// AutoDisableAfter is how long a webhook may fail without a success
	// before it is auto-disabled. Default 5 days.
	AutoDisableAfter time.Duration
	// Retention is how long events, deliveries and attempts are kept once
	// no longer pending. Default 30 days.
	Retention time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
	// Metrics receives the queue gauges, and counts the attempts that the
	// queue's history records. Default: unregistered metrics.
	Metrics *Metrics
	// History keeps a sample of the queue every SampleInterval, for the
	// dashboard. Nil: no history.
	History hookd.QueueHistoryStore
	// SampleInterval between samples of the queue's history, taken on its
	// multiples of the clock so that every instance writes the same rows.
	// Default 1 minute.
	SampleInterval time.Duration
	// HistoryRetention is how long samples are kept. Default 8 days.
	HistoryRetention time.Duration
}

// Maintenance auto-disables failing webhooks, prunes old rows, refreshes
// the queue gauges, samples the queue's history and has the queue's removed
// rows reclaimed.
type Maintenance struct {
	queue hookd.Queue
	cfg   MaintenanceConfig

	loopService
}

// NewMaintenance returns the maintenance service, or EINVALID for a bad config.
func NewMaintenance(queue hookd.Queue, cfg MaintenanceConfig) (*Maintenance, error) {
	setDuration(&cfg.Interval, time.Minute)
	setDuration(&cfg.StatsInterval, 5*time.Second)
	setDuration(&cfg.ReclaimInterval, time.Second)
	setDuration(&cfg.AutoDisableAfter, 5*24*time.Hour)
	setDuration(&cfg.Retention, 30*24*time.Hour)
	setDuration(&cfg.SampleInterval, time.Minute)
	setDuration(&cfg.HistoryRetention, 8*24*time.Hour)
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"interval", cfg.Interval},
		{"stats interval", cfg.StatsInterval},
		{"reclaim interval", cfg.ReclaimInterval},
		{"auto-disable window", cfg.AutoDisableAfter},
		{"retention", cfg.Retention},
		{"sample interval", cfg.SampleInterval},
		{"history retention", cfg.HistoryRetention},
	} {
		if f.v < 0 {
			return nil, hookd.Errorf(hookd.EINVALID, "maintenance %s must be positive, got %s", f.name, f.v)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = newMetrics()
	}
	cfg.Logger = cfg.Logger.With("component", "maintenance")
	return &Maintenance{queue: queue, cfg: cfg}, nil
}

// Start runs the first round at once, then one every Interval, until Stop.
func (m *Maintenance) Start(ctx context.Context) error {
	return m.run(ctx, "maintenance", m.loop)
}

func (m *Maintenance) loop(ctx context.Context) {
	rounds := time.NewTicker(m.cfg.Interval)
	defer rounds.Stop()
	stats := time.NewTimer(m.cfg.StatsInterval)
	defer stats.Stop()
	refresh := func() {
		start := m.cfg.Now()
		m.logErr(ctx, m.RefreshStats(ctx))
		stats.Reset(statsWait(m.cfg.StatsInterval, m.cfg.Now().Sub(start)))
	}
	sample := time.NewTimer(m.untilNextSample())
	defer sample.Stop()
	var reclaim <-chan time.Time
	if _, ok := m.queue.(hookd.QueueReclaimer); ok {
		t := time.NewTicker(m.cfg.ReclaimInterval)
		defer t.Stop()
		reclaim = t.C
	}
	// A round counts the queue too; the next count waits as after any
	// other (a restart beside a backlog of a million counted it twice in
	// its first five seconds, 0.3–0.6 s each).
	round := func() {
		m.logErr(ctx, m.chores(ctx))
		refresh()
	}
	round()
	for {
		select {
		case <-ctx.Done():
			// Write the attempts counted since the last sample, so that a
			// restart loses none of them.
			if m.cfg.History != nil {
				fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				m.logErr(fctx, m.Sample(fctx))
				cancel()
			}
			return
		case <-sample.C:
			m.logErr(ctx, m.Sample(ctx))
			sample.Reset(m.untilNextSample())
		case <-rounds.C:
			round()
		case <-reclaim:
			m.logErr(ctx, m.Reclaim(ctx))
		case <-stats.C:
			refresh()
		}
	}
}

func (m *Maintenance) logErr(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		m.cfg.Logger.Error("maintenance", "err", err)
	}
}

// RunOnce auto-disables, prunes and refreshes the gauges once, carrying on
// past a failed step and returning every step's error.
func (m *Maintenance) RunOnce(ctx context.Context) error {
	return errors.Join(m.chores(ctx), m.RefreshStats(ctx))
}

// chores is a round's work besides the gauges' refresh.
func (m *Maintenance) chores(ctx context.Context) error {
	return errors.Join(m.AutoDisable(ctx), m.Prune(ctx))
}

// untilNextSample is the wait until the next multiple of SampleInterval
// (and a little after, so that the clock has surely passed it).
func (m *Maintenance) untilNextSample() time.Duration {
	now := m.cfg.Now()
	return now.Truncate(m.cfg.SampleInterval).Add(m.cfg.SampleInterval).Sub(now) + 10*time.Millisecond
}

// Sample writes the queue's history sample of the interval that ends at
// the last multiple of SampleInterval: the queue now (kept only if this
// instance is the first to write the interval) and the attempts this
// instance counted since its last sample. Nothing without a History.
func (m *Maintenance) Sample(ctx context.Context) error {
	if m.cfg.History == nil {
		return nil
	}
	now := m.cfg.Now()
	st, err := m.queue.Stats(ctx, now)
	if err != nil {
		return fmt.Errorf("queue sample: %w", err)
	}
	m.cfg.Metrics.setQueueStats(st)
	ok, bad := m.cfg.Metrics.takeAttempts()
	err = m.cfg.History.AddQueueSample(ctx, hookd.QueueSample{At: now.Truncate(m.cfg.SampleInterval),
		Pending: st.Pending, Due: st.Due, OldestDueAge: st.OldestDueAge, Succeeded: ok, Failed: bad})
	if err != nil {
		m.cfg.Metrics.giveBackAttempts(ok, bad)
		return fmt.Errorf("queue sample: %w", err)
	}
	return nil
}

// AutoDisable disables the webhooks failing for longer than AutoDisableAfter.
// The store puts a webhook.disabled operator event for each in the outbox,
// in the same transaction; the Relay publishes it.
func (m *Maintenance) AutoDisable(ctx context.Context) error {
	now := m.cfg.Now()
	hooks, err := m.queue.AutoDisableWebhooks(ctx, now.Add(-m.cfg.AutoDisableAfter))
	if err != nil {
		return fmt.Errorf("auto-disable webhooks: %w", err)
	}
	for _, w := range hooks {
		m.cfg.Logger.Info("webhook auto-disabled", "webhook_id", w.ID, "tenant_id", w.TenantID)
	}
	return nil
}

// Reclaim has the queue reclaim the space of its removed rows if it needs
// to (see hookd.QueueReclaimer); a queue that does not need it does nothing.
func (m *Maintenance) Reclaim(ctx context.Context) error {
	r, ok := m.queue.(hookd.QueueReclaimer)
	if !ok {
		return nil
	}
	did, err := r.ReclaimQueue(ctx)
	if err != nil {
		return fmt.Errorf("reclaim queue: %w", err)
	}
	if did {
		m.cfg.Metrics.queueReclaims.Inc()
	}
	return nil
}

// Prune deletes what is older than Retention.
func (m *Maintenance) Prune(ctx context.Context) error {
	n, err := m.queue.Prune(ctx, m.cfg.Now().Add(-m.cfg.Retention))
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if n > 0 {
		m.cfg.Logger.Info("pruned old rows", "rows", n)
	}
	if m.cfg.History != nil {
		if _, err := m.cfg.History.PruneQueueSamples(ctx, m.cfg.Now().Add(-m.cfg.HistoryRetention)); err != nil {
			return fmt.Errorf("prune queue samples: %w", err)
		}
	}
	return nil
}

// statsShare bounds the time the maintenance loop spends counting the
// queue for its gauges to a five-hundredth. A count that reads every
// pending delivery is a burst of a core: on SQLite a million took 170–250
// ms, and at a fiftieth (every 8–12 s) each one stalled every tenant's
// deliveries for as long on a busy machine (docs/benchmarks.md, session
// 8). PostgreSQL samples a large queue instead (postgres.Stats), a few
// milliseconds, so its gauges still refresh every StatsInterval.
const statsShare = 500

// statsWait is the wait before the next refresh of the gauges, after a
// refresh that lasted took: every, or statsShare times took if longer.
func statsWait(every, took time.Duration) time.Duration {
	return max(every, statsShare*took)
}

// RefreshStats sets the queue gauges.
func (m *Maintenance) RefreshStats(ctx context.Context) error {
	st, err := m.queue.Stats(ctx, m.cfg.Now())
	if err != nil {
		return fmt.Errorf("queue stats: %w", err)
	}
	m.cfg.Metrics.setQueueStats(st)
	return nil
}
