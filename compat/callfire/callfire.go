// Package callfire serves the webhook API of CallFire v2 (seeds 000 and 001)
// over the hookd domain services, so that a CallFire client only changes its
// base URL: numeric ids, unix-millisecond times, {items, limit, offset,
// totalCount} pages, HTTP Basic auth, the partial-response "fields"
// parameter and CallFire's error object.
//
// Webhooks made here carry Source "callfire", which makes their deliveries
// carry X-CallFire-Signature. The handler serves paths relative to the API's
// base (/webhooks, /webhooks/{id}, /webhooks/resources); mount it with
// http.StripPrefix("/compat/callfire/v2", callfire.New(...)).
package callfire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// Source is the hookd.Webhook.Source of webhooks made through this API.
const Source = "callfire"

// Options configure the handler: logger, body limit, clock.
type Options = compat.Options

// Paging as CallFire documents it.
const (
	defaultLimit = 100
	maxLimit     = hookd.MaxPageLimit
)

type api struct {
	svc  hookd.Services
	opts Options
	http compat.API
}

// New returns the CallFire v2 webhook API.
func New(svc hookd.Services, opts Options) http.Handler {
	a := &api{svc: svc, opts: opts.WithDefaults()}
	a.http = compat.API{
		Logger:       a.opts.Logger,
		Authenticate: a.authenticate,
		Catalog:      compat.NewCatalog(svc.EventTypes, eventTypes),
		Status:       compat.StatusBadRequestForInvalid, // the document answers 400 for bad input
		Render:       renderError,
	}
	h := a.http.Handle
	mux := http.NewServeMux()
	mux.Handle("GET /webhooks", h(a.findWebhooks))
	mux.Handle("POST /webhooks", h(a.createWebhook))
	mux.Handle("GET /webhooks/resources", h(a.findResources))
	mux.Handle("GET /webhooks/resources/{resource}", h(a.getResource))
	mux.Handle("GET /webhooks/{id}", h(a.getWebhook))
	mux.Handle("PUT /webhooks/{id}", h(a.updateWebhook))
	mux.Handle("DELETE /webhooks/{id}", h(a.deleteWebhook))
	mux.Handle("/webhooks", a.http.MethodNotAllowed("GET, POST"))
	mux.Handle("/webhooks/{id}", a.http.MethodNotAllowed("GET, PUT, DELETE"))
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		mux.Handle(m+" /webhooks/resources", a.http.MethodNotAllowed("GET"))
		mux.Handle(m+" /webhooks/resources/{resource}", a.http.MethodNotAllowed("GET"))
	}
	mux.HandleFunc("GET "+swaggerPath, serveSwagger)
	mux.Handle("/", a.http.NotFound())
	return mux
}

// authenticate reads HTTP Basic credentials whose password is a hookd API
// key. The username is ignored, and a key given as the username with an
// empty password (curl -u key:) is accepted too, as is a Bearer token.
func (a *api) authenticate(r *http.Request) (hookd.Scope, error) {
	user, pass, ok := r.BasicAuth()
	key := pass
	if key == "" {
		key = user
	}
	if !ok {
		if b, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			key = strings.TrimSpace(b)
		}
	}
	if key == "" {
		return hookd.Scope{}, hookd.Errorf(hookd.EUNAUTHORIZED, "authentication required: use HTTP Basic auth with a hookd API key as the password")
	}
	return compat.Authenticate(r, a.svc.Tenants, key)
}

// errorJSON is CallFire's ErrorMessage. Its clients read developerMessage
// too (helpLink, the other optional property, is left out: hookd has no
// page to link to).
type errorJSON struct {
	HTTPStatusCode   int    `json:"httpStatusCode"`
	InternalCode     int    `json:"internalCode"`
	Message          string `json:"message"`
	DeveloperMessage string `json:"developerMessage"`
}

