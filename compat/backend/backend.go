// Package backend serves the backend webhook API of seed 003 over the hookd
// domain services: list, create (answering the signing secret), get, delete,
// GET /webhooks/{id}/secret and POST /webhooks/test, with the {"data": …}
// envelope, {"error": {"code", "message"}} errors using the hookd error codes
// and statuses of the canonical API, and Bearer or X-API-Key auth with
// sk_live_…/sk_test_… keys.
//
// Mount with http.StripPrefix("/v1/backend", backend.New(...)).
package backend

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// Source is the hookd.Webhook.Source of webhooks made through this API.
const Source = "backend"

// TestEventType is the type of the event POST /webhooks/test publishes.
const TestEventType = "webhook.test"

// DefaultEventTypes is what a create without event_types subscribes to:
// the document's default, ["conversation.completed"].
var DefaultEventTypes = []string{"conversation.completed"}

// eventTypes is the API's own catalog, made available in every scope that
// uses it, as the other compatibility APIs seed theirs: the conversation
// events its published integrations subscribe to (TellCasey's n8n node
// offers these three).
var eventTypes = []*hookd.EventType{
	{Name: "conversation.started", Description: "A conversation began"},
	{Name: "conversation.completed", Description: "A conversation finished successfully"},
	{Name: "conversation.abandoned", Description: "A conversation was abandoned (timeout, disconnect, …)"},
}

// Options configure the handler: logger, body limit, clock.
type Options = compat.Options

type api struct {
	svc  hookd.Services
	opts Options
	http compat.API
}

// New returns the backend webhook API.
func New(svc hookd.Services, opts Options) http.Handler {
	a := &api{svc: svc, opts: opts.WithDefaults()}
	a.http = compat.API{
		Logger:       a.opts.Logger,
		Authenticate: a.authenticate,
		Catalog:      compat.NewCatalog(svc.EventTypes, eventTypes),
		Status:       compat.Status,
		Render:       renderError,
	}
	h := a.http.Handle
	mux := http.NewServeMux()
	mux.Handle("GET /webhooks", h(a.listWebhooks))
	mux.Handle("POST /webhooks", h(a.createWebhook))
	mux.Handle("POST /webhooks/test", h(a.testWebhooks))
	mux.Handle("GET /webhooks/{id}", h(a.getWebhook))
	mux.Handle("DELETE /webhooks/{id}", h(a.deleteWebhook))
	mux.Handle("GET /webhooks/{id}/secret", h(a.getSecret))
	mux.Handle("/webhooks", a.http.MethodNotAllowed("GET, POST"))
	mux.Handle("/webhooks/{id}", a.http.MethodNotAllowed("GET, DELETE"))
	mux.Handle("/webhooks/{id}/secret", a.http.MethodNotAllowed("GET"))
	mux.Handle("/", a.http.NotFound())
	return mux
}

// authenticate reads "Authorization: Bearer sk_…" or "X-API-Key: sk_…".
func (a *api) authenticate(r *http.Request) (hookd.Scope, error) {
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if auth := r.Header.Get("Authorization"); key == "" && auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return hookd.Scope{}, hookd.Errorf(hookd.EUNAUTHORIZED, "the Authorization header must be \"Bearer sk_live_…\" or \"Bearer sk_test_…\"")
		}
		key = strings.TrimSpace(token)
	}
	if key == "" {
		return hookd.Scope{}, hookd.Errorf(hookd.EUNAUTHORIZED, "an API key is required: Authorization: Bearer sk_live_… or X-API-Key")
	}
	return compat.Authenticate(r, a.svc.Tenants, key)
}

type errorJSON struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func renderError(w http.ResponseWriter, st int, code, msg string) {
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookd"`)
	}
	compat.WriteJSON(w, st, errorJSON{Error: errorBody{Code: code, Message: msg}})
}

type dataJSON[T any] struct {
	Data T `json:"data"`
}

// webhookJSON is the webhook endpoint of seed 003; Secret only on create.
type webhookJSON struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	CreatedAt   string   `json:"created_at"`
	Secret      string   `json:"secret,omitempty"`
}

func toJSON(w *hookd.Webhook) webhookJSON {
	types := w.EventTypes
	if types == nil {
		types = []string{}
	}
	return webhookJSON{
		ID:          w.ID,
		URL:         w.URL,
		Description: w.Description,
		EventTypes:  types,
		Enabled:     w.Enabled,
		CreatedAt:   w.CreatedAt.UTC().Format(time.RFC3339),
	}
}

