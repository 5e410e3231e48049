// Package svix serves Svix's API v1 (https://api.svix.com/api/v1) over the
// hookd domain services, so that Svix's official SDKs work against hookd
// with only their server URL and token changed.
//
// A Svix application is a hookd tenant (its uid is the tenant's uid), an
// endpoint a webhook, a message an event, a message attempt an attempt, and
// the event types of the environment are the operator's catalog
// (hookd.OperatorEventType). Ids are hookd's with Svix's prefixes (app_,
// ep_, msg_, atmpt_ for ten_, wh_, msg_, att_): nothing is stored twice.
// What Svix has and the domain lacks is kept in the webhook's or tenant's
// metadata under "svix." keys, which this API hides: an endpoint's uid and
// channels, an application's name when hookd's unique name differs.
//
// Auth is Svix's: Authorization: Bearer <operator key>, which acts as the
// application a path names (a tenant key works for its own application).
// Lists answer {data, iterator, prevIterator, done}; errors {code, detail},
// 422 {detail: [{loc, msg, type}]}.
//
// Mount with http.StripPrefix("/api/v1", svix.New(...)).
package svix

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// Source is the hookd.Webhook.Source of endpoints made through this API:
// their deliveries are Svix's (the payload as the body, svix-* headers).
const Source = "svix"

// Metadata keys this API keeps on webhooks and tenants; they are not shown
// in Svix's metadata.
const (
	metaPrefix   = "svix."
	MetaUID      = "svix.uid"      // an endpoint's uid
	MetaChannels = "svix.channels" // an endpoint's channels, comma-separated
	MetaName     = "svix.name"     // an application's name, when hookd's differs
)

// Options configure the handler.
type Options struct {
	compat.Options
	// MaxMessageBytes caps the body of a message create (default
	// hookd.MaxEventBytes plus room for the envelope).
	MaxMessageBytes int64
	// PortalURL is where app-portal-access links point, the token appended
	// as ?token=… (default "/portal/enter" on the host of the request).
	PortalURL string
	// SecretGrace is how long a rotated-out secret keeps signing (default 24 h).
	SecretGrace time.Duration
}

// Svix's paging bounds.
const (
	defaultLimit = 50
	maxLimit     = 250
)

type api struct {
	svc  hookd.Services
	opts Options
	http compat.API
}