func renderError(w http.ResponseWriter, st int, code, msg string) {
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="hookd"`)
	}
	compat.WriteJSON(w, st, errorJSON{HTTPStatusCode: st, InternalCode: 0, Message: msg,
		DeveloperMessage: "hookd error code " + code + ": " + msg})
}

// writeProjected writes v keeping only the properties sel names.
func writeProjected(w http.ResponseWriter, v any, sel selection) error {
	if sel == nil {
		compat.WriteJSON(w, http.StatusOK, v)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	compat.WriteJSON(w, http.StatusOK, sel.project(doc))
	return nil
}

// pageSelection applies a fields expression to a page: one that names none
// of the page's own properties applies to its items.
func pageSelection(sel selection) selection {
	return wrapSelection(sel, "items", "limit", "offset", "totalCount")
}

// listSelection is pageSelection for a list without paging properties.
func listSelection(sel selection) selection { return wrapSelection(sel, "items") }

func wrapSelection(sel selection, props ...string) selection {
	if sel == nil {
		return nil
	}
	for _, k := range props {
		if _, ok := sel.find(k); ok {
			return sel
		}
	}
	out := selection{{name: "items", sub: sel}}
	for _, k := range props[1:] {
		out = append(out, selected{name: k})
	}
	return out
}

// webhookNumber parses the {id} path segment.
func webhookNumber(r *http.Request) (int64, error) {
	raw := r.PathValue("id")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, hookd.Errorf(hookd.EINVALID, "id must be a positive integer, got %q", raw)
	}
	return n, nil
}

func (a *api) findWebhook(r *http.Request, s hookd.Scope) (*hookd.Webhook, error) {
	n, err := webhookNumber(r)
	if err != nil {
		return nil, err
	}
	w, err := a.svc.Webhooks.FindWebhookByNumber(r.Context(), s, n)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND || (err == nil && !representable(w)) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook %d not found", n)
	}
	return w, err
}

func (a *api) getWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	sel, err := parseSelection("fields", r.URL.Query().Get("fields"))
	if err != nil {
		return err
	}
	wh, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	return writeProjected(w, toJSON(wh), sel)
}

func (a *api) createWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in webhookInput
	if err := compat.DecodeJSON(r, a.opts.MaxBodyBytes, &in); err != nil {
		return err
	}
	cat, err := a.loadCatalog(r.Context(), s)
	if err != nil {
		return err
	}
	now := a.opts.Now()
	u, err := in.update(nil, cat, now)
	if err != nil {
		return err
	}
	wh := &hookd.Webhook{Source: Source}
	u.Apply(wh, now)
	if err := a.svc.Webhooks.CreateWebhook(r.Context(), s, wh); err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, struct {
		ID int64 `json:"id"`
	}{wh.Number})
	return nil
}

// updateWebhook answers 204 No Content, as CallFire's update operations do.
func (a *api) updateWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in webhookInput
	if err := compat.DecodeJSON(r, a.opts.MaxBodyBytes, &in); err != nil {
		return err
	}
	cur, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	cat, err := a.loadCatalog(r.Context(), s)
	if err != nil {
		return err
	}
	u, err := in.update(cur, cat, a.opts.Now())
	if err != nil {
		return err
	}
	if _, err := a.svc.Webhooks.UpdateWebhook(r.Context(), s, cur.ID, u); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND { // deleted meanwhile
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %d not found", cur.Number)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteWebhook answers 204 No Content, as CallFire's delete operations do.
func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	cur, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	if err := a.svc.Webhooks.DeleteWebhook(r.Context(), s, cur.ID); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %d not found", cur.Number)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readCatalog parses the fields parameter and loads the scope's catalog,
// for the two resource operations.
func (a *api) readCatalog(r *http.Request, s hookd.Scope) (selection, *catalog, error) {
	sel, err := parseSelection("fields", r.URL.Query().Get("fields"))
	if err != nil {
		return nil, nil, err
	}
	cat, err := a.loadCatalog(r.Context(), s)
	return sel, cat, err
}

func (a *api) findResources(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	sel, cat, err := a.readCatalog(r, s)
	if err != nil {
		return err
	}
	items := make([]resourceJSON, len(cat.list))
	for i, res := range cat.list {
		items[i] = res.toJSON()
	}
	return writeProjected(w, struct {
		Items []resourceJSON `json:"items"`
	}{items}, listSelection(sel))
}

// getResource answers one WebhookResource. The name is matched as fold
// does: CallBroadcast, CALL_BROADCAST and call-broadcast are one resource.
func (a *api) getResource(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	sel, cat, err := a.readCatalog(r, s)
	if err != nil {
		return err
	}
	name := r.PathValue("resource")
	i, ok := cat.byName[fold(name)]
	if !ok {
		return hookd.Errorf(hookd.ENOTFOUND, "webhook resource %q not found; available: %s", name, cat.names())
	}
	return writeProjected(w, cat.list[i].toJSON(), sel)
}

type pageJSON struct {
	Items      []webhookJSON `json:"items"`
	Limit      int           `json:"limit"`
	Offset     int           `json:"offset"`
	TotalCount int           `json:"totalCount"`
}

func (a *api) findWebhooks(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	q := r.URL.Query()
	sel, err := parseSelection("fields", q.Get("fields"))
	if err != nil {
		return err
	}
	f := hookd.WebhookFilter{URL: q.Get("callback"), Name: q.Get("name")}
	if v := q.Get("enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return hookd.Errorf(hookd.EINVALID, "enabled must be true or false, got %q", v)
		}
		f.Enabled = &b
	}
	if f.Limit, err = compat.IntParam(q.Get("limit"), "limit", defaultLimit, 1, maxLimit); err != nil {
		return err
	}
	if f.Offset, err = compat.IntParam(q.Get("offset"), "offset", 0, 0, compat.MaxOffset); err != nil {
		return err
	}
	var anyOf []string // event types to match in memory
	if q.Get("resource") != "" || q.Get("event") != "" {
		cat, err := a.loadCatalog(r.Context(), s)
		if err != nil {
			return err
		}
		var res resource
		if v := q.Get("resource"); v != "" {
			if res, err = cat.resource("resource", v); err != nil {
				return err
			}
			f.Resource = res.Name
		}
		if v := q.Get("event"); v != "" {
			if res.Name != "" {
				e, err := res.event("event", v)
				if err != nil {
					return err
				}
				f.EventType = res.Name + "." + e
			} else {
				anyOf = cat.eventTypesFor(v)
				if len(anyOf) == 0 {
					return hookd.Errorf(hookd.EINVALID, "event: %q is not an event of any resource", v)
				}
				if len(anyOf) == 1 {
					f.EventType, anyOf = anyOf[0], nil
				}
			}
		}
	}
	page, total, err := a.findRepresentable(r, s, f, anyOf)
	if err != nil {
		return err
	}
	out := pageJSON{Items: make([]webhookJSON, len(page)), Limit: f.Limit, Offset: f.Offset, TotalCount: total}
	for i, wh := range page {
		out.Items[i] = toJSON(wh)
	}
	return writeProjected(w, out, pageSelection(sel))
}

// findRepresentable pages the webhooks that match f and that this API can
// represent (see representable), and, when anyOf is set, receive one of
// those event types (a search by an event name that several resources have,
// event=finished without resource: the store filters by one event type).
// Both conditions are decided here, so the store's pages are walked and
// this API's page is cut from what passes.
func (a *api) findRepresentable(r *http.Request, s hookd.Scope, f hookd.WebhookFilter, anyOf []string) ([]*hookd.Webhook, int, error) {
	page := f.Page
	f.Page = hookd.Page{Limit: hookd.MaxPageLimit}
	out := []*hookd.Webhook{}
	total := 0
	for {
		batch, _, err := a.svc.Webhooks.FindWebhooks(r.Context(), s, f)
		if err != nil {
			return nil, 0, err
		}
		for _, wh := range batch {
			if !representable(wh) || (anyOf != nil && !slices.ContainsFunc(anyOf, func(t string) bool { return hookd.MatchEventType(wh.EventTypes, t) })) {
				continue
			}
			if total >= page.Offset && len(out) < page.Limit {
				out = append(out, wh)
			}
			total++
		}
		if len(batch) < f.Limit {
			return out, total, nil
		}
		f.Cursor = batch[len(batch)-1].ID
	}
}
