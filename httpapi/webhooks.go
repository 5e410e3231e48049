package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// Webhook is the canonical webhook object of the API.
type Webhook struct {
	ID          string            `json:"id" example:"wh_01jd3k2x0s5v6y7z8a9b0c1d2e"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	URL         string            `json:"url" format:"uri"`
	EventTypes  []string          `json:"event_types" doc:"Event type names, \"*\" or \"Resource.*\"; empty means every type"`
	Filter      json.RawMessage   `json:"filter" doc:"A filter on the event envelope (see docs/api.md), or null"`
	Fields      []string          `json:"fields" doc:"Deliver only these dot-separated paths of the event data; empty means all"`
	Enabled     bool              `json:"enabled"`
	Status      string            `json:"status" enum:"active,disabled,auto_disabled,expired"`
	SingleUse   bool              `json:"single_use"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	TLSVerify   bool              `json:"tls_verify"`
	Headers     map[string]string `json:"headers"`
	RateLimit   *int              `json:"rate_limit" doc:"Deliveries per second, or null for no limit"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	// Secret is present only in the answer to a create.
	Secret string `json:"secret,omitempty" doc:"The signing secret; returned only on create (see GET /v1/webhooks/{id}/secret)"`

	only map[string]bool // projection asked for with ?fields=, nil = all
}

// webhookFields are the names ?fields= may ask for.
var webhookFields = jsonFieldNames(reflect.TypeFor[Webhook]())

// MarshalJSON honours a ?fields= projection.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	b, err := json.Marshal(plain(w))
	if err != nil || w.only == nil {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k := range all {
		if !w.only[k] {
			delete(all, k)
		}
	}
	return json.Marshal(all)
}

func webhookJSON(w *hookd.Webhook) Webhook {
	w.FillEmpty()
	filter := w.Filter
	if len(filter) == 0 {
		filter = json.RawMessage("null")
	}
	return Webhook{
		ID: w.ID, Name: w.Name, Description: w.Description, URL: w.URL,
		EventTypes: w.EventTypes, Filter: filter, Fields: w.Fields,
		Enabled: w.Enabled, Status: string(w.Status), SingleUse: w.SingleUse,
		ExpiresAt: w.ExpiresAt, TLSVerify: w.TLSVerify, Headers: w.Headers,
		RateLimit: w.RateLimit, Metadata: w.Metadata,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
}

// parseFields reads ?fields=a,b into a projection, or EINVALID naming the
// unknown field. The id is always kept so items stay addressable.
func parseFields(raw string, known map[string]bool) (map[string]bool, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	only := map[string]bool{"id": true}
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !known[f] {
			return nil, hookd.Errorf(hookd.EINVALID, "fields: unknown field %q", f)
		}
		only[f] = true
	}
	return only, nil
}

// WebhookInput is the body of a create.
type WebhookInput struct {
	Name        string            `json:"name,omitempty" maxLength:"256"`
	Description string            `json:"description,omitempty" maxLength:"4096"`
	URL         string            `json:"url" doc:"Absolute http or https URL, at most 2048 characters, without user-info"`
	EventTypes  []string          `json:"event_types,omitempty" doc:"Event type names from the catalog, \"*\" or \"Resource.*\"; empty means every type"`
	Filter      json.RawMessage   `json:"filter,omitempty" doc:"A filter on the event envelope (see docs/api.md)"`
	Fields      []string          `json:"fields,omitempty"`
	Enabled     *bool             `json:"enabled,omitempty" doc:"Default true"`
	SingleUse   bool              `json:"single_use,omitempty"`
	ExpiresAt   *time.Time        `json:"expires_at,omitempty"`
	TLSVerify   *bool             `json:"tls_verify,omitempty" doc:"Default true; false skips certificate checks for this webhook only"`
	Headers     map[string]string `json:"headers,omitempty"`
	RateLimit   *int              `json:"rate_limit,omitempty" minimum:"1" maximum:"100000"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Secret      string            `json:"secret,omitempty" doc:"A signing secret of your own; one is generated when absent"`
}

