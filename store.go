package hookd

import (
	"context"
	"strings"
	"time"
)

// The store interfaces are what a database adapter implements: verbs on rows,
// each atomic, with the conditions passed in. They make no business decision:
// what a retry, a recover, an expiry or a disable means is decided by the
// services (services.go) that call them. Where a rule has to hold inside a
// transaction (a uniqueness, a read-decide-write), the method's comment says
// so, and package storetest checks it on every store.
//
// Reads return rows as stored: derived fields (a webhook's status at a time)
// are the services' to compute.

// TenantFilter selects tenants in a list; zero fields do not filter.
type TenantFilter struct {
	Search string // a case-insensitive part of the name, or the whole uid
	UID    string // exact
	Page          // Cursor is a tenant id
}

// TenantStore keeps tenants, their API keys, operator keys and portal links.
type TenantStore interface {
	// InsertTenant stores t. Returns ECONFLICT if a tenant has its name or
	// its uid (checked by the database, atomically).
	InsertTenant(ctx context.Context, t *Tenant) error
	// FindTenantByName returns ENOTFOUND if there is none.
	FindTenantByName(ctx context.Context, name string) (*Tenant, error)
	// FindTenantByID returns ENOTFOUND if there is none.
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)
	// FindTenantByUID returns ENOTFOUND if there is none.
	FindTenantByUID(ctx context.Context, uid string) (*Tenant, error)
	// ListTenants returns every tenant, ordered by id.
	ListTenants(ctx context.Context) ([]*Tenant, error)
	// FindTenants returns the page f.Page (already normalized) of the
	// tenants f selects, ordered by id, and how many it selects in all.
	FindTenants(ctx context.Context, f TenantFilter) ([]*Tenant, int, error)
	// UpdateTenant reads the tenant, calls change on it and writes what it
	// left, in one transaction that holds the row; an error from change
	// writes nothing. Returns ENOTFOUND, and ECONFLICT for a name or uid
	// another tenant has.
	UpdateTenant(ctx context.Context, id string, change func(*Tenant) error) (*Tenant, error)
	// DeleteTenant deletes the tenant with everything it owns — keys, portal
	// links, event types, webhooks, events, deliveries and attempts — in one
	// transaction, and returns the ids of the webhooks it deleted. Returns
	// ENOTFOUND.
	DeleteTenant(ctx context.Context, id string) ([]string, error)

	// InsertAPIKey stores k. Returns ENOTFOUND, and stores nothing, if its
	// tenant does not exist (checked in the same statement).
	InsertAPIKey(ctx context.Context, k *APIKey) error
	// ListAPIKeys lists the keys of a tenant, or of every tenant if tenantID is "".
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	// RevokeAPIKey sets the key's revoked_at to at unless it is already set
	// and, in the same transaction, deletes the unused portal links the key
	// made and the sessions whose MakerKeyID is the key. Returns ENOTFOUND
	// for an unknown id.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// FindAPIKeyByHash returns the key whose hash is hash, revoked or not, or
	// ENOTFOUND.
	FindAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// TouchAPIKey sets the key's last_used_at to at.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// InsertOperatorKey stores k.
	InsertOperatorKey(ctx context.Context, k *OperatorKey) error
	// ListOperatorKeys returns every operator key, ordered by id.
	ListOperatorKeys(ctx context.Context) ([]*OperatorKey, error)
	// RevokeOperatorKey sets revoked_at to at unless it is already set
	// and, in the same transaction, deletes the unused portal links the key
	// made and the sessions whose MakerKeyID or OperatorKeyID is the key.
	// Returns ENOTFOUND.
	RevokeOperatorKey(ctx context.Context, id string, at time.Time) error
	// FindOperatorKeyByHash returns the key whose hash is hash, or ENOTFOUND.
	FindOperatorKeyByHash(ctx context.Context, hash []byte) (*OperatorKey, error)
	// TouchOperatorKey sets the key's last_used_at to at.
	TouchOperatorKey(ctx context.Context, id string, at time.Time) error

	// InsertPortalLink stores l. Returns ENOTFOUND, and stores nothing, if
	// its tenant does not exist (checked in the same statement).
	InsertPortalLink(ctx context.Context, l *PortalLink) error
	// UsePortalLink sets used_at to at on the link whose hash is hash if it
	// is not set yet, in one statement, and returns the link as it was
	// before: of two concurrent uses, exactly one sees UsedAt nil. Returns
	// ENOTFOUND.
	UsePortalLink(ctx context.Context, hash []byte, at time.Time) (*PortalLink, error)
}

