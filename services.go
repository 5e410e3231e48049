package hookd

import (
	"context"
	"time"
)

// Services is what the API layers (canonical and compatibility) work with:
// the rules of the domain over a Store. NewServices makes it; the API layers
// never call a store.
type Services struct {
	Tenants    TenantService
	Webhooks   WebhookService
	EventTypes EventTypeService
	Events     EventService
	Deliveries DeliveryService
	Publisher  Publisher
	// Sessions and Stats serve the portal and the dashboard.
	Sessions SessionService
	Stats    StatsService
	// OperatorCatalog is the operator's own catalog of event types.
	OperatorCatalog OperatorCatalogService

	forget func(change string)
}

// Forget is told a change made by another instance (PostgreSQL NOTIFY):
// for ChangeKeys the cached authentications are dropped. Unknown changes
// are ignored, and "" (after missed notifications) drops every cache.
func (s Services) Forget(change string) {
	if s.forget != nil {
		s.forget(change)
	}
}

// ServiceOptions configure NewServices.
type ServiceOptions struct {
	// Now is the services' clock (default time.Now): creation times, "due
	// now" and a webhook's status at the time of a read come from it.
	Now func() time.Time
	// Policy refuses webhook URLs that name a literal address it blocks
	// (the dialer checks every address again when it connects).
	Policy NetPolicy
	// Publisher accepts events; package delivery's batches them into
	// EventStore.PublishEvents. Services.Publisher holds each tenant to its
	// publish_rate before it. Nil leaves Services.Publisher nil.
	Publisher Publisher
	// AuthCacheTTL is how long a key that authenticated is trusted without
	// asking the store again (default DefaultAuthCacheTTL; negative: not
	// cached). A revocation on this instance, or one it hears of through
	// Forget, ends the trust at once.
	AuthCacheTTL time.Duration
	// AuthCacheSize bounds the cached keys (default DefaultAuthCacheSize).
	AuthCacheSize int
	// WebhooksStopped, if set, is told the ids of webhooks that must start
	// no new request: deleted, disabled, or of a deleted tenant; by this
	// instance, or by another one that announced it (Forget).
	WebhooksStopped func(ids []string)
}

// NewServices returns the domain's services over st.
func NewServices(st Store, o ServiceOptions) Services {
	clock := time.Now
	if o.Now != nil {
		clock = o.Now
	}
	// Both stores keep milliseconds: times made here are made at that
	// precision, so that what a call returns is what a read returns.
	o.Now = func() time.Time { return clock().UTC().Truncate(time.Millisecond) }
	ten := &tenants{st: st, now: o.Now, cache: newAuthCache(o.AuthCacheTTL, o.AuthCacheSize, clock), stopped: o.WebhooksStopped}
	var publisher Publisher
	if o.Publisher != nil {
		publisher = newLimitedPublisher(o.Publisher, st, clock)
	}
	return Services{
		Tenants:    ten,
		Webhooks:   &webhooks{st: st, now: o.Now, policy: o.Policy, stopped: o.WebhooksStopped},
		EventTypes: &eventTypes{st: st, now: o.Now},
		Events:     &events{st: st},
		Deliveries: &deliveries{st: st, now: o.Now},
		Publisher:  publisher,
		Sessions:   &sessions{st: st, tenants: ten, now: o.Now},
		Stats:      &stats{st: st, now: o.Now},

		OperatorCatalog: &operatorCatalog{st: st, now: o.Now},
		forget: func(change string) {
			if change == ChangeKeys || change == "" {
				ten.cache.forget()
			}
			if ids, ok := StoppedWebhooks(change); ok && o.WebhooksStopped != nil {
				o.WebhooksStopped(ids)
			}
		},
	}
}

// events is the EventService: reads, with the page rules.
type events struct{ st EventStore }

func (e *events) FindEventByID(ctx context.Context, s Scope, id string) (*Event, error) {
	return e.st.FindEventByID(ctx, s, id)
}

func (e *events) FindEvents(ctx context.Context, s Scope, f EventFilter) ([]*Event, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, err
	}
	return e.st.FindEvents(ctx, s, f)
}