func (in *WebhookInput) webhook() *hookd.Webhook {
	w := &hookd.Webhook{
		Name: in.Name, Description: in.Description, URL: in.URL,
		EventTypes: in.EventTypes, Filter: in.Filter, Fields: in.Fields,
		Enabled: true, SingleUse: in.SingleUse, ExpiresAt: in.ExpiresAt, TLSVerify: true,
		Headers: in.Headers, RateLimit: in.RateLimit, Metadata: in.Metadata, Secret: in.Secret,
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	if in.TLSVerify != nil {
		w.TLSVerify = *in.TLSVerify
	}
	return w
}

// WebhookPatch is the body of an update: absent fields stay as they are;
// null clears expires_at, rate_limit and filter.
type WebhookPatch struct {
	Name        *string            `json:"name,omitempty" maxLength:"256"`
	Description *string            `json:"description,omitempty" maxLength:"4096"`
	URL         *string            `json:"url,omitempty"`
	EventTypes  *[]string          `json:"event_types,omitempty"`
	Filter      json.RawMessage    `json:"filter,omitempty"`
	Fields      *[]string          `json:"fields,omitempty"`
	Enabled     *bool              `json:"enabled,omitempty" doc:"true re-enables an auto_disabled webhook"`
	SingleUse   *bool              `json:"single_use,omitempty"`
	ExpiresAt   *time.Time         `json:"expires_at,omitempty" nullable:"true"`
	TLSVerify   *bool              `json:"tls_verify,omitempty"`
	Headers     *map[string]string `json:"headers,omitempty"`
	RateLimit   *int               `json:"rate_limit,omitempty" nullable:"true" minimum:"1" maximum:"100000"`
	Metadata    *map[string]string `json:"metadata,omitempty"`
}

// update turns a patch into a WebhookUpdate. raw is the same body, read
// again to tell an explicit null from an absent field.
func (p *WebhookPatch) update(raw []byte) (hookd.WebhookUpdate, error) {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil {
		return hookd.WebhookUpdate{}, hookd.Errorf(hookd.EMALFORMED, "body must be a JSON object")
	}
	isNull := func(k string) bool { v, ok := present[k]; return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null")) }
	u := hookd.WebhookUpdate{
		Name: p.Name, Description: p.Description, URL: p.URL, EventTypes: p.EventTypes,
		Fields: p.Fields, Enabled: p.Enabled, SingleUse: p.SingleUse, TLSVerify: p.TLSVerify,
		Headers: p.Headers, Metadata: p.Metadata,
	}
	if _, ok := present["expires_at"]; ok {
		u.ExpiresAt = &p.ExpiresAt
	}
	if _, ok := present["rate_limit"]; ok {
		u.RateLimit = &p.RateLimit
	}
	if _, ok := present["filter"]; ok {
		f := p.Filter
		if isNull("filter") {
			f = nil
		}
		u.Filter = &f
	}
	for _, k := range []string{"name", "description", "url", "event_types", "fields", "enabled", "single_use", "tls_verify", "headers", "metadata"} {
		if isNull(k) {
			return hookd.WebhookUpdate{}, hookd.Errorf(hookd.EINVALID, "%s cannot be null", k)
		}
	}
	return u, nil
}

// dataOutput is a single object answered as {"data": …}.
type dataOutput[T any] struct {
	Body dataBody[T]
}

type dataBody[T any] struct {
	Data T `json:"data"`
}

func data[T any](v T) *dataOutput[T] {
	return &dataOutput[T]{Body: dataBody[T]{Data: v}}
}

type webhookOutput = dataOutput[Webhook]

// listOutput is a page answered as {"data": […], "next_cursor": …}.
type listOutput[T any] struct {
	Body ListBody[T]
}

// ListBody is one page of a list.
type ListBody[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor" doc:"Pass as ?cursor= for the next page; null on the last page"`
}

// countedListOutput is a page that also says how many rows match.
type countedListOutput[T any] struct {
	Body CountedListBody[T]
}

// CountedListBody is one page of a list and the number of rows that match.
type CountedListBody[T any] struct {
	ListBody[T]
	Total int `json:"total" doc:"How many rows match the filters"`
}

// listOf converts one page of rows; next_cursor is the key of the last row
// when the page is full.
func listOf[S, T any](rows []S, limit int, conv func(S) T, key func(S) string) ListBody[T] {
	b := ListBody[T]{Data: make([]T, len(rows))}
	for i, r := range rows {
		b.Data[i] = conv(r)
	}
	if len(rows) > 0 {
		b.NextCursor = nextCursor(len(rows), limit, key(rows[len(rows)-1]))
	}
	return b
}

// endOnLastPage clears next_cursor when no row follows a full page: more
// asks the same list for the rows after the page (one at most).
func endOnLastPage[T any](b *ListBody[T], more func(p hookd.Page) (bool, error)) error {
	if b.NextCursor == nil {
		return nil
	}
	key, err := decodeCursor(*b.NextCursor)
	if err != nil {
		return err
	}
	next, err := more(hookd.Page{Limit: 1, Cursor: key})
	if err != nil {
		return err
	}
	if !next {
		b.NextCursor = nil
	}
	return nil
}

type IDPath struct {
	ID string `path:"id" doc:"The webhook id"`
}

type PageQuery struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Rows to skip (ignored when cursor is set)"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page, as it was given"`

	key string // the cursor decoded by Resolve
}

// Resolve decodes the cursor: one that this API did not give is 400.
func (q *PageQuery) Resolve(huma.Context) []error {
	if q.Cursor == "" {
		return nil
	}
	key, err := decodeCursor(q.Cursor)
	if err != nil {
		return []error{err}
	}
	q.key = key
	return nil
}

func (q PageQuery) page() hookd.Page {
	return hookd.Page{Limit: q.Limit, Offset: q.Offset, Cursor: q.key}
}

// nextCursor is the cursor after lastID when the page is full, else nil.
func nextCursor(n, limit int, lastID string) *string {
	if n == 0 || n < limit {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(lastID))
	return &c
}

// decodeCursor reads a next_cursor: the URL-safe base64 of the last row's
// key, opaque to clients.
func decodeCursor(c string) (string, error) {
	key, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(key) == 0 || !hookd.StorableText(string(key)) {
		return "", &apiError{status: http.StatusBadRequest, Code: hookd.EMALFORMED,
			Message: "cursor is malformed: pass the next_cursor of the previous page as it was given"}
	}
	return string(key), nil
}

// Secret is a webhook's signing secret.
type Secret struct {
	Secret string `json:"secret"`
	// PreviousSecretExpiresAt is set during a rotation's grace period.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

type secretOutput = dataOutput[Secret]

func newSecretOutput(w *hookd.Webhook, now time.Time) *secretOutput {
	out := Secret{Secret: standardSecret(w.Secret)}
	if len(w.Secrets(now)) > 1 {
		out.PreviousSecretExpiresAt = w.PreviousSecretExpiresAt
	}
	return data(out)
}

// standardSecret shows a secret in the Standard Webhooks form. A secret
// stored before secrets had to be whsec_ ones (any string, used as the raw
// key) is shown as the whsec_ secret of the same key, which verifies the
// same signatures.
func standardSecret(s string) string {
	if strings.HasPrefix(s, "whsec_") {
		return s
	}
	return hookd.SecretFromText(s)
}

// Resource is a catalog resource and the events it has.
type Resource struct {
	Resource string   `json:"resource" example:"CallBroadcast"`
	Events   []string `json:"events" example:"[\"started\",\"finished\"]"`
}

func registerWebhooks(s *Server) {
	tags := []string{"Webhooks"}
	huma.Register(s.api, op(http.MethodPost, "/v1/webhooks", "createWebhook", "Create a webhook", tags, http.StatusCreated, s.cfg.MaxBodyBytes),
		func(ctx context.Context, in *struct{ Body WebhookInput }) (*webhookOutput, error) {
			w := in.Body.webhook()
			if err := s.svc.Webhooks.CreateWebhook(ctx, scopeFrom(ctx), w); err != nil {
				return nil, s.fail(ctx, "create webhook", err)
			}
			out := webhookJSON(w)
			out.Secret = standardSecret(w.Secret)
			return data(out), nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/webhooks", "listWebhooks", "List webhooks", tags, 0, 0),
		func(ctx context.Context, in *struct {
			URL       string `query:"url" doc:"Exact URL"`
			Enabled   string `query:"enabled" enum:"true,false"`
			EventType string `query:"event_type" doc:"Webhooks that receive this event type (wildcards count)"`
			Name      string `query:"name" doc:"Exact name"`
			Resource  string `query:"resource" doc:"Webhooks subscribed to any event of this resource"`
			Status    string `query:"status" enum:"active,disabled,auto_disabled,expired"`
			Fields    string `query:"fields" doc:"Comma-separated fields to return for each webhook, e.g. id,url,enabled"`
			PageQuery
		}) (*countedListOutput[Webhook], error) {
			only, err := parseFields(in.Fields, webhookFields)
			if err != nil {
				return nil, s.fail(ctx, "list webhooks", err)
			}
			f := hookd.WebhookFilter{URL: in.URL, EventType: in.EventType, Name: in.Name, Resource: in.Resource,
				Status: hookd.WebhookStatus(in.Status), Page: in.page()}
			if in.Enabled != "" {
				b := in.Enabled == "true"
				f.Enabled = &b
			}
			ws, total, err := s.svc.Webhooks.FindWebhooks(ctx, scopeFrom(ctx), f)
			if err != nil {
				return nil, s.fail(ctx, "list webhooks", err)
			}
			page := listOf(ws, f.Limit, func(w *hookd.Webhook) Webhook {
				out := webhookJSON(w)
				out.only = only
				return out
			}, func(w *hookd.Webhook) string { return w.ID })
			if err := endOnLastPage(&page, func(p hookd.Page) (bool, error) {
				g := f
				g.Page = p
				more, _, err := s.svc.Webhooks.FindWebhooks(ctx, scopeFrom(ctx), g)
				return len(more) > 0, err
			}); err != nil {
				return nil, s.fail(ctx, "list webhooks", err)
			}
			return &countedListOutput[Webhook]{Body: CountedListBody[Webhook]{ListBody: page, Total: total}}, nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/webhooks/resources", "listWebhookResources", "List the event catalog grouped by resource", tags, 0, 0),
		func(ctx context.Context, _ *struct{}) (*dataOutput[[]Resource], error) {
			types, err := allEventTypes(ctx, s.svc.EventTypes, scopeFrom(ctx))
			if err != nil {
				return nil, s.fail(ctx, "list resources", err)
			}
			groups := hookd.GroupByResource(types)
			out := make([]Resource, len(groups))
			for i, g := range groups {
				out[i] = Resource{Resource: g.Name, Events: g.Events}
			}
			return data(out), nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/webhooks/{id}", "getWebhook", "Get a webhook", tags, 0, 0),
		func(ctx context.Context, in *struct {
			IDPath
			Fields string `query:"fields" doc:"Comma-separated fields to return"`
		}) (*webhookOutput, error) {
			only, err := parseFields(in.Fields, webhookFields)
			if err != nil {
				return nil, s.fail(ctx, "get webhook", err)
			}
			w, err := s.svc.Webhooks.FindWebhookByID(ctx, scopeFrom(ctx), in.ID)
			if err != nil {
				return nil, s.fail(ctx, "get webhook", err)
			}
			out := webhookJSON(w)
			out.only = only
			return data(out), nil
		})

	patch := op(http.MethodPatch, "/v1/webhooks/{id}", "updateWebhook", "Update a webhook", tags, 0, s.cfg.MaxBodyBytes)
	huma.Register(s.api, patch,
		func(ctx context.Context, in *struct {
			IDPath
			Body    WebhookPatch
			RawBody []byte
		}) (*webhookOutput, error) {
			u, err := in.Body.update(in.RawBody)
			if err != nil {
				return nil, s.fail(ctx, "update webhook", err)
			}
			w, err := s.svc.Webhooks.UpdateWebhook(ctx, scopeFrom(ctx), in.ID, u)
			if err != nil {
				return nil, s.fail(ctx, "update webhook", err)
			}
			return data(webhookJSON(w)), nil
		})
	keepJSONSchema(s.api, patch.Path, http.MethodPatch)

	huma.Register(s.api, op(http.MethodDelete, "/v1/webhooks/{id}", "deleteWebhook", "Delete a webhook; its pending deliveries are cancelled", tags, http.StatusNoContent, 0),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := s.svc.Webhooks.DeleteWebhook(ctx, scopeFrom(ctx), in.ID); err != nil {
				return nil, s.fail(ctx, "delete webhook", err)
			}
			return nil, nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/webhooks/{id}/secret", "getWebhookSecret", "Get a webhook's signing secret", tags, 0, 0),
		func(ctx context.Context, in *IDPath) (*secretOutput, error) {
			w, err := s.svc.Webhooks.FindWebhookByID(ctx, scopeFrom(ctx), in.ID)
			if err != nil {
				return nil, s.fail(ctx, "get secret", err)
			}
			return newSecretOutput(w, s.cfg.Now()), nil
		})

	huma.Register(s.api, op(http.MethodPost, "/v1/webhooks/{id}/secret/rotate", "rotateWebhookSecret",
		fmt.Sprintf("Rotate a webhook's secret; the old one keeps signing for the grace period (default %s)", s.cfg.SecretGrace), tags, 0, 0),
		func(ctx context.Context, in *IDPath) (*secretOutput, error) {
			w, err := s.svc.Webhooks.RotateWebhookSecret(ctx, scopeFrom(ctx), in.ID, s.cfg.SecretGrace)
			if err != nil {
				return nil, s.fail(ctx, "rotate secret", err)
			}
			return newSecretOutput(w, s.cfg.Now()), nil
		})
}

// op declares a secured operation. status 0 means 200; maxBody 0 means the
// operation reads no body.
func op(method, path, id, summary string, tags []string, status int, maxBody int64) huma.Operation {
	o := huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags,
		DefaultStatus: status, Security: security,
	}
	if maxBody > 0 {
		// huma answers 413 when it reads exactly MaxBodyBytes, so allow one more.
		o.MaxBodyBytes = maxBody + 1
	}
	return o
}

// keepJSONSchema removes the octet-stream body that a RawBody field adds to
// an operation, leaving the JSON schema of its Body.
func keepJSONSchema(api huma.API, path, method string) {
	item := api.OpenAPI().Paths[path]
	if item == nil {
		return
	}
	var o *huma.Operation
	switch method {
	case http.MethodPatch:
		o = item.Patch
	case http.MethodPost:
		o = item.Post
	}
	if o != nil && o.RequestBody != nil {
		delete(o.RequestBody.Content, "application/octet-stream")
	}
}

// allEventTypes reads a scope's whole catalog, page by page.
func allEventTypes(ctx context.Context, svc hookd.EventTypeService, sc hookd.Scope) ([]*hookd.EventType, error) {
	var all []*hookd.EventType
	f := hookd.EventTypeFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit}}
	for {
		page, _, err := svc.FindEventTypes(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.Cursor = page[len(page)-1].Name
	}
}
