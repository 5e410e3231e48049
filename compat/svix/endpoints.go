package svix

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// endpointJSON is Svix's EndpointOut.
type endpointJSON struct {
	endpointFields
	Metadata map[string]string `json:"metadata"`
}

// endpointFields are those of an endpoint that Svix's MessageEndpointOut
// has too (it has no metadata, and Svix's clients refuse unknown fields).
type endpointFields struct {
	ID          string   `json:"id"`
	UID         *string  `json:"uid,omitempty"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Version     int      `json:"version"`
	RateLimit   *int     `json:"rateLimit,omitempty"`
	Disabled    bool     `json:"disabled"`
	FilterTypes []string `json:"filterTypes,omitempty"`
	Channels    []string `json:"channels,omitempty"`
	CreatedAt   string   `json:"createdAt"`
	UpdatedAt   string   `json:"updatedAt"`
}

func toEndpoint(w *hookd.Webhook) endpointJSON {
	out := endpointJSON{endpointFields: endpointFields{
		ID: endpointID(w.ID), URL: w.URL, Description: w.Description, Version: 1,
		RateLimit: w.RateLimit, Disabled: !w.Enabled,
		CreatedAt: timeJSON(w.CreatedAt), UpdatedAt: timeJSON(w.UpdatedAt),
	}, Metadata: userMetadata(w.Metadata)}
	if len(w.EventTypes) > 0 && !slices.Contains(w.EventTypes, "*") {
		out.FilterTypes = w.EventTypes
	}
	if uid, ok := w.Metadata[MetaUID]; ok {
		out.UID = &uid
	}
	if ch := w.Metadata[MetaChannels]; ch != "" {
		out.Channels = strings.Split(ch, ",")
	}
	return out
}

// endpointIn is Svix's EndpointIn, EndpointUpdate and EndpointPatch. The
// self-hosted server's names (eventTypes, throttleRate) are read too.
type endpointIn struct {
	URL          *string                     `json:"url"`
	Description  *string                     `json:"description"`
	Disabled     *bool                       `json:"disabled"`
	FilterTypes  nullable[[]string]          `json:"filterTypes"`
	EventTypes   nullable[[]string]          `json:"eventTypes"`
	Channels     nullable[[]string]          `json:"channels"`
	RateLimit    nullable[int]               `json:"rateLimit"`
	ThrottleRate nullable[int]               `json:"throttleRate"`
	UID          nullable[string]            `json:"uid"`
	Metadata     nullable[map[string]string] `json:"metadata"`
	Secret       nullable[string]            `json:"secret"`
	Version      *int                        `json:"version"`
}

// Svix's limits on channels.
const maxChannels = 10

var channelRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.:+]{1,128}$`)

// channelChars is channelRE in words, for error messages.
const channelChars = "a-z, A-Z, 0-9, '-', '_', '.', ':' or '+'"

// update turns in into a hookd update; put makes absent optional fields
// their defaults (PUT replaces the endpoint, its uid, secret and headers
// excepted).
func (in *endpointIn) update(cur map[string]string, put bool) (hookd.WebhookUpdate, error) {
	var u hookd.WebhookUpdate
	if in.URL != nil {
		u.URL = in.URL
	} else if put {
		return u, hookd.Errorf(hookd.EINVALID, "url is required")
	}
	if in.Description != nil || put {
		d := ""
		if in.Description != nil {
			d = *in.Description
		}
		u.Description = &d
	}
	if in.Disabled != nil || put {
		enabled := in.Disabled == nil || !*in.Disabled
		u.Enabled = &enabled
	}
	types := in.FilterTypes
	if !types.Set {
		types = in.EventTypes
	}
	if types.Set || put {
		t := []string{}
		if types.Value != nil {
			t = *types.Value
		}
		u.EventTypes = &t
	}
	rate := in.RateLimit
	if !rate.Set {
		rate = in.ThrottleRate
	}
	if rate.Set || put {
		v := rate.Value
		u.RateLimit = &v
	}
	meta := map[string]string{}
	for k, v := range cur {
		meta[k] = v
	}
	metaChanged := false
	if in.Metadata.Set || put {
		user := map[string]string{}
		if in.Metadata.Value != nil {
			user = *in.Metadata.Value
		}
		m, err := withOwn(user, cur)
		if err != nil {
			return u, err
		}
		meta, metaChanged = m, true
	}
	if in.UID.Set {
		delete(meta, MetaUID)
		if in.UID.Value != nil {
			if err := hookd.ValidateUID(*in.UID.Value); err != nil {
				return u, err
			}
			meta[MetaUID] = *in.UID.Value
		}
		metaChanged = true
	}
	if in.Channels.Set || put {
		delete(meta, MetaChannels)
		if in.Channels.Value != nil && len(*in.Channels.Value) > 0 {
			ch := *in.Channels.Value
			if err := checkNames("channels", ch, maxChannels, channelRE, channelChars); err != nil {
				return u, err
			}
			meta[MetaChannels] = strings.Join(ch, ",")
		}
		metaChanged = true
		f := channelFilter(meta[MetaChannels])
		u.Filter = &f
	}
	if metaChanged {
		u.Metadata = &meta
	}
	if in.Secret.Set && in.Secret.Value != nil {
		s := svixSecret(*in.Secret.Value)
		u.Secret = &s
	}
	return u, nil
}

