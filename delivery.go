package hookd

import (
	"context"
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // waiting for its next attempt (or its first)
	DeliverySucceeded DeliveryStatus = "succeeded" // a 2xx was received
	DeliveryFailed    DeliveryStatus = "failed"    // out of attempts, or not retryable; replayable
	DeliveryCancelled DeliveryStatus = "cancelled" // its webhook was deleted or disabled
)

// Delivery is one (event, webhook) pair.
type Delivery struct {
	ID            string         `json:"id"`
	TenantID      string         `json:"-"`
	Mode          Mode           `json:"-"`
	EventID       string         `json:"event_id"`
	WebhookID     string         `json:"webhook_id"`
	EventType     string         `json:"event_type"`
	Status        DeliveryStatus `json:"status"`
	Attempts      int            `json:"attempts"`
	NextAttemptAt *time.Time     `json:"next_attempt_at"`
	LastError     string         `json:"last_error,omitempty"`
	LastStatus    int            `json:"last_status_code,omitempty"`
	// Manual is true for a delivery that a person requeued (retry, recover):
	// its next attempt is its last, whatever the schedule says.
	Manual    bool      `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrorClass says why an attempt failed, for people and for the retry rules.
type ErrorClass string

const (
	ClassNone               ErrorClass = ""                    // success
	ClassHTTPStatus         ErrorClass = "http_status"         // a non-2xx answer (3xx included)
	ClassTimeout            ErrorClass = "timeout"             // connect or whole-request timeout
	ClassConnection         ErrorClass = "connection"          // refused, reset, DNS, TLS …
	ClassDestinationBlocked ErrorClass = "destination_blocked" // the SSRF guard refused the address
	ClassGone               ErrorClass = "gone"                // 410: the webhook is disabled
	ClassInvalid            ErrorClass = "invalid_request"     // the request could not be built
)

// Attempt is one HTTP try of a delivery.
type Attempt struct {
	ID              string        `json:"id"`
	DeliveryID      string        `json:"delivery_id"`
	At              time.Time     `json:"at"`
	Duration        time.Duration `json:"-"`
	DurationMS      int64         `json:"duration_ms"`
	StatusCode      int           `json:"status_code"`
	ErrorClass      ErrorClass    `json:"error_class,omitempty"`
	Error           string        `json:"error,omitempty"`
	ResponseExcerpt string        `json:"response_excerpt,omitempty"`
}

// MaxResponseExcerpt is how much of a response body an attempt keeps.
const MaxResponseExcerpt = 4 << 10

// DeliveryFilter selects deliveries in a list.
type DeliveryFilter struct {
	WebhookID string
	EventID   string
	Status    DeliveryStatus
	EventType string // exact
	Since     *time.Time
	Until     *time.Time
	Page
}

// DeliveryService finds deliveries and replays them.
type DeliveryService interface {
	// FindDeliveries returns one page ordered by id descending.
	FindDeliveries(ctx context.Context, s Scope, f DeliveryFilter) ([]*Delivery, error)
	// FindDeliveryByID returns the delivery with its attempts, oldest first. ENOTFOUND.
	FindDeliveryByID(ctx context.Context, s Scope, id string) (*Delivery, []*Attempt, error)
	// RetryDelivery makes a delivery due now for one more attempt, whatever
	// its status; a succeeded or failed delivery gets exactly one attempt.
	// Returns ENOTFOUND, and ECONFLICT if its webhook is gone.
	RetryDelivery(ctx context.Context, s Scope, id string) (*Delivery, error)
	// RecoverWebhook re-queues the webhook's failed and cancelled
	// deliveries created in [since, until) (until nil = now), one attempt
	// each, and says how many of each. ENOTFOUND; ECONFLICT if the webhook
	// is not active (enable it first).
	RecoverWebhook(ctx context.Context, s Scope, webhookID string, since time.Time, until *time.Time) (Recovered, error)
}

// Recovered counts what a recover re-queued, by the status it had.
type Recovered struct {
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// Total is how many deliveries were re-queued.
func (r Recovered) Total() int { return r.Failed + r.Cancelled }

// Job is a claimed delivery with what sending it needs, loaded in the claim
// so that the send path makes no query per delivery.
type Job struct {
	Delivery *Delivery
	Event    *Event
	Webhook  *Webhook
	// ManualAttempt is true for a retry asked for by RetryDelivery: one attempt
	// that does not reschedule on failure.
	ManualAttempt bool
	// Lease is the owner its claim named: a fencing token unique to that
	// claim, which the job's outcome names as its Owner, so that an outcome
	// can only ever complete the lease it was sent under.
	Lease string
}

// OutcomeKind is what a worker decided for a claimed delivery.
type OutcomeKind int

const (
	OutcomeSucceeded OutcomeKind = iota + 1
	OutcomeRetry                 // failed; try again at RetryAt
	OutcomeFailed                // failed for good (out of attempts or not retryable)
	OutcomeReleased              // not attempted (shutting down, rate limited): due again at RetryAt, attempt count unchanged
)

// Outcome is the result of working one job, written back in batches.
type Outcome struct {
	DeliveryID string
	WebhookID  string
	Owner      string // the claimer; an outcome whose lease was lost is ignored
	Kind       OutcomeKind
	RetryAt    time.Time // for OutcomeRetry and OutcomeReleased
	Attempt    *Attempt  // nil for OutcomeReleased
	// DisableWebhook (a 410) sets the webhook auto_disabled.
	DisableWebhook bool
	// DeleteWebhook (a single-use webhook's first success) deletes it.
	DeleteWebhook bool
	// The delivery's scope and event, for the operator events the outcome
	// may cause (delivery.exhausted, webhook.disabled).
	TenantID  string
	Mode      Mode
	EventID   string
	EventType string
}

// ClaimRequest asks for due deliveries.
type ClaimRequest struct {
	Owner string        // who claims: an instance id, unique per process
	Limit int           // at most this many
	Lease time.Duration // held until now+Lease; must outlive the request timeout
	Now   time.Time
	// PerWebhook, when positive, makes the claim fair: it visits the
	// webhooks that have due deliveries round-robin (each claim goes on
	// after the last webhook the previous one visited) and takes at most
	// PerWebhook deliveries of each, oldest due first, so that a webhook's
	// share of a claim does not grow with its backlog. Zero claims in due
	// order across all webhooks.
	PerWebhook int
	// Skip names webhooks of which a fair claim takes nothing: the claimer
	// already holds all it can send to them.
	Skip []string
}

// Validate refuses a claim no store can serve (EINVALID). A Limit of zero
// or less is valid: it claims nothing.
func (r ClaimRequest) Validate() error {
	if r.Lease <= 0 {
		return Errorf(EINVALID, "claim lease must be positive, got %s", r.Lease)
	}
	if r.Owner == "" {
		return Errorf(EINVALID, "claim owner is required")
	}
	if r.PerWebhook < 0 {
		return Errorf(EINVALID, "claim per-webhook bound must not be negative, got %d", r.PerWebhook)
	}
	return nil
}

// QueueStats describes the queue for metrics.
type QueueStats struct {
	Pending      int           // deliveries waiting (due or not)
	Due          int           // pending and due now
	OldestDueAge time.Duration // how long the oldest due delivery has waited
	Leased       int           // held by a worker
}

// Queue is the delivery queue: the database itself. Implementations claim in
// batches (FOR UPDATE SKIP LOCKED on PostgreSQL) and write outcomes in batches.
type Queue interface {
	// ClaimDeliveries leases up to Limit due, pending deliveries whose lease is
	// free or expired, with their event and webhook, across all tenants:
	// in due order, or round-robin by webhook with at most PerWebhook each
	// (see ClaimRequest).
	ClaimDeliveries(ctx context.Context, r ClaimRequest) ([]*Job, error)
	// CompleteDeliveries records outcomes and their attempts in one
	// transaction. An outcome whose Owner no longer holds the lease is skipped.
	CompleteDeliveries(ctx context.Context, outs []Outcome) error
	// NextDueAt returns when the earliest pending delivery becomes due, or nil.
	NextDueAt(ctx context.Context) (*time.Time, error)
	// Stats reports queue depth and age at now.
	Stats(ctx context.Context, now time.Time) (QueueStats, error)
	// AutoDisableWebhooks sets auto_disabled on enabled webhooks that have
	// failed since before failingBefore, and returns them.
	AutoDisableWebhooks(ctx context.Context, failingBefore time.Time) ([]*Webhook, error)
	// Prune deletes events, deliveries and attempts created before t that are
	// no longer pending, and returns how many rows went.
	Prune(ctx context.Context, before time.Time) (int, error)
	// Instances records that the dispatcher owner is alive at now, and
	// returns how many dispatchers were alive within ttl (itself included):
	// a webhook's rate limit and in-flight cap are shared out among them. A
	// store that serves one process answers 1.
	Instances(ctx context.Context, owner string, now time.Time, ttl time.Duration) (int, error)
}

// QueueReclaimer is a Queue whose store must reclaim the space of the queue
// rows it removes while it runs: without it the queue's storage grows with
// every delivery made, not with those pending. PostgreSQL's queue table is
// such a store (hookd vacuums it; autovacuum comes once a minute at best).
// Maintenance calls ReclaimQueue every ReclaimInterval; it reclaims only when
// enough rows were removed since the last time, and says whether it did.
type QueueReclaimer interface {
	ReclaimQueue(ctx context.Context) (bool, error)
}

// AttemptResult is what one HTTP attempt came to. The dispatcher turns it
// into an Outcome with the retry policy.
type AttemptResult struct {
	Attempt Attempt
	// RetryAfter is the receiver's Retry-After on a 429 or 503, or 0.
	RetryAfter time.Duration
}

// Sender makes one HTTP attempt of a job: signed, SSRF-checked at connect
// time, with timeouts and a capped read. Package webhook implements it.
type Sender interface {
	Send(ctx context.Context, j *Job) AttemptResult
}