// New returns Svix's API v1, to be mounted under /api/v1.
func New(svc hookd.Services, opts Options) http.Handler {
	opts.Options = opts.Options.WithDefaults()
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = hookd.MaxEventBytes + 64<<10
	}
	if opts.PortalURL == "" {
		opts.PortalURL = "/portal/enter"
	}
	if opts.SecretGrace <= 0 {
		opts.SecretGrace = 24 * time.Hour
	}
	a := &api{svc: svc, opts: opts}
	a.http = compat.API{
		// Authentication is per route (operator, inApp); Error renders.
		Logger: opts.Logger,
		Status: status,
		Render: renderError,
	}
	mux := http.NewServeMux()
	op := a.operator
	app := a.inApp
	mux.Handle("GET /health", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	mux.Handle("GET /health/ping", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))

	mux.Handle("GET /app", op(a.listApps))
	mux.Handle("POST /app", op(a.createApp))
	mux.Handle("GET /app/{app_id}", op(a.getApp))
	mux.Handle("PUT /app/{app_id}", op(a.putApp))
	mux.Handle("PATCH /app/{app_id}", op(a.patchApp))
	mux.Handle("DELETE /app/{app_id}", op(a.deleteApp))
	mux.Handle("POST /auth/app-portal-access/{app_id}", op(a.portalAccess))

	mux.Handle("GET /event-type", op(a.listEventTypes))
	mux.Handle("POST /event-type", op(a.createEventType))
	mux.Handle("GET /event-type/{name}", op(a.getEventType))
	mux.Handle("PUT /event-type/{name}", op(a.putEventType))
	mux.Handle("PATCH /event-type/{name}", op(a.patchEventType))
	mux.Handle("DELETE /event-type/{name}", op(a.deleteEventType))

	mux.Handle("GET /app/{app_id}/endpoint", app(a.listEndpoints))
	mux.Handle("POST /app/{app_id}/endpoint", app(a.createEndpoint))
	mux.Handle("GET /app/{app_id}/endpoint/{endpoint_id}", app(a.getEndpoint))
	mux.Handle("PUT /app/{app_id}/endpoint/{endpoint_id}", app(a.putEndpoint))
	mux.Handle("PATCH /app/{app_id}/endpoint/{endpoint_id}", app(a.patchEndpoint))
	mux.Handle("DELETE /app/{app_id}/endpoint/{endpoint_id}", app(a.deleteEndpoint))
	mux.Handle("GET /app/{app_id}/endpoint/{endpoint_id}/secret", app(a.getSecret))
	mux.Handle("POST /app/{app_id}/endpoint/{endpoint_id}/secret/rotate", app(a.rotateSecret))
	mux.Handle("GET /app/{app_id}/endpoint/{endpoint_id}/headers", app(a.getHeaders))
	mux.Handle("PUT /app/{app_id}/endpoint/{endpoint_id}/headers", app(a.putHeaders))
	mux.Handle("PATCH /app/{app_id}/endpoint/{endpoint_id}/headers", app(a.patchHeaders))
	mux.Handle("POST /app/{app_id}/endpoint/{endpoint_id}/recover", app(a.recoverEndpoint))
	mux.Handle("GET /app/{app_id}/endpoint/{endpoint_id}/stats", app(a.endpointStats))

	mux.Handle("GET /app/{app_id}/msg", app(a.listMessages))
	mux.Handle("POST /app/{app_id}/msg", http.HandlerFunc(a.createMessage))
	mux.Handle("GET /app/{app_id}/msg/{msg_id}", app(a.getMessage))
	mux.Handle("GET /app/{app_id}/attempt/msg/{msg_id}", app(a.attemptsByMessage))
	mux.Handle("GET /app/{app_id}/attempt/endpoint/{endpoint_id}", app(a.attemptsByEndpoint))
	mux.Handle("GET /app/{app_id}/msg/{msg_id}/attempt/{attempt_id}", app(a.getAttempt))
	mux.Handle("POST /app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend", app(a.resend))
	mux.Handle("GET /app/{app_id}/msg/{msg_id}/endpoint", app(a.listDestinations))
	mux.Handle("GET /app/{app_id}/endpoint/{endpoint_id}/msg", app(a.listEndpointMessages))

	// Svix's operational webhooks: hookd's operator events (operational.go).
	ops := a.operational
	mux.Handle("GET /operational-webhook/endpoint", ops(a.listOperationalEndpoints))
	mux.Handle("POST /operational-webhook/endpoint", ops(a.createEndpoint))
	mux.Handle("GET /operational-webhook/endpoint/{endpoint_id}", ops(a.getEndpoint))
	mux.Handle("PUT /operational-webhook/endpoint/{endpoint_id}", ops(a.putEndpoint))
	mux.Handle("PATCH /operational-webhook/endpoint/{endpoint_id}", ops(a.patchEndpoint))
	mux.Handle("DELETE /operational-webhook/endpoint/{endpoint_id}", ops(a.deleteEndpoint))
	mux.Handle("GET /operational-webhook/endpoint/{endpoint_id}/secret", ops(a.getSecret))
	mux.Handle("POST /operational-webhook/endpoint/{endpoint_id}/secret/rotate", ops(a.rotateSecret))
	mux.Handle("GET /operational-webhook/endpoint/{endpoint_id}/headers", ops(a.getHeaders))
	mux.Handle("PUT /operational-webhook/endpoint/{endpoint_id}/headers", ops(a.putHeaders))
	mux.Handle("PATCH /operational-webhook/endpoint/{endpoint_id}/headers", ops(a.patchHeaders))

	// Every other path: 404 in Svix's shape.
	mux.Handle("/", a.http.NotFound())
	return mux
}

