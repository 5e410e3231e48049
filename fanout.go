package hookd

import (
	"slices"
	"time"
)

// Subscriber is what fan-out needs of an enabled webhook. Stores load their
// scope's enabled webhooks once per publish batch as Subscribers.
type Subscriber struct {
	ID         string
	EventTypes []string
	Filter     *Filter // nil: no filter
	// Deliverable is false for an enabled webhook that is not active or has
	// expired: only test events reach it.
	Deliverable bool

	status    WebhookStatus
	expiresAt *time.Time
}

// NewSubscriber parses w's stored filter; an error means the stored row is corrupt.
func NewSubscriber(id string, eventTypes []string, filter []byte, status WebhookStatus, expiresAt *time.Time, now time.Time) (Subscriber, error) {
	s := Subscriber{ID: id, EventTypes: eventTypes, status: status, expiresAt: expiresAt}
	if len(filter) > 0 {
		f, err := ParseFilter(filter)
		if err != nil {
			return s, err
		}
		s.Filter = f
	}
	return s.At(now), nil
}

// At returns s as it stands at time now, for a store that keeps Subscribers
// from one publish to the next: an active webhook stops being Deliverable
// when it expires.
func (s Subscriber) At(now time.Time) Subscriber {
	s.Deliverable = s.status == StatusActive && (s.expiresAt == nil || now.Before(*s.expiresAt))
	return s
}

// Recipients appends to dst the ids of the subscribers (of r's scope) that
// receive r's event: for a test event every one (or only r.WebhookID), else
// the deliverable ones whose event types and filter match. It returns
// EINVALID when a filter has to read data that is not JSON. A test event
// for one webhook that is not among subs reaches none: whether that webhook
// exists is the caller's to check before it publishes.
func Recipients(dst []string, r *PublishRequest, subs []Subscriber) (ids []string, err error) {
	e := r.Event
	var doc map[string]any
	for i := range subs {
		w := &subs[i]
		if r.Test {
			if r.WebhookID != "" {
				if w.ID != r.WebhookID {
					continue
				}
			}
		} else {
			if !w.Deliverable || !MatchEventType(w.EventTypes, e.Type) {
				continue
			}
			if r.System && !slices.Contains(w.EventTypes, e.Type) {
				continue // operator events go only to who named them
			}
			if w.Filter != nil {
				if doc == nil {
					if doc, err = NewFilterDocument(e); err != nil {
						return dst, Errorf(EINVALID, "data: %v", err)
					}
				}
				if !w.Filter.Match(doc) {
					continue
				}
			}
		}
		dst = append(dst, w.ID)
	}
	return dst, nil
}
