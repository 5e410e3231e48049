// Package salesfinity serves Salesfinity's webhook API (seed 002) over the
// hookd domain services: POST/GET /webhooks, GET/DELETE /webhooks/{id}, with
// the document's field names (_id, camelCase ISO-8601 times), its 201 on
// create, x-api-key auth and NestJS-style errors {statusCode, message, error}.
//
// A create's "dispositions" become the webhook's filter, so that CALL_LOGGED
// events whose disposition is not listed are not delivered while every other
// event is; they are also kept in the webhook's metadata (key
// "salesfinity.dispositions", comma-separated) so that they read back as sent.
//
// Mount with http.StripPrefix("/compat/salesfinity/v1", salesfinity.New(...)).
package salesfinity

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
const Source = "salesfinity"

// The events of seed 002.
const (
	CallLogged     = "CALL_LOGGED"
	ContactSnoozed = "CONTACT_SNOOZED"
)

// MetadataDispositions is the metadata key that keeps a webhook's dispositions.
const MetadataDispositions = "salesfinity.dispositions"

// DispositionPaths are where a CALL_LOGGED event's data may carry its
// disposition id; the filter accepts any of them.
var DispositionPaths = []string{"data.disposition", "data.disposition_id", "data.disposition.id"}

// Options configure the handler: logger, body limit, clock.
type Options = compat.Options

var eventTypes = []*hookd.EventType{
	{Name: CallLogged, Description: "Salesfinity: a user logged a call, with the call's details"},
	{Name: ContactSnoozed, Description: "Salesfinity: a contact was snoozed, with the contact and snooze details"},
}

type api struct {
	svc  hookd.Services
	opts Options
	http compat.API
}

// New returns the Salesfinity webhook API.
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
	mux.Handle("GET /webhooks", h(a.listWebhooks))
	mux.Handle("POST /webhooks", h(a.createWebhook))
	mux.Handle("GET /webhooks/{id}", h(a.getWebhook))
	mux.Handle("DELETE /webhooks/{id}", h(a.deleteWebhook))
	mux.Handle("/webhooks", a.http.MethodNotAllowed("GET, POST"))
	mux.Handle("/webhooks/{id}", a.http.MethodNotAllowed("GET, DELETE"))
	mux.Handle("/", a.http.NotFound())
	return mux
}

// authenticate reads the x-api-key header (or, leniently, a Bearer token).
func (a *api) authenticate(r *http.Request) (hookd.Scope, error) {
	key := strings.TrimSpace(r.Header.Get("X-Api-Key"))
	if key == "" {
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			key = strings.TrimSpace(b)
		}
	}
	if key == "" {
		return hookd.Scope{}, hookd.Errorf(hookd.EUNAUTHORIZED, "the x-api-key header is required")
	}
	return compat.Authenticate(r, a.svc.Tenants, key)
}

// errorJSON is the error shape of a NestJS API such as Salesfinity's.
type errorJSON struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

func renderError(w http.ResponseWriter, st int, _, msg string) {
	compat.WriteJSON(w, st, errorJSON{StatusCode: st, Message: msg, Error: http.StatusText(st)})
}