// svixSecret is a Svix secret as hookd keeps it: Svix also accepts the
// base64 key without its whsec_ prefix.
func svixSecret(s string) string {
	if !strings.HasPrefix(s, "whsec_") {
		return "whsec_" + s
	}
	return s
}

// channelFilter is the hookd filter of an endpoint's channels (comma-
// separated): as Svix routes, an endpoint with channels receives only the
// messages that carry one of them (a message without channels reaches
// none of them), and one without channels every message. A message's
// channels are the "channels" of its envelope (hookd.Event.Channels).
func channelFilter(channels string) json.RawMessage {
	if channels == "" {
		return nil
	}
	var or []map[string]map[string]string
	for _, c := range strings.Split(channels, ",") {
		or = append(or, map[string]map[string]string{"channels": {"$contains": c}})
	}
	b, _ := json.Marshal(map[string]any{"$or": or}) // strings only: cannot fail
	return b
}

// findEndpoint finds the endpoint ref names: an ep_ id (or hookd's wh_
// id), or its uid.
func (a *api) findEndpoint(ctx context.Context, s hookd.Scope, ref string) (*hookd.Webhook, error) {
	if strings.HasPrefix(ref, "ep_") || strings.HasPrefix(ref, "wh_") {
		return a.svc.Webhooks.FindWebhookByID(ctx, s, swapPrefix(ref, "ep_", "wh_"))
	}
	var found *hookd.Webhook
	err := a.eachWebhook(ctx, s, func(w *hookd.Webhook) bool {
		if w.Metadata[MetaUID] == ref {
			found = w
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "endpoint %q not found", ref)
	}
	return found, nil
}

// eachWebhook calls fn on every webhook of the scope, by id, until it returns false.
func (a *api) eachWebhook(ctx context.Context, s hookd.Scope, fn func(*hookd.Webhook) bool) error {
	return each(func(cursor string) ([]*hookd.Webhook, error) {
		ws, _, err := a.svc.Webhooks.FindWebhooks(ctx, s, hookd.WebhookFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit, Cursor: cursor}})
		return ws, err
	}, func(w *hookd.Webhook) string { return w.ID }, fn)
}

// prepare checks u's event types before it is applied to an endpoint of
// the scope whose metadata is cur: an operational endpoint's are Svix's
// operational types, an application's come from the catalogs (checkTypes).
func (a *api) prepare(ctx context.Context, s hookd.Scope, u *hookd.WebhookUpdate, cur map[string]string) error {
	if s.TenantID == hookd.OperatorTenantID {
		return a.prepareOperational(ctx, u, cur)
	}
	if u.EventTypes == nil {
		return nil
	}
	return a.checkTypes(ctx, s, *u.EventTypes)
}

// checkTypes makes the named event types usable in the scope: each must be
// in the tenant's catalog or the operator's, from which it is copied.
func (a *api) checkTypes(ctx context.Context, s hookd.Scope, types []string) error {
	var add []*hookd.EventType
	for i, name := range types {
		if hookd.IsWildcard(name) {
			continue
		}
		if _, err := a.svc.EventTypes.FindEventType(ctx, s, name); err == nil {
			continue
		} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return err
		}
		t, err := a.svc.OperatorCatalog.FindOperatorEventType(ctx, name)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.EINVALID, "filterTypes[%d]: event type %q does not exist", i, name)
		} else if err != nil {
			return err
		}
		add = append(add, &hookd.EventType{Name: t.Name, Description: t.Description, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt})
	}
	if len(add) == 0 {
		return nil
	}
	return a.svc.EventTypes.EnsureEventTypes(ctx, s, add)
}