// caller authenticates Svix's Bearer token.
func (a *api) caller(r *http.Request) (hookd.Caller, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return hookd.Caller{}, hookd.Errorf(hookd.EUNAUTHORIZED, "Authorization: Bearer <token> is required")
	}
	return a.svc.Tenants.AuthenticateCaller(r.Context(), tok)
}

// operatorFunc serves a request of the operator's (applications, event
// types, portal access).
type operatorFunc func(w http.ResponseWriter, r *http.Request) error

func (a *api) operator(h operatorFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.caller(r)
		if err == nil && !c.Operator {
			err = hookd.Errorf(hookd.EFORBIDDEN, "this operation needs an operator key (opk_…); a tenant key reaches only its own application's endpoints and messages")
		}
		if err == nil {
			err = h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
		}
		if err != nil {
			a.http.Error(w, r, err)
		}
	})
}

type callerKey struct{}

// callerFrom returns the operator that sent a request served by operator.
func callerFrom(ctx context.Context) hookd.Caller {
	c, _ := ctx.Value(callerKey{}).(hookd.Caller)
	return c
}

// appFunc serves a request inside the application of the path.
type appFunc func(w http.ResponseWriter, r *http.Request, s hookd.Scope) error

func (a *api) inApp(h appFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.scope(r)
		if err == nil {
			err = h(w, r, s)
		}
		if err != nil {
			a.http.Error(w, r, err)
		}
	})
}

// scope authenticates r and returns the scope of the application its path
// names, in the mode of the Hookd-Mode header (default live).
func (a *api) scope(r *http.Request) (hookd.Scope, error) {
	c, err := a.caller(r)
	if err != nil {
		return hookd.Scope{}, err
	}
	return a.svc.Tenants.ActAs(r.Context(), c, tenantRef(r.PathValue("app_id")), hookd.Mode(strings.TrimSpace(r.Header.Get(hookd.ModeHeader))))
}

// Ids: hookd's with Svix's prefixes.

func swapPrefix(id, from, to string) string {
	if rest, ok := strings.CutPrefix(id, from); ok {
		return to + rest
	}
	return id
}

func appID(tenantID string) string  { return swapPrefix(tenantID, "ten_", "app_") }
func endpointID(whID string) string { return swapPrefix(whID, "wh_", "ep_") }
func attemptID(attID string) string { return swapPrefix(attID, "att_", "atmpt_") }

// tenantRef is the tenant an {app_id} names: an app_ id or a uid. The
// operator's own tenant (hookd.OperatorTenantID) is not an application: its
// webhooks are the operator's endpoints, what Svix calls operational
// webhook endpoints (/operational-webhook/endpoint); it names no tenant
// here.
func tenantRef(ref string) string {
	if t := swapPrefix(ref, "app_", "ten_"); t != hookd.OperatorTenantID {
		return t
	}
	return notAnApp
}

// notAnApp is a tenant id no tenant has.
const notAnApp = "ten_"

// Errors: {code, detail}, and 422 as Svix's validation error.

func status(code string) int {
	if code == "method_not_allowed" {
		return http.StatusMethodNotAllowed
	}
	return compat.Status(code)
}

var svixCodes = map[string]string{
	hookd.EMALFORMED:    "generic_error",
	hookd.EUNAUTHORIZED: "authentication_failed",
	hookd.EFORBIDDEN:    "insufficient access",
	hookd.ENOTFOUND:     "not_found",
	hookd.ECONFLICT:     "conflict",
	hookd.ETOOLARGE:     "payload_too_large",
	hookd.EUNSUPPORTED:  "generic_error",
	hookd.ERATELIMITED:  "rate_limited",
	hookd.EINTERNAL:     "server_error",
	hookd.EUNAVAILABLE:  "server_error",
}