// WebhookQuery selects a scope's webhooks by stored columns; zero fields do
// not filter.
type WebhookQuery struct {
	URL     string
	Enabled *bool
	Name    string
}

// WebhookWrite is what a change to a webhook asks of the store besides
// writing the row.
type WebhookWrite struct {
	// CancelPending, when set, cancels the webhook's pending deliveries in
	// the same transaction, with this as their last error.
	CancelPending string
	// Announce are operator events to put in the outbox in the same
	// transaction.
	Announce []Announcement
}

// WebhookStore keeps webhooks. Every method is confined to its Scope: another
// scope's row answers ENOTFOUND exactly like a missing one.
type WebhookStore interface {
	// InsertWebhook stores w as given and assigns w.Number. With max set,
	// it returns EFORBIDDEN and stores nothing if w's scope already has max
	// webhooks, counted in the transaction that inserts (concurrent inserts
	// of one tenant are serialized).
	// The announcements go to the outbox in the same transaction.
	InsertWebhook(ctx context.Context, w *Webhook, max *int, announce ...Announcement) error
	// FindWebhookByID returns ENOTFOUND.
	FindWebhookByID(ctx context.Context, s Scope, id string) (*Webhook, error)
	// FindWebhookByNumber returns ENOTFOUND.
	FindWebhookByNumber(ctx context.Context, s Scope, n int64) (*Webhook, error)
	// ListWebhooks returns every webhook of the scope that q selects, ordered by id.
	ListWebhooks(ctx context.Context, s Scope, q WebhookQuery) ([]*Webhook, error)
	// UpdateWebhook reads the webhook, calls change on it and writes what
	// change left, all in one transaction that holds the row: no other
	// write of the webhook comes between the read and the write. If change
	// returns an error nothing is written and that error is returned.
	// Returns ENOTFOUND.
	UpdateWebhook(ctx context.Context, s Scope, id string, change func(*Webhook) (WebhookWrite, error)) (*Webhook, error)
	// DeleteWebhook deletes the webhook, cancels its pending deliveries
	// with why as their last error and puts the announcements in the
	// outbox, in one transaction. Returns ENOTFOUND.
	DeleteWebhook(ctx context.Context, s Scope, id, why string, announce ...Announcement) error
}

// EventTypeStore keeps a scope's catalog of event types.
type EventTypeStore interface {
	// InsertEventType stores t. Returns ECONFLICT if the scope has its name.
	InsertEventType(ctx context.Context, s Scope, t *EventType) error
	// EnsureEventTypes stores those of ts whose names the scope lacks and
	// leaves the rest, in one transaction.
	EnsureEventTypes(ctx context.Context, s Scope, ts []*EventType) error
	// FindEventType returns ENOTFOUND.
	FindEventType(ctx context.Context, s Scope, name string) (*EventType, error)
	// FindEventTypes returns the page f.Page (already normalized) of the
	// types of f.Resource, ordered by name, and how many there are in all.
	FindEventTypes(ctx context.Context, s Scope, f EventTypeFilter) ([]*EventType, int, error)
	// KnownEventTypes returns which of names the scope's catalog has.
	KnownEventTypes(ctx context.Context, s Scope, names []string) (map[string]bool, error)
	// UpdateEventType sets the description and updated_at. Returns ENOTFOUND.
	UpdateEventType(ctx context.Context, s Scope, name, description string, at time.Time) (*EventType, error)
	// DeleteEventType returns ENOTFOUND.
	DeleteEventType(ctx context.Context, s Scope, name string) error
}

// EventStore commits published events and reads them back.
type EventStore interface {
	// PublishEvents commits every request's event and its deliveries — one
	// per webhook of the scope that Recipients picks — in one transaction,
	// and answers each request in order. Requests are valid (the caller ran
	// PublishRequest.Validate). An event type the scope's catalog lacks is
	// added to it, except for test events. The error is for the batch as a
	// whole (nothing was committed).
	PublishEvents(ctx context.Context, reqs []PublishRequest) ([]PublishResult, error)
	// FindEventByID returns ENOTFOUND.
	FindEventByID(ctx context.Context, s Scope, id string) (*Event, error)
	// FindEvents returns the page f.Page (already normalized), newest first.
	FindEvents(ctx context.Context, s Scope, f EventFilter) ([]*Event, error)
}

