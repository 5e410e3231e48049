package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// relayBatch is how many outbox entries one round publishes.
const relayBatch = 100

// RelayConfig tunes Relay. Zero fields take the defaults.
type RelayConfig struct {
	// Interval between looks at the outbox. Default 500 ms.
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
	// Translate, if set, returns more events to publish for an entry in
	// the operator's scope (live mode), such as the same event under
	// another API's names and shape (compat/svix's operational webhooks).
	// They reach only the operator's webhooks that name their type. An
	// error leaves the entry in the outbox for the next round. Their ids
	// must be the same on every call for the same entry.
	Translate func(ctx context.Context, e hookd.OutboxEntry) ([]*hookd.Event, error)
}

// outbox is what the relay needs of a store.
type outbox interface {
	hookd.OutboxStore
	hookd.EventStore
}

// Relay publishes the operator events that the stores put in the outbox
// with the changes that caused them: each to the operator's endpoints (the
// operator tenant, live mode) and to the tenant it is about (only to its
// webhooks that name the type), and what RelayConfig.Translate makes of it
// to the operator's endpoints that name those types. An entry leaves the outbox only after its
// events committed; the events' ids come from the entry, so publishing one
// twice (a crash in between, two instances) replays rather than repeats.
type Relay struct {
	st      outbox
	tenants hookd.TenantService
	cfg     RelayConfig
	// OnCommit, if set, is called after events were published (wake the
	// dispatcher).
	onCommit func()

	loopService
}

// NewRelay returns a relay over st; tenants makes sure the operator tenant
// exists; onCommit (may be nil) is called after a round published events.
func NewRelay(st outbox, tenants hookd.TenantService, onCommit func(), cfg RelayConfig) *Relay {
	setDuration(&cfg.Interval, 500*time.Millisecond)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "relay")
	return &Relay{st: st, tenants: tenants, cfg: cfg, onCommit: onCommit}
}

// Start makes sure the operator tenant exists and runs the loop until
// Stop.
func (r *Relay) Start(ctx context.Context) error {
	if err := r.tenants.EnsureOperatorTenant(ctx); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return r.run(ctx, "relay", r.loop)
}

func (r *Relay) loop(ctx context.Context) {
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	for {
		for {
			n, err := r.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				r.cfg.Logger.Error("publish operator events", "err", err)
			}
			if err != nil || n < relayBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce publishes up to one batch of the outbox and returns how many
// entries it took.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	entries, err := r.st.TakeOutbox(ctx, relayBatch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	now := r.cfg.Now()
	reqs := make([]hookd.PublishRequest, 0, 2*len(entries))
	seqs := make([]int64, len(entries))
	for i, e := range entries {
		seqs[i] = e.Seq
		for _, sc := range []struct {
			scope  hookd.Scope
			system bool
		}{
			{hookd.Scope{TenantID: hookd.OperatorTenantID, Mode: hookd.ModeLive}, false},
			{hookd.Scope{TenantID: e.TenantID, Mode: e.Mode}, true},
		} {
			reqs = append(reqs, hookd.PublishRequest{Scope: sc.scope, System: sc.system, Event: &hookd.Event{
				ID: e.EventID(), Type: e.Type, Data: e.Data, CreatedAt: now,
				BodyHash: hookd.ComputeBodyHash(e.Type, e.Data),
			}})
		}
		if r.cfg.Translate == nil {
			continue
		}
		more, err := r.cfg.Translate(ctx, e)
		if err != nil {
			return 0, fmt.Errorf("translate operator event %s: %w", e.EventID(), err)
		}
		for _, ev := range more {
			ev.CreatedAt = now
			ev.BodyHash = hookd.ComputeBodyHash(ev.Type, ev.Data)
			reqs = append(reqs, hookd.PublishRequest{Scope: hookd.Scope{TenantID: hookd.OperatorTenantID, Mode: hookd.ModeLive}, System: true, Event: ev})
		}
	}
	results, err := r.st.PublishEvents(ctx, reqs)
	if err != nil {
		return 0, err
	}
	var errs []error
	delivered := 0
	for i, res := range results {
		if res.Err != nil {
			// A refused event (its tenant is gone, say) is dropped: it
			// could never be published.
			errs = append(errs, fmt.Errorf("operator event %s: %w", reqs[i].Event.ID, res.Err))
		}
		delivered += res.Deliveries
	}
	if err := r.st.DeleteOutbox(ctx, seqs); err != nil {
		return 0, err
	}
	if delivered > 0 && r.onCommit != nil {
		r.onCommit()
	}
	if len(errs) > 0 {
		r.cfg.Logger.Warn("operator events refused", "err", errors.Join(errs...))
	}
	return len(entries), nil
}
