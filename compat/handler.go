package compat

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// API is what differs between the compatibility APIs in how a request is
// served: how it authenticates, which catalog it needs, and how an error
// looks. Handle does the rest the same way for all of them.
type API struct {
	Logger *slog.Logger
	// Authenticate returns the caller's scope, or EUNAUTHORIZED.
	Authenticate func(r *http.Request) (hookd.Scope, error)
	// Catalog, if set, is ensured in the caller's scope before the handler runs.
	Catalog *Catalog
	// Status maps a hookd error code to the API's HTTP status.
	Status func(code string) int
	// Render writes an error body; code is a hookd code or "method_not_allowed".
	Render func(w http.ResponseWriter, status int, code, message string)
}

// HandlerFunc serves an authenticated request in scope s. A returned error
// is rendered by the API; unexpected ones are logged and shown as
// "internal error".
type HandlerFunc func(w http.ResponseWriter, r *http.Request, s hookd.Scope) error

// Handle adapts h: authenticate, ensure the catalog, serve, render the error.
func (a *API) Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path or query that is not text never reaches a store.
		err := hookd.ValidateTarget(r.URL)
		var s hookd.Scope
		if err == nil {
			s, err = a.Authenticate(r)
		}
		if err == nil && a.Catalog != nil {
			err = a.Catalog.Ensure(r.Context(), s)
		}
		if err == nil {
			err = h(w, r, s)
		}
		if err != nil {
			a.Error(w, r, err)
		}
	})
}

// Error renders err, logging it first when it is not a domain error.
func (a *API) Error(w http.ResponseWriter, r *http.Request, err error) {
	LogInternal(a.Logger, r, err)
	if d := hookd.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (d+time.Second-1)/time.Second))))
	}
	code := hookd.ErrorCode(err)
	if code == hookd.ETOOLARGE {
		// The body may not have been read: close rather than read it.
		w.Header().Set("Connection", "close")
	}
	a.Render(w, a.Status(code), code, hookd.ErrorMessage(err))
}

// MethodNotAllowed answers 405 in the API's error shape, for a path the API
// serves with other methods (the mux alone would answer in plain text).
func (a *API) MethodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.Render(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow))
	})
}

// NotFound answers 404 in the API's error shape for paths it does not serve.
func (a *API) NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Render(w, http.StatusNotFound, hookd.ENOTFOUND, fmt.Sprintf("no such resource: %s %s", r.Method, r.URL.Path))
	})
}

// Authenticate returns the scope that key acts in: a tenant key's own, or,
// for an operator key, the tenant r names in the Hookd-Tenant header (id or
// uid) in the mode of Hookd-Mode (default live).
func Authenticate(r *http.Request, tenants hookd.TenantService, key string) (hookd.Scope, error) {
	c, err := tenants.AuthenticateCaller(r.Context(), key)
	if err != nil {
		return hookd.Scope{}, err
	}
	return tenants.ActAs(r.Context(), c, strings.TrimSpace(r.Header.Get(hookd.TenantHeader)), hookd.Mode(strings.TrimSpace(r.Header.Get(hookd.ModeHeader))))
}