// Handoff asks a publish to lease some of the deliveries it makes to the
// dispatcher of the publishing process, which sends them at once instead
// of claiming them after the commit: they skip the claim's wait and its
// transaction. A handed-off delivery is leased exactly as a claim of Owner
// would lease it, so everything after (outcomes, the lease as fence, a
// crash before the send) is the claim's.
type Handoff struct {
	// Owner names the leases, as ClaimRequest.Owner does.
	Owner string
	// Lease is how long each lease holds from the publish's time.
	Lease time.Duration
	// Take says whether the delivery to the webhook is handed off. It is
	// called in the transaction, once per delivery made (again if the
	// store retries the transaction), and must not block.
	Take func(webhookID string) bool
}

// HandoffStore is an EventStore that can hand fresh deliveries off (an
// optional capability: PostgreSQL has it, SQLite's claim costs too little
// to need it).
type HandoffStore interface {
	// PublishEventsHandoff is PublishEvents, and also returns as jobs, with
	// their events and webhooks, the deliveries it leased to h.Owner
	// because h.Take took them.
	PublishEventsHandoff(ctx context.Context, reqs []PublishRequest, h Handoff) ([]PublishResult, []*Job, error)
}

// Requeue is what RequeueDeliveries changes and which rows it takes.
type Requeue struct {
	WebhookID string
	// Statuses are the statuses a delivery must have to be requeued.
	Statuses []DeliveryStatus
	// CreatedSince and CreatedUntil bound the deliveries' creation: [since, until).
	CreatedSince, CreatedUntil time.Time
	// DueAt is when the requeued deliveries become due; Manual is the
	// manual flag they get.
	DueAt  time.Time
	Manual bool
}

// DeliveryStore keeps deliveries and their attempts outside the queue's hot path.
type DeliveryStore interface {
	// FindDeliveries returns the page f.Page (already normalized), newest first.
	FindDeliveries(ctx context.Context, s Scope, f DeliveryFilter) ([]*Delivery, error)
	// FindDeliveryByID returns the delivery with its attempts, oldest first. ENOTFOUND.
	FindDeliveryByID(ctx context.Context, s Scope, id string) (*Delivery, []*Attempt, error)
	// RequeueDelivery reads the delivery, asks decide whether it is to be
	// manual, and makes it pending and due at dueAt with that flag, ending
	// any lease on it (an outcome for the old lease is not written), all in
	// one transaction. If decide returns an error nothing changes and that
	// error is returned. Returns ENOTFOUND.
	RequeueDelivery(ctx context.Context, s Scope, id string, dueAt time.Time, decide func(*Delivery) (manual bool, err error)) (*Delivery, error)
	// RequeueDeliveries makes the deliveries that r selects pending, due at
	// r.DueAt with r.Manual, and returns how many it changed.
	RequeueDeliveries(ctx context.Context, s Scope, r Requeue) (int, error)
}

// OutboxStore holds the operator events until they are published. The
// writes that cause them (InsertWebhook, UpdateWebhook, DeleteWebhook,
// CompleteDeliveries, AutoDisableWebhooks) put them there in their own
// transaction.
type OutboxStore interface {
	// TakeOutbox returns up to limit entries, oldest first, and leaves them.
	TakeOutbox(ctx context.Context, limit int) ([]OutboxEntry, error)
	// DeleteOutbox removes the entries seqs (published).
	DeleteOutbox(ctx context.Context, seqs []int64) error
}

// Store is everything a database adapter provides.
type Store interface {
	OutboxStore
	TenantStore
	WebhookStore
	EventTypeStore
	EventStore
	DeliveryStore
	Queue
	SessionStore
	StatsStore
	QueueHistoryStore
	WebhookPageStore
	OperatorCatalogStore
}

// StopChanges are the changes that tell every instance to start no new
// request to the webhooks ids, in chunks that fit a notification.
func StopChanges(ids []string) []string {
	const max = 7000 // PostgreSQL's payload limit is 8000 bytes
	var out []string
	cur := changeStop
	for _, id := range ids {
		if len(cur)+len(id)+1 > max {
			out = append(out, cur)
			cur = changeStop
		}
		if cur != changeStop {
			cur += ","
		}
		cur += id
	}
	if cur != changeStop {
		out = append(out, cur)
	}
	return out
}

// StoppedWebhooks returns the webhook ids of a StopChanges change.
func StoppedWebhooks(change string) ([]string, bool) {
	rest, ok := strings.CutPrefix(change, changeStop)
	if !ok || rest == "" {
		return nil, false
	}
	return strings.Split(rest, ","), true
}

const changeStop = "stop:"

// Changes that every instance must hear of at once. A store that serves
// several instances (PostgreSQL) announces them in the transaction that
// makes them; cmd/hookd passes what it hears to Services.Forget.
const (
	// ChangeKeys: a key was revoked or a tenant deleted; cached
	// authentications are forgotten.
	ChangeKeys = "keys"
)
