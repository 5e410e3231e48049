package hookd

import (
	"context"
	"time"
)

// eventTypes is the EventTypeService: the catalog's names and texts.
type eventTypes struct {
	st  EventTypeStore
	now func() time.Time
}

func (e *eventTypes) CreateEventType(ctx context.Context, s Scope, t *EventType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	now := e.now().UTC()
	t.CreatedAt, t.UpdatedAt = now, now
	if err := e.st.InsertEventType(ctx, s, t); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return Errorf(ECONFLICT, "event type %q already exists", t.Name)
		}
		return err
	}
	return nil
}

// EnsureEventTypes works on copies: callers share their lists of types
// (a compatibility API's fixed catalog) between requests.
func (e *eventTypes) EnsureEventTypes(ctx context.Context, s Scope, ts []*EventType) error {
	if len(ts) == 0 {
		return nil
	}
	now := e.now()
	out := make([]*EventType, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			return err
		}
		c := *t
		c.CreatedAt, c.UpdatedAt = now, now
		out[i] = &c
	}
	return e.st.EnsureEventTypes(ctx, s, out)
}

func (e *eventTypes) FindEventType(ctx context.Context, s Scope, name string) (*EventType, error) {
	return e.st.FindEventType(ctx, s, name)
}

func (e *eventTypes) FindEventTypes(ctx context.Context, s Scope, f EventTypeFilter) ([]*EventType, int, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, 0, err
	}
	return e.st.FindEventTypes(ctx, s, f)
}

func (e *eventTypes) UpdateEventType(ctx context.Context, s Scope, name, description string) (*EventType, error) {
	if err := ValidateText("description", description); err != nil {
		return nil, err
	}
	return e.st.UpdateEventType(ctx, s, name, description, e.now().UTC())
}

func (e *eventTypes) DeleteEventType(ctx context.Context, s Scope, name string) error {
	return e.st.DeleteEventType(ctx, s, name)
}

// checkCatalog returns EINVALID for the first pattern that is neither a
// wildcard nor in the scope's catalog.
func checkCatalog(ctx context.Context, st EventTypeStore, s Scope, patterns []string) error {
	var concrete []string
	for _, p := range ConcreteEventTypes(patterns) {
		if !IsOperatorEvent(p) { // always known: every tenant may subscribe to them
			concrete = append(concrete, p)
		}
	}
	if len(concrete) == 0 {
		return nil
	}
	have, err := st.KnownEventTypes(ctx, s, concrete)
	if err != nil {
		return err
	}
	for _, t := range OperatorEventTypes {
		have[t.Name] = true
	}
	if missing := MissingEventTypes(patterns, have); len(missing) > 0 {
		return Errorf(EINVALID, "event_types: unknown event type %q (create it first with POST /v1/event-types)", missing[0])
	}
	return nil
}
