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
	// Metrics receives the queue gauges. Default: unregistered metrics.
	Metrics *Metrics
}

// Maintenance auto-disables failing webhooks, prunes old rows and
// refreshes the queue gauges.
type Maintenance struct {
	queue hookd.Queue
	cfg   MaintenanceConfig

	loopService
}

// NewMaintenance returns the maintenance service, or EINVALID for a bad config.
func NewMaintenance(queue hookd.Queue, cfg MaintenanceConfig) (*Maintenance, error) {
	setDuration(&cfg.Interval, time.Minute)
	setDuration(&cfg.StatsInterval, 5*time.Second)
	setDuration(&cfg.AutoDisableAfter, 5*24*time.Hour)
	setDuration(&cfg.Retention, 30*24*time.Hour)
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"interval", cfg.Interval},
		{"stats interval", cfg.StatsInterval},
		{"auto-disable window", cfg.AutoDisableAfter},
		{"retention", cfg.Retention},
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
	stats := time.NewTicker(m.cfg.StatsInterval)
	defer stats.Stop()
	m.logErr(ctx, m.RunOnce(ctx))
	for {
		select {
		case <-ctx.Done():
			return
		case <-rounds.C:
			m.logErr(ctx, m.RunOnce(ctx))
		case <-stats.C:
			m.logErr(ctx, m.RefreshStats(ctx))
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
	return errors.Join(m.AutoDisable(ctx), m.Prune(ctx), m.RefreshStats(ctx))
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

// Prune deletes what is older than Retention.
func (m *Maintenance) Prune(ctx context.Context) error {
	n, err := m.queue.Prune(ctx, m.cfg.Now().Add(-m.cfg.Retention))
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if n > 0 {
		m.cfg.Logger.Info("pruned old rows", "rows", n)
	}
	return nil
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