// webhookJSON is the webhook object of seed 002.
type webhookJSON struct {
	ID           string   `json:"_id"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	Events       []string `json:"events"`
	Dispositions []int64  `json:"dispositions"`
	Status       string   `json:"status"`
	CreatedAt    string   `json:"createdAt"`
	UpdatedAt    string   `json:"updatedAt"`
}

// timeFormat is ISO 8601 in UTC with milliseconds, as in the document.
const timeFormat = "2006-01-02T15:04:05.000Z"

func toJSON(w *hookd.Webhook) webhookJSON {
	events := w.EventTypes
	if events == nil {
		events = []string{}
	}
	return webhookJSON{
		ID:           ObjectID(w),
		Name:         w.Name,
		URL:          w.URL,
		Events:       events,
		Dispositions: dispositionsOf(w),
		Status:       string(w.Status),
		CreatedAt:    w.CreatedAt.UTC().Format(timeFormat),
		UpdatedAt:    w.UpdatedAt.UTC().Format(timeFormat),
	}
}

// dispositionsOf reads the dispositions kept in metadata; [] if none.
func dispositionsOf(w *hookd.Webhook) []int64 {
	out := []int64{}
	for _, s := range strings.Split(w.Metadata[MetadataDispositions], ",") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// createInput is the request body of POST /webhooks. Events and
// dispositions are decoded by hand so that errors name the element.
type createInput struct {
	Name         *string         `json:"name"`
	URL          *string         `json:"url"`
	Events       json.RawMessage `json:"events"`
	Dispositions json.RawMessage `json:"dispositions"`
}

func (in *createInput) webhook() (*hookd.Webhook, error) {
	w := &hookd.Webhook{Source: Source, Enabled: true, TLSVerify: true}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return nil, hookd.Errorf(hookd.EINVALID, "name is required")
	}
	if len(*in.Name) > hookd.MaxNameLength {
		return nil, hookd.Errorf(hookd.EINVALID, "name must be at most %d characters", hookd.MaxNameLength)
	}
	w.Name = *in.Name
	if in.URL == nil {
		return nil, hookd.Errorf(hookd.EINVALID, "url is required")
	}
	if err := hookd.ValidateURL("url", *in.URL); err != nil {
		return nil, err
	}
	w.URL = *in.URL
	events, err := parseEvents(in.Events)
	if err != nil {
		return nil, err
	}
	w.EventTypes = events
	disp, err := parseDispositions(in.Dispositions)
	if err != nil {
		return nil, err
	}
	if len(disp) > 0 {
		w.Filter = dispositionFilter(disp)
		parts := make([]string, len(disp))
		for i, d := range disp {
			parts[i] = strconv.FormatInt(d, 10)
		}
		w.Metadata = map[string]string{MetadataDispositions: strings.Join(parts, ",")}
	}
	return w, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// parseEvents requires a non-empty array of known events, matched
// case-insensitively, without repeats.
func parseEvents(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, hookd.Errorf(hookd.EINVALID, "events is required: an array of %s, %s", CallLogged, ContactSnoozed)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "events must be an array of strings")
	}
	if len(items) == 0 {
		return nil, hookd.Errorf(hookd.EINVALID, "events must not be empty; available: %s, %s", CallLogged, ContactSnoozed)
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			return nil, hookd.Errorf(hookd.EINVALID, "events[%d] must be a string, got %s", i, item)
		}
		var e string
		for _, known := range []string{CallLogged, ContactSnoozed} {
			if strings.EqualFold(strings.TrimSpace(s), known) {
				e = known
			}
		}
		if e == "" {
			return nil, hookd.Errorf(hookd.EINVALID, "events[%d]: %q is not an event; available: %s, %s", i, s, CallLogged, ContactSnoozed)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// maxDispositions bounds the filter a create makes.
const maxDispositions = 100

// parseDispositions accepts null, or an array of integers.
func parseDispositions(raw json.RawMessage) ([]int64, error) {
	if isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "dispositions must be an array of integers")
	}
	if len(items) > maxDispositions {
		return nil, hookd.Errorf(hookd.EINVALID, "dispositions may hold at most %d entries", maxDispositions)
	}
	out := make([]int64, 0, len(items))
	for i, item := range items {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(item)), 10, 64)
		if err != nil {
			return nil, hookd.Errorf(hookd.EINVALID, "dispositions[%d] must be an integer, got %s", i, item)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// dispositionFilter passes every event that is not CALL_LOGGED, and
// CALL_LOGGED events whose disposition id, at any of DispositionPaths, is
// one of disp.
func dispositionFilter(disp []int64) json.RawMessage {
	set := make([]byte, 0, 8*len(disp))
	set = append(set, '[')
	for i, d := range disp {
		if i > 0 {
			set = append(set, ',')
		}
		set = strconv.AppendInt(set, d, 10)
	}
	set = append(set, ']')
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"$or":[{"type":{"$ne":%q}}`, CallLogged)
	for _, p := range DispositionPaths {
		fmt.Fprintf(&b, `,{%q:{"$in":%s}}`, p, set)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (a *api) createWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in createInput
	if err := compat.DecodeJSON(r, a.opts.MaxBodyBytes, &in); err != nil {
		return err
	}
	wh, err := in.webhook()
	if err != nil {
		return err
	}
	if err := a.svc.Webhooks.CreateWebhook(r.Context(), s, wh); err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusCreated, toJSON(wh))
	return nil
}

// findWebhook finds the {id} webhook, if this API can represent it.
func (a *api) findWebhook(r *http.Request, s hookd.Scope) (*hookd.Webhook, error) {
	id := r.PathValue("id")
	wh, err := findByID(r.Context(), a.svc.Webhooks, s, id)
	if err == nil && !representable(wh) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
	}
	return wh, err
}

// representable reports whether a webhook can be shown as a Salesfinity
// webhook: it receives a non-empty set of the document's events and
// nothing else (no wildcard, no other event type). Webhooks made through
// the other APIs usually cannot; this API neither lists nor finds them.
func representable(w *hookd.Webhook) bool {
	if len(w.EventTypes) == 0 {
		return false
	}
	for _, t := range w.EventTypes {
		if t != CallLogged && t != ContactSnoozed {
			return false
		}
	}
	return true
}

func (a *api) getWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	wh, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toJSON(wh))
	return nil
}

// deleteWebhook answers 200 with the webhook as it was.
func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	wh, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	if err := a.svc.Webhooks.DeleteWebhook(r.Context(), s, wh.ID); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", r.PathValue("id"))
		}
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toJSON(wh))
	return nil
}

// listWebhooks answers a bare array, newest last, like the create answers a
// bare object, of the webhooks this API can represent. limit (default and
// maximum 1000) and offset page it.
func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	q := r.URL.Query()
	limit, err := compat.IntParam(q.Get("limit"), "limit", hookd.MaxPageLimit, 1, hookd.MaxPageLimit)
	if err != nil {
		return err
	}
	offset, err := compat.IntParam(q.Get("offset"), "offset", 0, 0, compat.MaxOffset)
	if err != nil {
		return err
	}
	// Which webhooks are representable is decided here, so the store's
	// pages are walked and this API's page is cut from what passes.
	out := []webhookJSON{}
	f := hookd.WebhookFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit}}
	skipped := 0
	for len(out) < limit {
		page, _, err := a.svc.Webhooks.FindWebhooks(r.Context(), s, f)
		if err != nil {
			return err
		}
		for _, wh := range page {
			switch {
			case !representable(wh):
			case skipped < offset:
				skipped++
			case len(out) < limit:
				out = append(out, toJSON(wh))
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.Cursor = page[len(page)-1].ID
	}
	compat.WriteJSON(w, http.StatusOK, out)
	return nil
}