func (a *api) listEndpoints(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	return listWebhooks(a, w, r, s, toEndpoint, func(e endpointJSON) string { return e.ID })
}

// listWebhooks answers a page of the scope's webhooks as out makes them,
// by id in the order asked.
func listWebhooks[T any](a *api, w http.ResponseWriter, r *http.Request, s hookd.Scope, out func(*hookd.Webhook) T, id func(T) string) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	var items []T
	if p.desc {
		err = a.eachWebhook(r.Context(), s, func(wh *hookd.Webhook) bool { items = append(items, out(wh)); return true })
	} else {
		var ws []*hookd.Webhook
		ws, _, err = a.svc.Webhooks.FindWebhooks(r.Context(), s, hookd.WebhookFilter{Page: hookd.Page{Limit: p.limit + 1, Cursor: swapPrefix(p.iterator, "ep_", "wh_")}})
		for _, wh := range ws {
			items = append(items, out(wh))
		}
	}
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, answer(p, items, id))
	return nil
}

func (a *api) createEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in endpointIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	wh, err := a.create(r.Context(), s, &in)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusCreated, endpointOut(s, wh))
	return nil
}

func (a *api) create(ctx context.Context, s hookd.Scope, in *endpointIn) (*hookd.Webhook, error) {
	if in.URL == nil {
		return nil, hookd.Errorf(hookd.EINVALID, "url is required")
	}
	u, err := in.update(nil, true)
	if err != nil {
		return nil, err
	}
	if in.UID.Value != nil {
		if _, err := a.findEndpoint(ctx, s, *in.UID.Value); err == nil {
			return nil, hookd.Errorf(hookd.ECONFLICT, "an endpoint with uid %q already exists", *in.UID.Value)
		} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return nil, err
		}
	}
	if err := a.prepare(ctx, s, &u, nil); err != nil {
		return nil, err
	}
	wh := &hookd.Webhook{Source: Source, TLSVerify: true}
	u.Apply(wh, time.Time{})
	if err := a.svc.Webhooks.CreateWebhook(ctx, s, wh); err != nil {
		return nil, err
	}
	return wh, nil
}

func (a *api) getEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	wh, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, endpointOut(s, wh))
	return nil
}

// putEndpoint replaces the endpoint, or creates one (201) when a uid names none.
func (a *api) putEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in endpointIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	ref := r.PathValue("endpoint_id")
	cur, err := a.findEndpoint(r.Context(), s, ref)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND && !strings.HasPrefix(ref, "ep_") {
		if !in.UID.Set {
			in.UID = nullable[string]{Set: true, Value: &ref}
		}
		wh, err := a.create(r.Context(), s, &in)
		if err != nil {
			return err
		}
		compat.WriteJSON(w, http.StatusCreated, endpointOut(s, wh))
		return nil
	} else if err != nil {
		return err
	}
	return a.update(w, r, s, cur, &in, true)
}

func (a *api) patchEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in endpointIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	return a.update(w, r, s, cur, &in, false)
}

func (a *api) update(w http.ResponseWriter, r *http.Request, s hookd.Scope, cur *hookd.Webhook, in *endpointIn, put bool) error {
	u, err := in.update(cur.Metadata, put)
	if err != nil {
		return err
	}
	if in.UID.Value != nil && *in.UID.Value != cur.Metadata[MetaUID] {
		if _, err := a.findEndpoint(r.Context(), s, *in.UID.Value); err == nil {
			return hookd.Errorf(hookd.ECONFLICT, "an endpoint with uid %q already exists", *in.UID.Value)
		}
	}
	if err := a.prepare(r.Context(), s, &u, cur.Metadata); err != nil {
		return err
	}
	wh, err := a.svc.Webhooks.UpdateWebhook(r.Context(), s, cur.ID, u)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, endpointOut(s, wh))
	return nil
}

func (a *api) deleteEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	if err := a.svc.Webhooks.DeleteWebhook(r.Context(), s, cur.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) getSecret(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, struct {
		Key string `json:"key"`
	}{cur.Secret})
	return nil
}