type errorJSON struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

type validationItem struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

func renderError(w http.ResponseWriter, st int, code, msg string) {
	if code == hookd.EINVALID {
		compat.WriteJSON(w, st, struct {
			Detail []validationItem `json:"detail"`
		}{[]validationItem{{Loc: []string{"body"}, Msg: msg, Type: "value_error"}}})
		return
	}
	c, ok := svixCodes[code]
	if !ok {
		c = code
	}
	compat.WriteJSON(w, st, errorJSON{Code: c, Detail: msg})
}

// Lists.

// listJSON is Svix's list answer.
type listJSON[T any] struct {
	Data         []T     `json:"data"`
	Iterator     *string `json:"iterator"`
	PrevIterator *string `json:"prevIterator"`
	Done         bool    `json:"done"`
}

// pageParams are a list request's limit, iterator and order.
type pageParams struct {
	limit    int
	iterator string // as given
	// desc is order=descending, which Svix offers on the lists of
	// applications, endpoints, event types and operational endpoints;
	// the other lists ignore it, as Svix does.
	desc bool
}

// page reads limit, iterator and order.
func page(r *http.Request) (pageParams, error) {
	q := r.URL.Query()
	p := pageParams{iterator: q.Get("iterator")}
	switch o := q.Get("order"); o {
	case "", "ascending":
	case "descending":
		p.desc = true
	default:
		return p, hookd.Errorf(hookd.EINVALID, "order must be ascending or descending, got %q", o)
	}
	var err error
	p.limit, err = compat.IntParam(q.Get("limit"), "limit", defaultLimit, 1, maxLimit)
	return p, err
}

// answer answers one page of items: in ascending order, the page the
// store read after the iterator (at most limit+1 items); in descending
// order, every item in ascending order, of which it takes those before the
// iterator, from the last. hookd's stores list by id one way only, so a
// descending list reads the whole list (applications, endpoints, event
// types: lists of modest length).
func answer[T any](p pageParams, items []T, id func(T) string) listJSON[T] {
	if !p.desc {
		return list(items, p.limit, id)
	}
	sel := []T{}
	for i := len(items) - 1; i >= 0 && len(sel) <= p.limit; i-- {
		if p.iterator == "" || id(items[i]) < p.iterator {
			sel = append(sel, items[i])
		}
	}
	return list(sel, p.limit, id)
}

// list answers items (at most limit+1 read, to know whether more follow)
// as one page; id gives an item's Svix id, the next page's iterator.
func list[T any](items []T, limit int, id func(T) string) listJSON[T] {
	out := listJSON[T]{Data: items, Done: len(items) <= limit}
	if !out.Done {
		out.Data = items[:limit]
	}
	if out.Data == nil {
		out.Data = []T{}
	}
	if n := len(out.Data); n > 0 {
		it := id(out.Data[n-1])
		out.Iterator = &it
	}
	return out
}

// decode reads a JSON body within the API's limit.
func (a *api) decode(r *http.Request, dst any) error {
	return compat.DecodeJSON(r, a.opts.MaxBodyBytes, dst)
}

// userMetadata is m without this API's own keys.
func userMetadata(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.HasPrefix(k, metaPrefix) {
			out[k] = v
		}
	}
	return out
}

// withOwn returns user with the "svix." entries of stored kept.
func withOwn(user, stored map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range user {
		if strings.HasPrefix(k, metaPrefix) {
			return nil, hookd.Errorf(hookd.EINVALID, "metadata keys starting with %q are reserved", metaPrefix)
		}
		out[k] = v
	}
	for k, v := range stored {
		if strings.HasPrefix(k, metaPrefix) {
			out[k] = v
		}
	}
	return out, nil
}

// nullable is a JSON property that may be absent, null or a value.
type nullable[T any] struct {
	Set   bool // present in the body
	Value *T   // nil for null
}

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

// timeJSON is how Svix writes times: RFC 3339 in UTC.
func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
