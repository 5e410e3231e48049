package compat

import (
	"context"
	"fmt"
	"sync"

	"github.com/hookd/hookd"
)

// Catalog makes a fixed set of event types available in every scope that
// uses an API, with one EnsureEventTypes per scope per process rather than a
// write per request. A type deleted later through the canonical API comes
// back on the next process start, not before.
type Catalog struct {
	svc   hookd.EventTypeService
	types []*hookd.EventType

	mu   sync.Mutex
	done map[hookd.Scope]bool
}

// NewCatalog returns a Catalog that ensures types through svc.
func NewCatalog(svc hookd.EventTypeService, types []*hookd.EventType) *Catalog {
	return &Catalog{svc: svc, types: types, done: map[hookd.Scope]bool{}}
}

// Ensure creates the catalog's types in scope s unless this process already did.
func (c *Catalog) Ensure(ctx context.Context, s hookd.Scope) error {
	c.mu.Lock()
	done := c.done[s]
	c.mu.Unlock()
	if done {
		return nil
	}
	// Concurrent first requests may both ensure: EnsureEventTypes is idempotent.
	if err := c.svc.EnsureEventTypes(ctx, s, c.types); err != nil {
		return fmt.Errorf("ensure event types: %w", err)
	}
	c.mu.Lock()
	c.done[s] = true
	c.mu.Unlock()
	return nil
}
