package svix

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// deliveryStatus is Svix's MessageStatus of a delivery: 0 success, 1
// pending, 2 failed (a cancelled delivery, whose endpoint was disabled,
// counts as failed).
func deliveryStatus(st hookd.DeliveryStatus) int {
	switch st {
	case hookd.DeliverySucceeded:
		return statusSuccess
	case hookd.DeliveryPending:
		return statusPending
	}
	return statusFail
}

// statusParam reads Svix's status filter as a delivery status ("" for none).
func statusParam(r *http.Request) (hookd.DeliveryStatus, error) {
	v := r.URL.Query().Get("status")
	switch v {
	case "":
		return "", nil
	case strconv.Itoa(statusSuccess):
		return hookd.DeliverySucceeded, nil
	case strconv.Itoa(statusPending), strconv.Itoa(statusSending):
		return hookd.DeliveryPending, nil
	case strconv.Itoa(statusFail):
		return hookd.DeliveryFailed, nil
	}
	return "", hookd.Errorf(hookd.EINVALID, "status must be 0, 1, 2 or 3, got %q", v)
}

// messageEndpointJSON is Svix's MessageEndpointOut: an endpoint a message
// was sent to, with where that delivery stands.
type messageEndpointJSON struct {
	endpointFields
	Status      int     `json:"status"`
	NextAttempt *string `json:"nextAttempt,omitempty"`
}

func toMessageEndpoint(wh *hookd.Webhook, d *hookd.Delivery) messageEndpointJSON {
	me := messageEndpointJSON{endpointFields: toEndpoint(wh).endpointFields, Status: deliveryStatus(d.Status)}
	if d.Status == hookd.DeliveryPending && d.NextAttemptAt != nil {
		t := timeJSON(*d.NextAttemptAt)
		me.NextAttempt = &t
	}
	return me
}

// listDestinations is GET /app/{app_id}/msg/{msg_id}/endpoint: the
// endpoints the message was sent to, by endpoint id.
func (a *api) listDestinations(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	limit, it := p.limit, p.iterator
	e, err := a.findMessage(r.Context(), s, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	var out []messageEndpointJSON
	var failed error
	err = a.eachDelivery(r.Context(), s, hookd.DeliveryFilter{EventID: e.ID}, func(d *hookd.Delivery) bool {
		wh, err := a.svc.Webhooks.FindWebhookByID(r.Context(), s, d.WebhookID)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return true // a deleted endpoint is left out
		} else if err != nil {
			failed = err
			return false
		}
		out = append(out, toMessageEndpoint(wh, d))
		return true
	})
	if err = errors.Join(err, failed); err != nil {
		return err
	}
	slices.SortFunc(out, func(x, y messageEndpointJSON) int { return strings.Compare(x.ID, y.ID) })
	sel := []messageEndpointJSON{}
	for _, me := range out {
		if it == "" || me.ID > it {
			sel = append(sel, me)
		}
		if len(sel) > limit {
			break
		}
	}
	compat.WriteJSON(w, http.StatusOK, list(sel, limit, func(me messageEndpointJSON) string { return me.ID }))
	return nil
}

// endpointMessageJSON is Svix's EndpointMessageOut: a message sent to an
// endpoint, with where that delivery stands.
type endpointMessageJSON struct {
	messageJSON
	Status      int     `json:"status"`
	NextAttempt *string `json:"nextAttempt,omitempty"`
	delivery    string  // the iterator: the delivery's id
}

// unfilteredLabels refuses Svix's channel and tag filters of the list of
// an endpoint's messages: that list pages over the endpoint's deliveries,
// and a filter there would need an index of deliveries by label.
func unfilteredLabels(r *http.Request) error {
	for _, name := range []string{"channel", "tag"} {
		if r.URL.Query().Has(name) {
			return hookd.Errorf(hookd.EINVALID, "%s: hookd filters by channel and tag the lists of messages and of attempts, not the messages of an endpoint", name)
		}
	}
	return nil
}

// listEndpointMessages is GET /app/{app_id}/endpoint/{endpoint_id}/msg:
// the messages sent to the endpoint, newest first. Its iterator is the
// last delivery's id.
func (a *api) listEndpointMessages(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	p, err := page(r)
	if err == nil {
		err = unfilteredLabels(r)
	}
	if err != nil {
		return err
	}
	limit, it := p.limit, p.iterator
	st, err := statusParam(r)
	if err != nil {
		return err
	}
	wh, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	f := hookd.DeliveryFilter{WebhookID: wh.ID, Status: st, Page: hookd.Page{Limit: limit + 1, Cursor: it}}
	if f.Since, err = timeParam(r, "after"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "before"); err != nil {
		return err
	}
	ds, err := a.svc.Deliveries.FindDeliveries(r.Context(), s, f)
	if err != nil {
		return err
	}
	out := make([]endpointMessageJSON, 0, len(ds))
	for _, d := range ds {
		e, err := a.svc.Events.FindEventByID(r.Context(), s, d.EventID)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			continue // pruned meanwhile
		} else if err != nil {
			return err
		}
		em := endpointMessageJSON{messageJSON: toMessage(e, withContent(r)), Status: deliveryStatus(d.Status), delivery: d.ID}
		if d.Status == hookd.DeliveryPending && d.NextAttemptAt != nil {
			t := timeJSON(*d.NextAttemptAt)
			em.NextAttempt = &t
		}
		out = append(out, em)
	}
	compat.WriteJSON(w, http.StatusOK, list(out, limit, func(em endpointMessageJSON) string { return em.delivery }))
	return nil
}
