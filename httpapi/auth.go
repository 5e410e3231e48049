package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

type scopeKey struct{}

// security is what every /v1 operation declares: a key as a Bearer token or
// in X-API-Key.
var security = []map[string][]string{{"bearer": {}}, {"apiKey": {}}}

// APIKeyFromRequest returns the key a request carries in
// "Authorization: Bearer …" or "X-API-Key", or "".
func APIKeyFromRequest(h http.Header) string {
	return apiKey(h.Get("Authorization"), h.Get("X-API-Key"))
}

func apiKey(authorization, xAPIKey string) string {
	if scheme, k, ok := strings.Cut(authorization, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(k)
	}
	return strings.TrimSpace(xAPIKey)
}

type callerKey struct{}

// operatorOnly marks the operations that only an operator key may call.
const operatorOnly = "operator"

// authenticate runs before the body is read: operations that declare
// security need a valid key. An operator-only operation needs an operator
// key; any other gets the scope the key acts in — a tenant key's own, or
// the tenant an operator key names in Hookd-Tenant — in its context.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	key := apiKey(ctx.Header("Authorization"), ctx.Header("X-API-Key"))
	if key == "" {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "missing API key: send \"Authorization: Bearer sk_…\" or \"X-API-Key: sk_…\"")
		return
	}
	caller, err := s.svc.Tenants.AuthenticateCaller(ctx.Context(), key)
	if err != nil {
		s.writeAuthError(ctx, err)
		return
	}
	if op.Metadata[operatorOnly] == true {
		if !caller.Operator {
			_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "this route needs an operator key (opk_…); a tenant's API key cannot manage tenants")
			return
		}
		next(huma.WithValue(ctx, callerKey{}, caller))
		return
	}
	scope, err := s.svc.Tenants.ActAs(ctx.Context(), caller, strings.TrimSpace(ctx.Header(hookd.TenantHeader)), hookd.Mode(strings.TrimSpace(ctx.Header(hookd.ModeHeader))))
	if err != nil {
		s.writeAuthError(ctx, err)
		return
	}
	caller.Scope = scope
	next(huma.WithValue(huma.WithValue(ctx, callerKey{}, caller), scopeKey{}, scope))
}

// writeAuthError answers a refused authentication with the error table's
// status; a failure of the store is a 500, logged.
func (s *Server) writeAuthError(ctx huma.Context, err error) {
	status, _ := statusOf(err)
	if status >= 500 {
		s.log.ErrorContext(ctx.Context(), "authenticate", "err", err)
		_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "internal error")
		return
	}
	msg := hookd.ErrorMessage(err)
	if status == http.StatusNotFound {
		msg = "the tenant named by " + hookd.TenantHeader + " was not found"
	}
	_ = huma.WriteErr(s.api, ctx, status, msg)
}

// callerFrom returns who sent the request; the middleware guarantees it on
// every secured operation.
func callerFrom(ctx context.Context) hookd.Caller {
	c, _ := ctx.Value(callerKey{}).(hookd.Caller)
	return c
}

// scopeFrom returns the caller's scope; the middleware guarantees it on
// every secured tenant operation.
func scopeFrom(ctx context.Context) hookd.Scope {
	sc, _ := ctx.Value(scopeKey{}).(hookd.Scope)
	return sc
}
