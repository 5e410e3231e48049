package hookd

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Operator events: what happens to the tenants' webhooks, for the operator's
// own endpoints (the webhooks of the operator tenant) and for a tenant's
// webhooks that name the type exactly. Each is written in the transaction of
// the change that caused it (an outbox row), so a crash loses none, and
// published from there (package delivery's Relay).
const (
	EventWebhookCreated    = "webhook.created"
	EventWebhookUpdated    = "webhook.updated"
	EventWebhookDeleted    = "webhook.deleted"
	EventWebhookDisabled   = "webhook.disabled"
	EventWebhookEnabled    = "webhook.enabled"
	EventDeliveryExhausted = "delivery.exhausted"
)

// ReasonDisabledByAPI is the reason of webhook.disabled for a webhook
// disabled through an API (the others are automatic).
const ReasonDisabledByAPI = "disabled through the API"

// OperatorEventTypes are the operator events with their descriptions.
var OperatorEventTypes = []*EventType{
	{Name: EventWebhookCreated, Description: "A webhook was created."},
	{Name: EventWebhookUpdated, Description: "A webhook was changed."},
	{Name: EventWebhookDeleted, Description: "A webhook was deleted."},
	{Name: EventWebhookDisabled, Description: "A webhook was disabled: by a person, after failing for the auto-disable window, or because its receiver answered 410."},
	{Name: EventWebhookEnabled, Description: "A disabled webhook was enabled again."},
	{Name: EventDeliveryExhausted, Description: "A delivery failed for good: its last attempt failed, or it could not be retried."},
}

// IsOperatorEvent reports whether t is an operator event type.
func IsOperatorEvent(t string) bool {
	return slices.ContainsFunc(OperatorEventTypes, func(e *EventType) bool { return e.Name == t })
}

// OperatorTenantID is the tenant whose webhooks are the operator's own
// endpoints: every operator event of every tenant goes to them. The
// operator manages them like any tenant's, with Hookd-Tenant: ten_operator.
const OperatorTenantID = "ten_operator"

// Announcement is an operator event about a tenant's webhook, kept in the
// outbox until it is published.
type Announcement struct {
	TenantID string
	Mode     Mode
	Type     string
	Data     json.RawMessage
}

// OutboxEntry is an announcement waiting in the outbox.
type OutboxEntry struct {
	Seq int64
	Announcement
	CreatedAt time.Time
}

// EventID is the id of the events that publish e: the same on every try,
// so that publishing it twice (a crash between publish and delete) replays.
func (e OutboxEntry) EventID() string { return fmt.Sprintf("opev_%d", e.Seq) }

// webhookEventData is the data of the webhook.* events.
type webhookEventData struct {
	TenantID string           `json:"tenant_id"`
	Mode     Mode             `json:"mode"`
	Webhook  webhookEventHook `json:"webhook"`
	Reason   string           `json:"reason,omitempty"`
}

type webhookEventHook struct {
	ID         string        `json:"id"`
	Name       string        `json:"name,omitempty"`
	URL        string        `json:"url,omitempty"`
	EventTypes []string      `json:"event_types,omitempty"`
	Enabled    bool          `json:"enabled"`
	Status     WebhookStatus `json:"status,omitempty"`
}

// WebhookAnnouncement is the webhook.* event typ about w, with why it
// happened (for webhook.disabled).
func WebhookAnnouncement(typ string, w *Webhook, reason string) Announcement {
	d := webhookEventData{TenantID: w.TenantID, Mode: w.Mode, Reason: reason, Webhook: webhookEventHook{
		ID: w.ID, Name: w.Name, URL: w.URL, EventTypes: w.EventTypes, Enabled: w.Enabled, Status: w.heldStatus(),
	}}
	b, _ := json.Marshal(d) // plain strings and slices: cannot fail
	return Announcement{TenantID: w.TenantID, Mode: w.Mode, Type: typ, Data: b}
}

// AutoDisabledAnnouncement is webhook.disabled for w, auto-disabled after
// failing for the whole window.
func AutoDisabledAnnouncement(w *Webhook) Announcement {
	reason := "it failed for the whole auto-disable window"
	if w.FailingSince != nil {
		reason += ", since " + w.FailingSince.UTC().Format(time.RFC3339)
	}
	return WebhookAnnouncement(EventWebhookDisabled, w, reason)
}

// announcements returns anns unless s is the operator's own scope, whose
// webhooks announce nothing (an event about them would go to them).
func announcements(s Scope, anns ...Announcement) []Announcement {
	if s.TenantID == OperatorTenantID {
		return nil
	}
	return anns
}

// announceDisabled is webhook.disabled for a webhook known only by its id.
func announceDisabled(tenantID string, mode Mode, webhookID, reason string) Announcement {
	b, _ := json.Marshal(webhookEventData{TenantID: tenantID, Mode: mode, Reason: reason, Webhook: webhookEventHook{ID: webhookID}})
	return Announcement{TenantID: tenantID, Mode: mode, Type: EventWebhookDisabled, Data: b}
}

// exhaustedData is the data of delivery.exhausted.
type exhaustedData struct {
	TenantID   string     `json:"tenant_id"`
	Mode       Mode       `json:"mode"`
	DeliveryID string     `json:"delivery_id"`
	WebhookID  string     `json:"webhook_id"`
	EventID    string     `json:"event_id,omitempty"`
	EventType  string     `json:"event_type,omitempty"`
	ErrorClass ErrorClass `json:"error_class,omitempty"`
	Error      string     `json:"error,omitempty"`
	StatusCode int        `json:"status_code,omitempty"`
}
