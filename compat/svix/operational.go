package svix

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/hookd/hookd"
)

// Svix's operational webhooks are hookd's operator events: the endpoints
// of /operational-webhook/endpoint are the webhooks of the operator's
// tenant (hookd.OperatorTenantID, live mode), and each operator event is
// published to them once more under Svix's name and in Svix's shape
// (Translate, which the relay calls). An operational endpoint names the
// Svix types it receives; one made without filterTypes names them all
// (metaAllTypes), since operator events reach only the webhooks that name
// their type.

// operationalType is one of Svix's operational event types and the hookd
// operator event it comes from ("" for none: hookd does not send it).
type operationalType struct {
	name, from, description string
}

var operationalTypes = []operationalType{
	{"endpoint.created", hookd.EventWebhookCreated, "Sent when an endpoint is created."},
	{"endpoint.updated", hookd.EventWebhookUpdated, "Sent when an endpoint is updated."},
	{"endpoint.deleted", hookd.EventWebhookDeleted, "Sent when an endpoint is deleted."},
	{"endpoint.disabled", hookd.EventWebhookDisabled, "Sent when an endpoint has been disabled: automatically after continuous failures, or through the API."},
	{"message.attempt.exhausted", hookd.EventDeliveryExhausted, "Sent when a message delivery has failed (all of the retry attempts have been exhausted)."},
	{"message.attempt.failing", "", "Not sent by hookd."},
	{"message.attempt.recovered", "", "Not sent by hookd."},
}

// metaAllTypes marks an operational endpoint made without filterTypes: it
// names every type, and answers filterTypes null.
const metaAllTypes = "svix.all_types"

// operatorScope is where operational endpoints live.
var operatorScope = hookd.Scope{TenantID: hookd.OperatorTenantID, Mode: hookd.ModeLive}

// operational serves a request on the operator's operational endpoints:
// an operator key only.
func (a *api) operational(h appFunc) http.Handler {
	return a.operator(func(w http.ResponseWriter, r *http.Request) error {
		return h(w, r, operatorScope)
	})
}

// operationalEndpointJSON is Svix's OperationalWebhookEndpointOut (which
// has no version and no channels; the SDKs refuse unknown fields).
type operationalEndpointJSON struct {
	ID          string            `json:"id"`
	UID         *string           `json:"uid,omitempty"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	RateLimit   *int              `json:"rateLimit,omitempty"`
	Disabled    bool              `json:"disabled"`
	FilterTypes []string          `json:"filterTypes,omitempty"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   string            `json:"createdAt"`
	UpdatedAt   string            `json:"updatedAt"`
}

func toOperationalEndpoint(w *hookd.Webhook) operationalEndpointJSON {
	e := toEndpoint(w)
	out := operationalEndpointJSON{ID: e.ID, UID: e.UID, URL: e.URL, Description: e.Description, RateLimit: e.RateLimit,
		Disabled: e.Disabled, FilterTypes: e.FilterTypes, Metadata: e.Metadata, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if w.Metadata[metaAllTypes] != "" {
		out.FilterTypes = nil
	}
	return out
}

// endpointOut is the endpoint as the API of its scope answers it.
func endpointOut(s hookd.Scope, w *hookd.Webhook) any {
	if s.TenantID == hookd.OperatorTenantID {
		return toOperationalEndpoint(w)
	}
	return toEndpoint(w)
}

// prepareOperational checks an operational endpoint's update: its types
// are Svix's operational ones (none meaning all of them), it has no
// channels, and the operator's catalog holds the types so that hookd
// accepts them.
func (a *api) prepareOperational(ctx context.Context, u *hookd.WebhookUpdate, cur map[string]string) error {
	if u.Metadata != nil && (*u.Metadata)[MetaChannels] != "" {
		return hookd.Errorf(hookd.EINVALID, "channels: operational endpoints have no channels")
	}
	if u.EventTypes == nil {
		return nil
	}
	meta := u.Metadata
	if meta == nil {
		m := map[string]string{}
		for k, v := range cur {
			m[k] = v
		}
		meta = &m
		u.Metadata = meta
	}
	delete(*meta, metaAllTypes)
	types := *u.EventTypes
	for i, name := range types {
		if !slices.ContainsFunc(operationalTypes, func(t operationalType) bool { return t.name == name }) {
			return hookd.Errorf(hookd.EINVALID, "filterTypes[%d]: %q is not an operational event type (%s)", i, name, operationalNames())
		}
	}
	if len(types) == 0 {
		all := make([]string, len(operationalTypes))
		for i, t := range operationalTypes {
			all[i] = t.name
		}
		*u.EventTypes = all
		(*meta)[metaAllTypes] = "true"
	}
	ts := make([]*hookd.EventType, len(operationalTypes))
	for i, t := range operationalTypes {
		ts[i] = &hookd.EventType{Name: t.name, Description: t.description}
	}
	return a.svc.EventTypes.EnsureEventTypes(ctx, operatorScope, ts)
}

func operationalNames() string {
	var b []byte
	for i, t := range operationalTypes {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, t.name...)
	}
	return string(b)
}

// listOperationalEndpoints lists the operator tenant's webhooks: those
// made here and those made through /v1 as ten_operator.
func (a *api) listOperationalEndpoints(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	return listWebhooks(a, w, r, s, func(wh *hookd.Webhook) operationalEndpointJSON { return toOperationalEndpoint(wh) },
		func(e operationalEndpointJSON) string { return e.ID })
}