type secretJSON struct {
	Secret string `json:"secret"`
}

type testJSON struct {
	Success   bool   `json:"success"`
	MessageID string `json:"message_id"`
}

type createInput struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  *[]string `json:"event_types"`
}

func (a *api) createWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	var in createInput
	if err := compat.DecodeJSON(r, a.opts.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.URL == nil {
		return hookd.Errorf(hookd.EINVALID, "url is required")
	}
	wh := &hookd.Webhook{Source: Source, URL: *in.URL, Enabled: true, TLSVerify: true}
	if in.Description != nil {
		wh.Description = *in.Description
	}
	if in.EventTypes != nil {
		wh.EventTypes = *in.EventTypes // [] means every event, as in the canonical API
	} else {
		wh.EventTypes = slices.Clone(DefaultEventTypes)
	}
	// The store validates every field, naming it as this API does (url,
	// description, event_types).
	if err := a.svc.Webhooks.CreateWebhook(r.Context(), s, wh); err != nil {
		return err
	}
	out := toJSON(wh)
	out.Secret = wh.Secret
	compat.WriteJSON(w, http.StatusCreated, dataJSON[webhookJSON]{out})
	return nil
}

// listWebhooks answers {"data": [...]}: every webhook of the scope, since
// the document has no paging and its integrations read one answer. Paging
// is there for those who ask for it: with limit, offset or cursor the
// answer is one page, and "next_cursor" (the id to pass as ?cursor=) says
// when there may be more.
func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	q := r.URL.Query()
	paged := q.Has("limit") || q.Has("offset") || q.Has("cursor")
	f := hookd.WebhookFilter{}
	var err error
	if f.Limit, err = compat.IntParam(q.Get("limit"), "limit", hookd.MaxPageLimit, 1, hookd.MaxPageLimit); err != nil {
		return err
	}
	if f.Offset, err = compat.IntParam(q.Get("offset"), "offset", 0, 0, compat.MaxOffset); err != nil {
		return err
	}
	f.Cursor = q.Get("cursor")
	var all []*hookd.Webhook
	for {
		page, total, err := a.svc.Webhooks.FindWebhooks(r.Context(), s, f)
		if err != nil {
			return err
		}
		all = append(all, page...)
		more := len(page) == f.Limit && (f.Cursor != "" || f.Offset+len(page) < total)
		if paged || !more {
			out := struct {
				Data       []webhookJSON `json:"data"`
				NextCursor string        `json:"next_cursor,omitempty"`
			}{Data: make([]webhookJSON, len(all))}
			for i, wh := range all {
				out.Data[i] = toJSON(wh)
			}
			if paged && more {
				out.NextCursor = page[len(page)-1].ID
			}
			compat.WriteJSON(w, http.StatusOK, out)
			return nil
		}
		f.Cursor, f.Offset = page[len(page)-1].ID, 0
	}
}

func (a *api) findWebhook(r *http.Request, s hookd.Scope) (*hookd.Webhook, error) {
	id := r.PathValue("id")
	wh, err := a.svc.Webhooks.FindWebhookByID(r.Context(), s, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
	}
	return wh, err
}

func (a *api) getWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	wh, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, dataJSON[webhookJSON]{toJSON(wh)})
	return nil
}

func (a *api) getSecret(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	wh, err := a.findWebhook(r, s)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, dataJSON[secretJSON]{secretJSON{Secret: wh.Secret}})
	return nil
}

// deleteWebhook answers 204 No Content.
func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	id := r.PathValue("id")
	if err := a.svc.Webhooks.DeleteWebhook(r.Context(), s, id); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testData is the data of the test event.
var testData = json.RawMessage(`{"message":"This is a test event sent by POST /v1/backend/webhooks/test."}`)

// testWebhooks publishes one webhook.test event that goes to every enabled
// webhook of the scope, whatever their event types and filters; message_id
// is its id, the webhook-id header of its deliveries.
func (a *api) testWebhooks(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	res, err := a.svc.Publisher.Publish(r.Context(), hookd.PublishRequest{
		Scope: s,
		Event: &hookd.Event{Type: TestEventType, Data: testData, CreatedAt: a.opts.Now().UTC()},
		Test:  true,
	})
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, dataJSON[testJSON]{testJSON{Success: true, MessageID: res.Event.ID}})
	return nil
}
