package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
)

// brokenStore answers every call it implements with an unexpected error;
// the embedded nil interfaces make any other call panic, so the test also
// proves which services a route touches.
type brokenStore struct {
	hookd.TenantService
	hookd.WebhookService
	hookd.EventTypeService
	hookd.EventService
	hookd.DeliveryService
	hookd.Publisher
}

var errDisk = errors.New("disk on fire at /var/lib/hookd")

func (brokenStore) AuthenticateCaller(context.Context, string) (hookd.Caller, error) {
	return hookd.Caller{Scope: hookd.Scope{TenantID: "ten_1", Mode: hookd.ModeLive}}, nil
}

func (brokenStore) ActAs(_ context.Context, c hookd.Caller, _ string, _ hookd.Mode) (hookd.Scope, error) {
	return c.Scope, nil
}

func (brokenStore) FindWebhookByID(context.Context, hookd.Scope, string) (*hookd.Webhook, error) {
	return nil, fmt.Errorf("find webhook: %w", errDisk)
}

func (brokenStore) Publish(context.Context, hookd.PublishRequest) (hookd.PublishResult, error) {
	return hookd.PublishResult{}, errDisk
}

// TestInternalErrorsAreLoggedNotShown checks that an unexpected failure is a
// 500 saying only "internal error", while the cause goes to the log.
func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	b := brokenStore{}
	srv, err := httpapi.New(httpapi.Config{
		Services: hookd.Services{Tenants: b, Webhooks: b, EventTypes: b, Events: b, Deliveries: b, Publisher: b},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/webhooks/wh_1", ""},
		{"POST", "/v1/events", `{"type":"A.b","data":{}}`},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer sk_live_x")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("%s %s: not an error envelope: %s", tc.method, tc.path, body)
		}
		if resp.StatusCode != 500 || env.Error.Code != "internal" || env.Error.Message != "internal error" {
			t.Errorf("%s %s: %d %s, want 500 internal \"internal error\"", tc.method, tc.path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "disk") {
			t.Errorf("%s %s: the answer leaks the cause: %s", tc.method, tc.path, body)
		}
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("the cause was not logged:\n%s", logs.String())
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	if _, err := httpapi.New(httpapi.Config{}); err == nil {
		t.Fatal("New with no services succeeded")
	}
}

// TestListSchemas checks that the OpenAPI document describes each list
// answer with its fields, total only where the list counts its rows.
func TestListSchemas(t *testing.T) {
	t.Parallel()
	b := brokenStore{}
	srv, err := httpapi.New(httpapi.Config{Services: hookd.Services{Tenants: b, Webhooks: b, EventTypes: b, Events: b, Deliveries: b, Publisher: b}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path, total := range map[string]bool{"/v1/webhooks": true, "/v1/event-types": true, "/v1/events": false, "/v1/deliveries": false} {
		ref := doc.Paths[path]["get"].Responses["200"].Content["application/json"].Schema.Ref
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("GET %s: no schema %q", path, ref)
			continue
		}
		want := map[string]bool{"data": true, "next_cursor": true, "total": total}
		for field, present := range want {
			if _, got := schema.Properties[field]; got != present {
				t.Errorf("GET %s (%s): property %q present = %v, want %v", path, name, field, got, present)
			}
		}
		if total && !slices.Contains(schema.Required, "total") {
			t.Errorf("GET %s (%s): total is not required: %v", path, name, schema.Required)
		}
	}
}