// rotateSecret makes a new secret (or sets the one given); the old one
// keeps signing for the grace period (24 h by default, as Svix's).
func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in struct {
		Key *string `json:"key"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(r, &in); err != nil {
			return err
		}
	}
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	if in.Key != nil {
		key := svixSecret(*in.Key)
		if err := hookd.ValidateSecret(key); err != nil {
			return err
		}
	}
	if _, err := a.svc.Webhooks.RotateWebhookSecret(r.Context(), s, cur.ID, a.opts.SecretGrace); err != nil {
		return err
	}
	if in.Key != nil {
		key := svixSecret(*in.Key)
		if _, err := a.svc.Webhooks.UpdateWebhook(r.Context(), s, cur.ID, hookd.WebhookUpdate{Secret: &key}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) getHeaders(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	h := cur.Headers
	if h == nil {
		h = map[string]string{}
	}
	compat.WriteJSON(w, http.StatusOK, struct {
		Headers   map[string]string `json:"headers"`
		Sensitive []string          `json:"sensitive"`
	}{h, []string{}})
	return nil
}

// putHeaders replaces the custom headers; patchHeaders merges, a null
// value removing a header.
func (a *api) putHeaders(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	return a.headers(w, r, s, true)
}

func (a *api) patchHeaders(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	return a.headers(w, r, s, false)
}

func (a *api) headers(w http.ResponseWriter, r *http.Request, s hookd.Scope, replace bool) error {
	var in struct {
		Headers map[string]*string `json:"headers"`
	}
	if err := a.decode(r, &in); err != nil {
		return err
	}
	if in.Headers == nil {
		return hookd.Errorf(hookd.EINVALID, "headers is required")
	}
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	h := map[string]string{}
	if !replace {
		for k, v := range cur.Headers {
			h[k] = v
		}
	}
	for k, v := range in.Headers {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = *v
		}
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "svix-") {
			return hookd.Errorf(hookd.EINVALID, "headers: %q is set by hookd and cannot be replaced", k)
		}
	}
	if _, err := a.svc.Webhooks.UpdateWebhook(r.Context(), s, cur.ID, hookd.WebhookUpdate{Headers: &h}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recoverEndpoint resends the endpoint's failed messages since a time.
func (a *api) recoverEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in struct {
		Since *time.Time `json:"since"`
		Until *time.Time `json:"until"`
	}
	if err := a.decode(r, &in); err != nil {
		return err
	}
	if in.Since == nil {
		return hookd.Errorf(hookd.EINVALID, "since is required")
	}
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	if _, err := a.svc.Deliveries.RecoverWebhook(r.Context(), s, cur.ID, *in.Since, in.Until); err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusAccepted, struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Task   string `json:"task"`
	}{hookd.NewID("qtask"), "running", "endpoint.recover"})
	return nil
}

// endpointStats counts the endpoint's deliveries by status, created in
// [since, until) when given.
func (a *api) endpointStats(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	cur, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	f := hookd.DeliveryFilter{WebhookID: cur.ID}
	for name, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return hookd.Errorf(hookd.EINVALID, "%s must be an RFC 3339 time, got %q", name, v)
			}
			*dst = &t
		}
	}
	var out struct {
		Success int64 `json:"success"`
		Pending int64 `json:"pending"`
		Sending int64 `json:"sending"`
		Fail    int64 `json:"fail"`
	}
	err = a.eachDelivery(r.Context(), s, f, func(d *hookd.Delivery) bool {
		switch d.Status {
		case hookd.DeliverySucceeded:
			out.Success++
		case hookd.DeliveryPending:
			out.Pending++
		case hookd.DeliveryFailed, hookd.DeliveryCancelled:
			out.Fail++
		}
		return true
	})
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, out)
	return nil
}

// eachDelivery calls fn on the deliveries f selects, newest first, until it returns false.
func (a *api) eachDelivery(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter, fn func(*hookd.Delivery) bool) error {
	return each(func(cursor string) ([]*hookd.Delivery, error) {
		f.Page = hookd.Page{Limit: hookd.MaxPageLimit, Cursor: cursor}
		return a.svc.Deliveries.FindDeliveries(ctx, s, f)
	}, func(d *hookd.Delivery) string { return d.ID }, fn)
}

// each calls fn on every row that pages of hookd.MaxPageLimit rows bring,
// the cursor of each page being the id of the previous one's last row,
// until fn returns false.
func each[T any](page func(cursor string) ([]T, error), id func(T) string, fn func(T) bool) error {
	cursor := ""
	for {
		rows, err := page(cursor)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !fn(r) {
				return nil
			}
		}
		if len(rows) < hookd.MaxPageLimit {
			return nil
		}
		cursor = id(rows[len(rows)-1])
	}
}
