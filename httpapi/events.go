package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// Event is a published event.
type Event struct {
	ID        string          `json:"id" example:"msg_01jd3k2x0s5v6y7z8a9b0c1d2e"`
	Type      string          `json:"type" example:"CallBroadcast.started"`
	Data      json.RawMessage `json:"data"`
	Timestamp time.Time       `json:"timestamp"`
}

func eventJSON(e *hookd.Event) Event {
	return Event{ID: e.ID, Type: e.Type, Data: e.Data, Timestamp: e.CreatedAt}
}

// PublishInput is the body of POST /v1/events.
type PublishInput struct {
	Type string          `json:"type" doc:"The event type; an unknown one is added to the catalog"`
	Data json.RawMessage `json:"data" doc:"A JSON object"`
	ID   string          `json:"id,omitempty" doc:"Your id for the event: publishing it again with the same body answers the first result"`
}

// decodePublish reads a publish body: JSON (415 otherwise), well-formed
// (400 saying where otherwise), with known fields of the right types (422).
func decodePublish(contentType string, raw []byte) (*PublishInput, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); contentType != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, hookd.Errorf(hookd.EUNSUPPORTED, "body must be application/json, got %q", contentType)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, hookd.Errorf(hookd.EMALFORMED, "request body is required")
	}
	var in PublishInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) || strings.HasPrefix(err.Error(), "json: unknown field") {
			return nil, hookd.Errorf(hookd.EINVALID, "%s", strings.TrimPrefix(explainJSONError(raw, err).Error(), "malformed JSON: "))
		}
		return nil, hookd.Errorf(hookd.EMALFORMED, "%s", explainJSONError(raw, err).Error())
	}
	if dec.More() {
		return nil, hookd.Errorf(hookd.EMALFORMED, "body has data after the JSON object")
	}
	return &in, in.validate()
}

func (in *PublishInput) validate() error {
	if in.Type == "" {
		return hookd.Errorf(hookd.EINVALID, "type is required")
	}
	if err := hookd.ValidateEventTypeName(in.Type); err != nil {
		return hookd.Errorf(hookd.EINVALID, "type: %s", hookd.ErrorMessage(err))
	}
	if d := bytes.TrimSpace(in.Data); len(d) == 0 || d[0] != '{' {
		return hookd.Errorf(hookd.EINVALID, "data must be a JSON object")
	}
	if len(in.ID) > hookd.MaxEventIDLength {
		return hookd.Errorf(hookd.EINVALID, "id must be at most %d characters", hookd.MaxEventIDLength)
	}
	return nil
}

// Published answers a publish.
type Published struct {
	ID         string `json:"id"`
	Deliveries int    `json:"deliveries" doc:"How many deliveries the event made"`
}

// EventWithDeliveries is an event and what became of it.
type EventWithDeliveries struct {
	Event
	Deliveries []Delivery `json:"deliveries"`
}

type TimeRange struct {
	Since time.Time `query:"since" doc:"Only rows created at or after this RFC 3339 time"`
	Until time.Time `query:"until" doc:"Only rows created before this RFC 3339 time"`
}

func (q TimeRange) bounds() (since, until *time.Time) {
	if !q.Since.IsZero() {
		since = &q.Since
	}
	if !q.Until.IsZero() {
		until = &q.Until
	}
	return since, until
}

func registerEvents(s *Server) {
	tags := []string{"Events"}
	publish := op(http.MethodPost, "/v1/events", "publishEvent",
		"Publish an event: 202 means it and all its deliveries are committed", tags, http.StatusAccepted, s.cfg.MaxEventBytes)
	// The body is decoded here, once, rather than validated and decoded by
	// huma: this is the hot path. The schema is still documented.
	publish.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"application/json": {Schema: huma.SchemaFromType(s.api.OpenAPI().Components.Schemas, reflect.TypeFor[PublishInput]())},
	}}
	// Documenting the schema made huma decode the body into a map and
	// validate it before the handler decoded it again: decodePublish makes
	// every check the schema does, so the body is parsed once.
	publish.SkipValidateBody = true
	huma.Register(s.api, publish,
		func(ctx context.Context, in *struct {
			IdempotencyKey string `header:"Idempotency-Key" maxLength:"256" doc:"Publishing again with the same key and body answers the first result; with another body, 409"`
			ContentType    string `header:"Content-Type"`
			RawBody        []byte
		}) (*dataOutput[Published], error) {
			body, err := decodePublish(in.ContentType, in.RawBody)
			if err != nil {
				return nil, s.fail(ctx, "publish", err)
			}
			e := &hookd.Event{
				ID: body.ID, Type: body.Type, Data: body.Data, CreatedAt: s.cfg.Now(),
				IdempotencyKey: in.IdempotencyKey, BodyHash: hookd.ComputeBodyHash(body.Type, body.Data),
			}
			res, err := s.svc.Publisher.Publish(ctx, hookd.PublishRequest{Scope: scopeFrom(ctx), Event: e})
			if err != nil {
				return nil, s.fail(ctx, "publish", err)
			}
			return data(Published{ID: res.Event.ID, Deliveries: res.Deliveries}), nil
		})
	keepJSONSchema(s.api, publish.Path, http.MethodPost)

	huma.Register(s.api, op(http.MethodGet, "/v1/events", "listEvents", "List events, newest first", tags, 0, 0),
		func(ctx context.Context, in *struct {
			Type string `query:"type"`
			TimeRange
			PageQuery
		}) (*listOutput[Event], error) {
			f := hookd.EventFilter{Type: in.Type, Page: in.page()}
			f.Since, f.Until = in.bounds()
			es, err := s.svc.Events.FindEvents(ctx, scopeFrom(ctx), f)
			if err != nil {
				return nil, s.fail(ctx, "list events", err)
			}
			page := listOf(es, f.Limit, eventJSON, func(e *hookd.Event) string { return e.ID })
			if err := endOnLastPage(&page, func(p hookd.Page) (bool, error) {
				g := f
				g.Page = p
				more, err := s.svc.Events.FindEvents(ctx, scopeFrom(ctx), g)
				return len(more) > 0, err
			}); err != nil {
				return nil, s.fail(ctx, "list events", err)
			}
			return &listOutput[Event]{Body: page}, nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/events/{id}", "getEvent", "Get an event with its deliveries", tags, 0, 0),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*dataOutput[EventWithDeliveries], error) {
			sc := scopeFrom(ctx)
			e, err := s.svc.Events.FindEventByID(ctx, sc, in.ID)
			if err != nil {
				return nil, s.fail(ctx, "get event", err)
			}
			ds, err := allDeliveries(ctx, s.svc.Deliveries, sc, hookd.DeliveryFilter{EventID: e.ID})
			if err != nil {
				return nil, s.fail(ctx, "get event", err)
			}
			out := EventWithDeliveries{Event: eventJSON(e), Deliveries: make([]Delivery, len(ds))}
			for i, d := range ds {
				out.Deliveries[i] = deliveryJSON(d)
			}
			return data(out), nil
		})
}

// allDeliveries reads every delivery that f selects, page by page.
func allDeliveries(ctx context.Context, svc hookd.DeliveryService, sc hookd.Scope, f hookd.DeliveryFilter) ([]*hookd.Delivery, error) {
	var all []*hookd.Delivery
	f.Page = hookd.Page{Limit: hookd.MaxPageLimit}
	for {
		page, err := svc.FindDeliveries(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all, nil
		}
		f.Cursor = page[len(page)-1].ID
	}
}
