package hookd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is what a producer publishes. Its id is the webhook-id of every
// delivery it makes, so receivers can deduplicate across retries.
type Event struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"-"`
	Mode      Mode            `json:"-"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"timestamp"`
	// IdempotencyKey is the Idempotency-Key header of the publish, if any.
	IdempotencyKey string `json:"-"`
	// BodyHash identifies the request (type and data) for idempotent replays.
	BodyHash []byte `json:"-"`
	// Channels are the event's channels as published (Svix's, through
	// compat/svix): they are the "channels" of the envelope that webhook
	// filters match at publish time. Tags are free labels (Svix's). Both
	// are stored with the event (see Labels) and can select it in a list.
	Channels []string `json:"-"`
	Tags     []string `json:"-"`
}

// An event's channels and tags are stored as one list of labels,
// "channel:<name>" and "tag:<name>": one nullable column, written only
// when the event has any, and the key of the index that lists events by
// one of them.
const (
	channelLabel = "channel:"
	tagLabel     = "tag:"
)

// ChannelLabel and TagLabel are the labels of a channel and a tag.
func ChannelLabel(c string) string { return channelLabel + c }
func TagLabel(t string) string     { return tagLabel + t }

// Labels returns e's channels and tags as labels, each once, or nil if it
// has none.
func (e *Event) Labels() []string {
	if len(e.Channels)+len(e.Tags) == 0 {
		return nil
	}
	out := make([]string, 0, len(e.Channels)+len(e.Tags))
	for _, c := range e.Channels {
		out = append(out, ChannelLabel(c))
	}
	for _, t := range e.Tags {
		out = append(out, TagLabel(t))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SetLabels sets e's channels and tags from stored labels.
func (e *Event) SetLabels(labels []string) {
	e.Channels, e.Tags = nil, nil
	for _, l := range labels {
		if c, ok := strings.CutPrefix(l, channelLabel); ok {
			e.Channels = append(e.Channels, c)
		} else if t, ok := strings.CutPrefix(l, tagLabel); ok {
			e.Tags = append(e.Tags, t)
		}
	}
}

// Limits on events.
const (
	MaxEventIDLength = 256
	MaxEventBytes    = 1 << 20
)

// ComputeBodyHash fingerprints what the producer sent, so that a replay with
// the same id or key can be told apart from a different request.
func ComputeBodyHash(typ string, data []byte) []byte {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

// PublishRequest is one event to accept in scope.
type PublishRequest struct {
	Scope Scope
	Event *Event // ID may be empty (the store makes one); CreatedAt is set by the caller
	// Test marks a test event (webhook.test): it goes to every enabled webhook
	// in scope — or only to WebhookID when set — whatever their event types
	// and filters, and is not added to the catalog.
	Test      bool
	WebhookID string
	// System marks an operator event published in the scope of the tenant
	// it is about: it reaches only that tenant's webhooks that name its type
	// exactly, never a catch-all or wildcard subscription.
	System bool
	// Atomic marks a request of an all-or-nothing batch: if it is refused,
	// nothing of the batch it came in commits (see AtomicRefusal).
	Atomic bool
}

// Validate checks what every store relies on before it accepts r, and
// fills the event's BodyHash if it is empty. Its errors are the request's
// own refusal (EINVALID), not the batch's.
func (r *PublishRequest) Validate() error {
	e, s := r.Event, r.Scope
	if e == nil {
		return Errorf(EINVALID, "event is required")
	}
	if !s.Mode.Valid() || s.TenantID == "" {
		return Errorf(EINVALID, "scope is incomplete")
	}
	if len(e.ID) > MaxEventIDLength {
		return Errorf(EINVALID, "id must be at most %d characters", MaxEventIDLength)
	}
	if err := ValidateText("id", e.ID); err != nil {
		return err
	}
	if err := ValidateText("Idempotency-Key", e.IdempotencyKey); err != nil {
		return err
	}
	if !r.Test {
		if err := ValidateEventTypeName(e.Type); err != nil {
			return Errorf(EINVALID, "type: %s", ErrorMessage(err))
		}
	}
	if e.BodyHash == nil {
		e.BodyHash = ComputeBodyHash(e.Type, e.Data)
	}
	return nil
}

// Catalogued reports whether r's event type joins its scope's catalog:
// test events and operator events do not.
func (r *PublishRequest) Catalogued() bool { return !r.Test && !r.System }

// Kept reports whether r's event is stored when it made n deliveries: an
// operator event in a tenant's scope is kept only when one of the tenant's
// webhooks receives it, so that it does not fill the tenant's event list.
func (r *PublishRequest) Kept(n int) bool { return !r.System || n > 0 }

// BatchRefusal is the error of an all-or-nothing batch (requests marked
// Atomic) one of whose requests was refused: nothing of the batch was
// committed. Its code is the refused request's.
type BatchRefusal struct {
	Index int // of the first refused request
	Err   error
}

func (b *BatchRefusal) Error() string { return fmt.Sprintf("events[%d]: %v", b.Index, b.Err) }
func (b *BatchRefusal) Unwrap() error { return b.Err }

// AtomicRefusal returns a *BatchRefusal for the first request marked Atomic
// whose result is refused, or nil. Stores call it before they commit a
// batch, and abort it on an error.
func AtomicRefusal(reqs []PublishRequest, results []PublishResult) error {
	for i := range reqs {
		if reqs[i].Atomic && results[i].Err != nil {
			return &BatchRefusal{Index: i, Err: results[i].Err}
		}
	}
	return nil
}

// Replay answers a request for e whose id or Idempotency-Key (what names
// it) was used before by prev, which made n deliveries: prev again if the
// bodies match, ECONFLICT if not.
func Replay(prev *Event, n int, e *Event, what string) PublishResult {
	if !bytes.Equal(prev.BodyHash, e.BodyHash) {
		return PublishResult{Err: Errorf(ECONFLICT, "%s was already used with a different body", what)}
	}
	return PublishResult{Event: prev, Deliveries: n, Replayed: true}
}

// PublishResult answers one PublishRequest.
type PublishResult struct {
	Event      *Event // the stored event (the original one on a replay)
	Deliveries int    // how many deliveries it made
	Replayed   bool   // the id or idempotency key was seen before with the same body
	Err        error  // ECONFLICT for the same id or key with a different body
}

// EventFilter selects events in a list.
type EventFilter struct {
	Type  string
	Since *time.Time
	Until *time.Time
	// Channel and Tag, when set, select the events published with that
	// channel and that tag. The stores read such a page from an index of
	// labels (scope, label, event id), not by scanning the scope's events.
	Channel string
	Tag     string
	Page
}

// Labels returns the labels f requires, or nil.
func (f EventFilter) Labels() []string {
	var out []string
	if f.Channel != "" {
		out = append(out, ChannelLabel(f.Channel))
	}
	if f.Tag != "" {
		out = append(out, TagLabel(f.Tag))
	}
	return out
}

// EventService finds events. Publishing goes through a Publisher, which
// batches requests into EventStore.PublishEvents (group commit).
type EventService interface {
	// FindEventByID returns ENOTFOUND.
	FindEventByID(ctx context.Context, s Scope, id string) (*Event, error)
	// FindEvents returns one page ordered by id descending (newest first).
	FindEvents(ctx context.Context, s Scope, f EventFilter) ([]*Event, error)
}

// Publisher accepts one event. The implementation in package delivery groups
// concurrent calls into one PublishEvents (group commit), so that a 202 means
// committed without a commit per request.
type Publisher interface {
	// Publish returns the result, or the error of the whole batch. A
	// per-event error (ECONFLICT) is returned as the error too.
	Publish(ctx context.Context, r PublishRequest) (PublishResult, error)
	// PublishBatch commits every request of reqs in one transaction, or
	// none: a refused request makes the error a *BatchRefusal naming it.
	PublishBatch(ctx context.Context, reqs []PublishRequest) ([]PublishResult, error)
}
