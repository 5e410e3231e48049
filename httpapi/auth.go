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

// authenticate runs before the body is read: operations that declare
// security need a valid key, whose scope it puts in the context.
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
	ck := cacheKey(key)
	if scope, ok := s.auth.get(ck); ok {
		next(huma.WithValue(ctx, scopeKey{}, scope))
		return
	}
	scope, err := s.svc.Tenants.Authenticate(ctx.Context(), key)
	if err != nil {
		if hookd.ErrorCode(err) == hookd.EUNAUTHORIZED {
			_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "invalid or revoked API key")
			return
		}
		s.log.ErrorContext(ctx.Context(), "authenticate", "err", err)
		_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "internal error")
		return
	}
	s.auth.put(ck, scope)
	next(huma.WithValue(ctx, scopeKey{}, scope))
}

// scopeFrom returns the caller's scope; the middleware guarantees it on
// every secured operation.
func scopeFrom(ctx context.Context) hookd.Scope {
	sc, _ := ctx.Value(scopeKey{}).(hookd.Scope)
	return sc
}
