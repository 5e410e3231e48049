package callfire

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd/compat"
)

// swaggerJSON is a Swagger 2.0 document of this API. CallFire's
// spec-driven clients (the JS client on swagger-client, the Python client on
// bravado) load their spec from <base>/api-docs/swagger.json before any call
// and then call the host and basePath it names.
//
//go:embed swagger.json
var swaggerJSON []byte

// swaggerPath is where those clients look for the document, relative to the
// API's base.
const swaggerPath = "/api-docs/swagger.json"

// serveSwagger answers the document with host, basePath and schemes of the
// request that asked for it, so that a client given this hookd's base URL
// calls this hookd. It needs no credentials: it holds nothing of a tenant.
func serveSwagger(w http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	if err := json.Unmarshal(swaggerJSON, &doc); err != nil {
		renderError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	doc["host"] = r.Host
	doc["basePath"] = basePath(r)
	doc["schemes"] = []string{scheme(r)}
	compat.WriteJSON(w, http.StatusOK, doc)
}

// basePath is the prefix the API is mounted under: the request's path
// before the handler's mount stripped it, less swaggerPath.
func basePath(r *http.Request) string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		p = u.Path
	}
	p = strings.TrimSuffix(p, swaggerPath)
	if p == "" {
		return "/"
	}
	return p
}

// scheme is https when the request came over TLS, or through a proxy that
// says so.
func scheme(r *http.Request) string {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return "https"
	}
	return "http"
}
