package hookd

import (
	"context"
	"sort"
	"strings"
	"time"
)

// EventType is a name in a tenant's catalog, such as CallBroadcast.started.
// The part before the first '.' is its resource; a name without '.' (such as
// CALL_LOGGED) is its own resource.
type EventType struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate checks an event type a client supplies: its name, and a
// description every store can keep.
func (t *EventType) Validate() error {
	if err := ValidateEventTypeName(t.Name); err != nil {
		return err
	}
	return ValidateText("description", t.Description)
}

// MaxEventTypeName bounds event type names.
const MaxEventTypeName = 128

// ValidateEventTypeName accepts 1-128 characters of letters, digits, '_', '-',
// ':' and '.', not starting or ending with '.', without "..", and no '*'.
func ValidateEventTypeName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "event type name is required")
	}
	if len(name) > MaxEventTypeName {
		return Errorf(EINVALID, "event type name must be at most %d characters", MaxEventTypeName)
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return Errorf(EINVALID, "event type name %q must not start or end with '.' or contain '..'", name)
	}
	for _, c := range name {
		ok := c == '_' || c == '-' || c == ':' || c == '.' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return Errorf(EINVALID, "event type name %q may contain only letters, digits, '_', '-', ':' and '.'", name)
		}
	}
	return nil
}

// ValidateEventTypePattern accepts a name, "*" or "Resource.*".
func ValidateEventTypePattern(p string) error {
	if p == "*" {
		return nil
	}
	if r, ok := strings.CutSuffix(p, ".*"); ok {
		return ValidateEventTypeName(r)
	}
	return ValidateEventTypeName(p)
}

// IsWildcard reports whether p is "*" or "Resource.*".
func IsWildcard(p string) bool { return p == "*" || strings.HasSuffix(p, ".*") }

// ResourceOf returns the resource of an event type name: the part before the
// first '.', or the whole name if it has none.
func ResourceOf(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return name
}

// MatchEventType reports whether a webhook subscribed to patterns receives an
// event of type t. An empty list and "*" match everything; "Resource.*"
// matches every type of that resource; other patterns match exactly.
func MatchEventType(patterns []string, t string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == "*" || p == t {
			return true
		}
		if len(p) > 2 && p[len(p)-2:] == ".*" && len(t) > len(p)-2 && t[:len(p)-1] == p[:len(p)-1] {
			return true
		}
	}
	return false
}

// SubscribesToResource reports whether patterns cover any event of resource r.
func SubscribesToResource(patterns []string, r string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == "*" || ResourceOf(p) == r {
			return true
		}
	}
	return false
}

// ConcreteEventTypes returns the patterns that name one event type (not
// wildcards), in their original order: those a catalog must hold.
func ConcreteEventTypes(patterns []string) []string {
	var concrete []string
	for _, p := range patterns {
		if !IsWildcard(p) {
			concrete = append(concrete, p)
		}
	}
	return concrete
}

// MissingEventTypes returns the patterns that are neither wildcards nor in
// the catalog, in their original order.
func MissingEventTypes(patterns []string, catalog map[string]bool) []string {
	var missing []string
	for _, p := range patterns {
		if !IsWildcard(p) && !catalog[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

// Resource is a catalog resource and the events it has.
type Resource struct {
	Name   string   `json:"resource"`
	Events []string `json:"events"` // the event part of the names: started, stopped …
}

// GroupByResource groups event types as resource → events, both sorted.
func GroupByResource(types []*EventType) []Resource {
	by := map[string][]string{}
	for _, t := range types {
		r := ResourceOf(t.Name)
		ev := strings.TrimPrefix(strings.TrimPrefix(t.Name, r), ".")
		by[r] = append(by[r], ev)
	}
	out := make([]Resource, 0, len(by))
	for r, evs := range by {
		sort.Strings(evs)
		out = append(out, Resource{Name: r, Events: evs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EventTypeFilter selects event types in a list.
type EventTypeFilter struct {
	Resource string
	Page
}

// EventTypeService stores a scope's catalog.
type EventTypeService interface {
	// CreateEventType returns EINVALID for a bad name and ECONFLICT if it exists.
	CreateEventType(ctx context.Context, s Scope, t *EventType) error
	// EnsureEventTypes creates those of ts that do not exist and leaves the rest.
	EnsureEventTypes(ctx context.Context, s Scope, ts []*EventType) error
	// FindEventType returns ENOTFOUND.
	FindEventType(ctx context.Context, s Scope, name string) (*EventType, error)
	// FindEventTypes returns one page ordered by name, and the total.
	FindEventTypes(ctx context.Context, s Scope, f EventTypeFilter) ([]*EventType, int, error)
	// UpdateEventType changes the description. Returns ENOTFOUND.
	UpdateEventType(ctx context.Context, s Scope, name, description string) (*EventType, error)
	// DeleteEventType returns ENOTFOUND. Webhooks that name it keep the name.
	DeleteEventType(ctx context.Context, s Scope, name string) error
}
