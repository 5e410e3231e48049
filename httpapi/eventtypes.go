package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// EventType is an entry of the catalog.
type EventType struct {
	Name        string    `json:"name" example:"CallBroadcast.started"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func eventTypeJSON(t *hookd.EventType) EventType {
	return EventType{Name: t.Name, Description: t.Description, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type eventTypeOutput = dataOutput[EventType]

func newEventTypeOutput(t *hookd.EventType) *eventTypeOutput { return data(eventTypeJSON(t)) }

type NamePath struct {
	Name string `path:"name" doc:"The event type name, e.g. CallBroadcast.started"`
}

func registerEventTypes(s *Server) {
	tags := []string{"Event types"}
	huma.Register(s.api, op(http.MethodPost, "/v1/event-types", "createEventType", "Add an event type to the catalog", tags, http.StatusCreated, s.cfg.MaxBodyBytes),
		func(ctx context.Context, in *struct {
			Body struct {
				Name        string `json:"name" doc:"Resource.event, e.g. CallBroadcast.started, or a bare name such as CALL_LOGGED"`
				Description string `json:"description,omitempty" maxLength:"4096"`
			}
		}) (*eventTypeOutput, error) {
			t := &hookd.EventType{Name: in.Body.Name, Description: in.Body.Description}
			if err := s.svc.EventTypes.CreateEventType(ctx, scopeFrom(ctx), t); err != nil {
				return nil, s.fail(ctx, "create event type", err)
			}
			return newEventTypeOutput(t), nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/event-types", "listEventTypes", "List the catalog", tags, 0, 0),
		func(ctx context.Context, in *struct {
			Resource string `query:"resource" doc:"Only this resource's event types"`
			PageQuery
		}) (*countedListOutput[EventType], error) {
			f := hookd.EventTypeFilter{Resource: in.Resource, Page: in.page()}
			ts, total, err := s.svc.EventTypes.FindEventTypes(ctx, scopeFrom(ctx), f)
			if err != nil {
				return nil, s.fail(ctx, "list event types", err)
			}
			page := listOf(ts, f.Limit, eventTypeJSON, func(t *hookd.EventType) string { return t.Name })
			if err := endOnLastPage(&page, func(p hookd.Page) (bool, error) {
				g := f
				g.Page = p
				more, _, err := s.svc.EventTypes.FindEventTypes(ctx, scopeFrom(ctx), g)
				return len(more) > 0, err
			}); err != nil {
				return nil, s.fail(ctx, "list event types", err)
			}
			return &countedListOutput[EventType]{Body: CountedListBody[EventType]{ListBody: page, Total: total}}, nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/event-types/{name}", "getEventType", "Get an event type", tags, 0, 0),
		func(ctx context.Context, in *NamePath) (*eventTypeOutput, error) {
			t, err := s.svc.EventTypes.FindEventType(ctx, scopeFrom(ctx), in.Name)
			if err != nil {
				return nil, s.fail(ctx, "get event type", err)
			}
			return newEventTypeOutput(t), nil
		})

	huma.Register(s.api, op(http.MethodPatch, "/v1/event-types/{name}", "updateEventType", "Change an event type's description", tags, 0, s.cfg.MaxBodyBytes),
		func(ctx context.Context, in *struct {
			NamePath
			Body struct {
				Description string `json:"description" maxLength:"4096"`
			}
		}) (*eventTypeOutput, error) {
			t, err := s.svc.EventTypes.UpdateEventType(ctx, scopeFrom(ctx), in.Name, in.Body.Description)
			if err != nil {
				return nil, s.fail(ctx, "update event type", err)
			}
			return newEventTypeOutput(t), nil
		})

	huma.Register(s.api, op(http.MethodDelete, "/v1/event-types/{name}", "deleteEventType", "Remove an event type from the catalog", tags, http.StatusNoContent, 0),
		func(ctx context.Context, in *NamePath) (*struct{}, error) {
			if err := s.svc.EventTypes.DeleteEventType(ctx, scopeFrom(ctx), in.Name); err != nil {
				return nil, s.fail(ctx, "delete event type", err)
			}
			return nil, nil
		})
}
