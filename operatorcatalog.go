package hookd

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// OperatorEventType is an event type of the operator's own catalog, which
// every tenant shares: what Svix calls the event types of an environment.
// A tenant's catalog (EventType) is still what its webhooks are checked
// against; an API that serves the operator's catalog copies a type into a
// tenant's when a webhook of that tenant names it.
type OperatorEventType struct {
	Name        string
	Description string
	// Schemas is a JSON object (version → JSON Schema), kept as given, or nil.
	Schemas     json.RawMessage
	Archived    bool
	Deprecated  bool
	FeatureFlag string
	GroupName   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// MaxSchemasBytes bounds an operator event type's schemas.
const MaxSchemasBytes = 256 << 10

// Validate checks what a client sets on an operator event type.
func (t *OperatorEventType) Validate() error {
	if err := ValidateEventTypeName(t.Name); err != nil {
		return err
	}
	if err := ValidateText("description", t.Description); err != nil {
		return err
	}
	for _, f := range [...]struct{ name, v string }{{"featureFlag", t.FeatureFlag}, {"groupName", t.GroupName}} {
		if f.v != "" && (len(f.v) > MaxUID || !uidRE.MatchString(f.v)) {
			return Errorf(EINVALID, "%s must be 1 to %d characters of a-z, A-Z, 0-9, '_', '.' or '-'", f.name, MaxUID)
		}
	}
	if s := bytes.TrimSpace(t.Schemas); len(s) == 0 || string(s) == "null" {
		t.Schemas = nil
	} else {
		if len(s) > MaxSchemasBytes {
			return Errorf(EINVALID, "schemas must be at most %d bytes of JSON", MaxSchemasBytes)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(s, &m); err != nil {
			return Errorf(EINVALID, "schemas must be a JSON object")
		}
		if err := ValidateText("schemas", string(s)); err != nil {
			return err
		}
		t.Schemas = s
	}
	return nil
}

// OperatorEventTypeFilter selects operator event types in a list.
type OperatorEventTypeFilter struct {
	IncludeArchived bool
	Page            // Cursor is the name of the last row of the previous page
}

// OperatorCatalogStore keeps the operator's catalog.
type OperatorCatalogStore interface {
	// InsertOperatorEventType stores t. Returns ECONFLICT if a type has its name.
	InsertOperatorEventType(ctx context.Context, t *OperatorEventType) error
	// FindOperatorEventType returns ENOTFOUND.
	FindOperatorEventType(ctx context.Context, name string) (*OperatorEventType, error)
	// FindOperatorEventTypes returns the page f.Page (already normalized)
	// ordered by name, archived ones only if f says so.
	FindOperatorEventTypes(ctx context.Context, f OperatorEventTypeFilter) ([]*OperatorEventType, error)
	// UpdateOperatorEventType reads the type, calls change on it and writes
	// what it left (its name excepted), in one transaction that holds the
	// row; an error from change writes nothing. Returns ENOTFOUND.
	UpdateOperatorEventType(ctx context.Context, name string, change func(*OperatorEventType) error) (*OperatorEventType, error)
	// DeleteOperatorEventType returns ENOTFOUND.
	DeleteOperatorEventType(ctx context.Context, name string) error
}

// OperatorCatalogService manages the operator's catalog.
type OperatorCatalogService interface {
	// CreateOperatorEventType validates t, sets its times and stores it.
	// EINVALID, ECONFLICT.
	CreateOperatorEventType(ctx context.Context, t *OperatorEventType) error
	// FindOperatorEventType returns ENOTFOUND.
	FindOperatorEventType(ctx context.Context, name string) (*OperatorEventType, error)
	// FindOperatorEventTypes returns one page ordered by name.
	FindOperatorEventTypes(ctx context.Context, f OperatorEventTypeFilter) ([]*OperatorEventType, error)
	// UpdateOperatorEventType applies change and validates the result; the
	// name cannot change. ENOTFOUND, EINVALID.
	UpdateOperatorEventType(ctx context.Context, name string, change func(*OperatorEventType)) (*OperatorEventType, error)
	// DeleteOperatorEventType deletes the type for good (archiving is an
	// update). Tenants' catalogs keep their copies. ENOTFOUND.
	DeleteOperatorEventType(ctx context.Context, name string) error
}

// operatorCatalog is the OperatorCatalogService.
type operatorCatalog struct {
	st  OperatorCatalogStore
	now func() time.Time
}

func (c *operatorCatalog) CreateOperatorEventType(ctx context.Context, t *OperatorEventType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.CreatedAt = c.now()
	t.UpdatedAt = t.CreatedAt
	return c.st.InsertOperatorEventType(ctx, t)
}

func (c *operatorCatalog) FindOperatorEventType(ctx context.Context, name string) (*OperatorEventType, error) {
	return c.st.FindOperatorEventType(ctx, name)
}

func (c *operatorCatalog) FindOperatorEventTypes(ctx context.Context, f OperatorEventTypeFilter) ([]*OperatorEventType, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, err
	}
	return c.st.FindOperatorEventTypes(ctx, f)
}

func (c *operatorCatalog) UpdateOperatorEventType(ctx context.Context, name string, change func(*OperatorEventType)) (*OperatorEventType, error) {
	return c.st.UpdateOperatorEventType(ctx, name, func(t *OperatorEventType) error {
		change(t)
		t.Name = name
		if err := t.Validate(); err != nil {
			return err
		}
		t.UpdatedAt = c.now()
		return nil
	})
}

func (c *operatorCatalog) DeleteOperatorEventType(ctx context.Context, name string) error {
	return c.st.DeleteOperatorEventType(ctx, name)
}