// Translate returns Svix's operational webhook for an operator event, to
// be published in the operator's scope (delivery.RelayConfig.Translate):
// {"type": "endpoint.disabled", "data": {"appId": …, …}}, the shape of
// Svix's server. An event hookd has no Svix name for gives none. What it
// looks up (the application's uid, the endpoint's, the message's eventId,
// the last attempt) is left out when it is gone.
func Translate(svc hookd.Services) func(ctx context.Context, e hookd.OutboxEntry) ([]*hookd.Event, error) {
	return func(ctx context.Context, e hookd.OutboxEntry) ([]*hookd.Event, error) {
		i := slices.IndexFunc(operationalTypes, func(t operationalType) bool { return t.from == e.Type })
		if i < 0 {
			return nil, nil
		}
		// Most operators have no operational endpoint: look nothing up for none.
		enabled := true
		ws, _, err := svc.Webhooks.FindWebhooks(ctx, operatorScope, hookd.WebhookFilter{EventType: operationalTypes[i].name, Enabled: &enabled, Page: hookd.Page{Limit: 1}})
		if err != nil || len(ws) == 0 {
			return nil, err
		}
		data, err := translateData(ctx, svc, e)
		if err != nil || data == nil {
			return nil, err
		}
		b, err := json.Marshal(struct {
			Type string `json:"type"`
			Data any    `json:"data"`
		}{operationalTypes[i].name, data})
		if err != nil {
			return nil, err
		}
		return []*hookd.Event{{ID: fmt.Sprintf("msg_opev%d", e.Seq), Type: operationalTypes[i].name, Data: b}}, nil
	}
}

// endpointEventData is Svix's EndpointCreatedEventData (and updated,
// deleted); failSince and trigger are endpoint.disabled's.
type endpointEventData struct {
	AppID       string  `json:"appId"`
	AppUID      *string `json:"appUid,omitempty"`
	EndpointID  string  `json:"endpointId"`
	EndpointUID *string `json:"endpointUid,omitempty"`
	FailSince   *string `json:"failSince,omitempty"`
	Trigger     string  `json:"trigger,omitempty"` // manual or automatic
}

// attemptEventData is Svix's MessageAttemptExhaustedEventData.
type attemptEventData struct {
	AppID       string          `json:"appId"`
	AppUID      *string         `json:"appUid,omitempty"`
	MsgID       string          `json:"msgId"`
	MsgEventID  *string         `json:"msgEventId,omitempty"`
	EndpointID  string          `json:"endpointId"`
	LastAttempt lastAttemptJSON `json:"lastAttempt"`
}

type lastAttemptJSON struct {
	ID                 string `json:"id"`
	ResponseStatusCode int    `json:"responseStatusCode"`
	Timestamp          string `json:"timestamp"`
}

// operatorEventData is what this package reads of an operator event's data.
type operatorEventData struct {
	TenantID string     `json:"tenant_id"`
	Mode     hookd.Mode `json:"mode"`
	Reason   string     `json:"reason"`
	Webhook  struct {
		ID string `json:"id"`
	} `json:"webhook"`
	DeliveryID string `json:"delivery_id"`
	WebhookID  string `json:"webhook_id"`
	EventID    string `json:"event_id"`
	StatusCode int    `json:"status_code"`
}

func translateData(ctx context.Context, svc hookd.Services, e hookd.OutboxEntry) (any, error) {
	var in operatorEventData
	if err := json.Unmarshal(e.Data, &in); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.Type, err)
	}
	s := hookd.Scope{TenantID: in.TenantID, Mode: in.Mode}
	appUID, err := tenantUID(ctx, svc, in.TenantID)
	if err != nil {
		return nil, err
	}
	if e.Type == hookd.EventDeliveryExhausted {
		out := attemptEventData{AppID: appID(in.TenantID), AppUID: appUID, MsgID: in.EventID, EndpointID: endpointID(in.WebhookID),
			LastAttempt: lastAttemptJSON{ResponseStatusCode: in.StatusCode, Timestamp: timeJSON(e.CreatedAt)}}
		if ev, err := svc.Events.FindEventByID(ctx, s, in.EventID); err == nil {
			out.MsgEventID = eventIDOf(ev)
		} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return nil, err
		}
		_, atts, err := svc.Deliveries.FindDeliveryByID(ctx, s, in.DeliveryID)
		if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return nil, err
		}
		if n := len(atts); n > 0 {
			last := atts[n-1]
			for _, at := range atts {
				if at.At.After(last.At) {
					last = at
				}
			}
			out.LastAttempt = lastAttemptJSON{ID: attemptID(last.ID), ResponseStatusCode: last.StatusCode, Timestamp: timeJSON(last.At)}
		}
		return out, nil
	}
	out := endpointEventData{AppID: appID(in.TenantID), AppUID: appUID, EndpointID: endpointID(in.Webhook.ID)}
	wh, err := svc.Webhooks.FindWebhookByID(ctx, s, in.Webhook.ID)
	if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return nil, err
	}
	if wh != nil {
		if uid, ok := wh.Metadata[MetaUID]; ok {
			out.EndpointUID = &uid
		}
	}
	if e.Type == hookd.EventWebhookDisabled {
		out.Trigger = "automatic"
		if in.Reason == hookd.ReasonDisabledByAPI {
			out.Trigger = "manual"
		}
		if wh != nil && wh.FailingSince != nil {
			t := timeJSON(*wh.FailingSince)
			out.FailSince = &t
		}
	}
	return out, nil
}

// tenantUID is the tenant's uid, nil when it has none or is gone.
func tenantUID(ctx context.Context, svc hookd.Services, id string) (*string, error) {
	t, err := svc.Tenants.FindTenant(ctx, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if t.UID == "" {
		return nil, nil
	}
	return &t.UID, nil
}
