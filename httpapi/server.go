// Package httpapi serves hookd's canonical HTTP API under /v1, the health
// endpoints and the OpenAPI 3.1 document. Routes are declared once, with
// huma, so the OpenAPI document is generated from the code that routes
// requests and cannot drift from it.
//
// Handlers return errors; one table (errors.go) maps domain error codes to
// HTTP statuses and renders the envelope {"error": {"code", "message"}}.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/hookd/hookd"
)

// Config is what the API needs.
type Config struct {
	Services hookd.Services
	Logger   *slog.Logger
	// MaxBodyBytes bounds management request bodies (default 64 KiB).
	MaxBodyBytes int64
	// MaxEventBytes bounds POST /v1/events bodies (default 1 MiB).
	MaxEventBytes int64
	// MaxBatchBytes bounds POST /v1/events/batch bodies (default 8 MiB).
	MaxBatchBytes int64
	// MaxBodyMemory bounds the request bodies held in memory at once, by
	// their declared length (the limit when it is not declared); a request
	// over it is answered 503 with Retry-After before its body is read,
	// unless no other body is held (default 16 MiB).
	MaxBodyMemory int64
	// SecretGrace is how long a rotated-out secret keeps signing (default 24 h).
	SecretGrace time.Duration
	// Ready reports whether the service can take traffic (database reachable,
	// not shutting down). Nil means always ready.
	Ready func(ctx context.Context) error
	// PortalURL is where portal links point: the token is appended as
	// ?token=… (default "/portal/enter", relative to this server).
	PortalURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = hookd.MaxEventBytes
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 8 << 20
	}
	if c.MaxBodyMemory == 0 {
		c.MaxBodyMemory = DefaultMaxBodyMemory
	}
	if c.SecretGrace == 0 {
		c.SecretGrace = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PortalURL == "" {
		c.PortalURL = "/portal/enter"
	}
}

func (c *Config) validate() error {
	s := c.Services
	if s.Tenants == nil || s.Webhooks == nil || s.EventTypes == nil || s.Events == nil || s.Deliveries == nil || s.Publisher == nil {
		return errors.New("httpapi: every service of Config.Services is required")
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("httpapi: MaxBodyBytes must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.MaxBodyMemory < 0 {
		return fmt.Errorf("httpapi: MaxBodyMemory must not be negative, got %d", c.MaxBodyMemory)
	}
	if c.SecretGrace < 0 {
		return fmt.Errorf("httpapi: SecretGrace must not be negative, got %s", c.SecretGrace)
	}
	return nil
}

// DefaultMaxBodyMemory is Config.MaxBodyMemory's default.
const DefaultMaxBodyMemory = 16 << 20

// Server is the canonical API.
type Server struct {
	cfg Config
	// bodies is how many bytes of request bodies are held now (MaxBodyMemory).
	bodies atomic.Int64
	svc    hookd.Services
	log    *slog.Logger
	api    huma.API
	mux    *http.ServeMux
}

// New builds the API. It returns an error for an incomplete Config.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, svc: cfg.Services, log: cfg.Logger, mux: http.NewServeMux()}

	useErrorEnvelope()
	hc := huma.Config{
		OpenAPI: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info: &huma.Info{
				Title:       "hookd",
				Version:     hookd.Version,
				Description: "Self-hosted webhook service: publish events, deliver them signed, manage webhooks.",
			},
			Components: &huma.Components{
				Schemas: huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer),
				SecuritySchemes: map[string]*huma.SecurityScheme{
					"bearer": {Type: "http", Scheme: "bearer", Description: "A tenant's API key (sk_live_… or sk_test_…), or an operator key (opk_…) with the Hookd-Tenant header"},
					"apiKey": {Type: "apiKey", In: "header", Name: "X-API-Key", Description: "A tenant's API key (sk_live_… or sk_test_…), or an operator key (opk_…) with the Hookd-Tenant header"},
				},
			},
		},
		OpenAPIPath:   "/openapi", // huma serves /openapi.json and /openapi.yaml
		DefaultFormat: "application/json",
		Formats: map[string]huma.Format{
			"application/json": jsonFormat,
			"json":             jsonFormat,
		},
	}
	s.api = humago.New(s.mux, hc)
	s.api.UseMiddleware(s.authenticate)

	registerHealth(s)
	registerEventTypes(s)
	registerWebhooks(s)
	registerEvents(s)
	registerDeliveries(s)
	registerTenants(s)
	registerBatch(s)
	return s, nil
}

// OpenAPI returns the generated document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// ServeHTTP routes a request. Paths and methods that match no route answer
// the error envelope too, not the mux's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := hookd.ValidateTarget(r.URL); err != nil {
		s.writeErr(w, err)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		rec := &statusRecorder{header: http.Header{}}
		h, _ := s.mux.Handler(r)
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			if allow := rec.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		writeError(w, http.StatusNotFound, hookd.ENOTFOUND, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
		return
	}
	release, ok := s.screen(w, r)
	if !ok {
		return
	}
	defer release()
	s.mux.ServeHTTP(w, r)
}

// statusRecorder captures the status the mux would answer for an unrouted request.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorEnvelope{Error: errorBody{Code: code, Message: msg}})
}

// fail turns a handler's error into an API error and logs what the client
// does not see.
func (s *Server) fail(ctx context.Context, op string, err error) error {
	status, code := statusOf(err)
	if status >= 500 {
		s.log.ErrorContext(ctx, "request failed", "op", op, "err", err)
	}
	return &apiError{status: status, Code: code, Message: hookd.ErrorMessage(err), retryAfter: hookd.ErrorRetryAfter(err)}
}

func registerHealth(s *Server) {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness: the process is up", Tags: []string{"Health"},
	}, func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
		return &statusOutput{Body: statusBody{Status: "ok"}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness: the database answers and the process is not shutting down", Tags: []string{"Health"},
	}, func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(ctx); err != nil {
				s.log.WarnContext(ctx, "not ready", "err", err)
				return nil, &apiError{status: http.StatusServiceUnavailable, Code: hookd.EUNAVAILABLE, Message: "not ready"}
			}
		}
		return &statusOutput{Body: statusBody{Status: "ready"}}, nil
	})
}

type statusBody struct {
	Status string `json:"status" example:"ok"`
}

type statusOutput struct {
	Body statusBody
}
