package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const eventTypeColumns = `name, description, created_at, updated_at`

func scanEventType(r pgx.Row) (*hookd.EventType, error) {
	var t hookd.EventType
	if err := r.Scan(&t.Name, &t.Description, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateEventType implements hookd.EventTypeService.
func (db *DB) CreateEventType(ctx context.Context, s hookd.Scope, t *hookd.EventType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	now := db.now()
	t.CreatedAt, t.UpdatedAt = now, now
	_, err := db.pool.Exec(ctx, `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, s.TenantID, string(s.Mode), t.Name, t.Description, now)
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "event type %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("create event type: %w", badText(err, "description"))
	}
	return nil
}

// ensureEventTypesSQL adds the names of $3 (with the descriptions of $4)
// that the scope's catalog lacks, in one statement.
const ensureEventTypesSQL = `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
	SELECT $1, $2, n.name, n.description, $5, $5 FROM unnest($3::text[], $4::text[]) AS n (name, description)
	ON CONFLICT DO NOTHING`

// EnsureEventTypes implements hookd.EventTypeService.
func (db *DB) EnsureEventTypes(ctx context.Context, s hookd.Scope, ts []*hookd.EventType) error {
	names := make([]string, len(ts))
	descs := make([]string, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			return err
		}
		names[i], descs[i] = t.Name, t.Description
	}
	if len(ts) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, ensureEventTypesSQL, s.TenantID, string(s.Mode), names, descs, db.now()); err != nil {
		return fmt.Errorf("ensure event types: %w", badText(err, "description"))
	}
	return nil
}

// FindEventType implements hookd.EventTypeService.
func (db *DB) FindEventType(ctx context.Context, s hookd.Scope, name string) (*hookd.EventType, error) {
	t, err := scanEventType(db.pool.QueryRow(ctx, `SELECT `+eventTypeColumns+` FROM event_types
		WHERE tenant_id = $1 AND mode = $2 AND name = $3`, s.TenantID, string(s.Mode), name))
	if err != nil {
		return nil, notFound(err, "event type %q", name)
	}
	return t, nil
}

// FindEventTypes implements hookd.EventTypeService. A cursor is the name of
// the last row of the previous page.
func (db *DB) FindEventTypes(ctx context.Context, s hookd.Scope, f hookd.EventTypeFilter) ([]*hookd.EventType, int, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, 0, err
	}
	// The resource is the name itself or the part before the first '.'.
	where := ` WHERE tenant_id = $1 AND mode = $2 AND ($3 = '' OR name = $3 OR starts_with(name, $3 || '.'))`
	args := []any{s.TenantID, string(s.Mode), f.Resource}
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM event_types`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count event types: %w", err)
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+eventTypeColumns+` FROM event_types`+where+
		` AND ($4 = '' OR name > $4) ORDER BY name LIMIT $5 OFFSET $6`,
		append(args, f.Cursor, f.Limit, offsetUnlessCursor(f.Page))...)
	out, err := collect(rows, scanEventType)
	if err != nil {
		return nil, 0, fmt.Errorf("find event types: %w", err)
	}
	return out, total, nil
}

// offsetUnlessCursor is the offset of a page: a cursor replaces it.
func offsetUnlessCursor(p hookd.Page) int {
	if p.Cursor != "" {
		return 0
	}
	return p.Offset
}

// UpdateEventType implements hookd.EventTypeService.
func (db *DB) UpdateEventType(ctx context.Context, s hookd.Scope, name, description string) (*hookd.EventType, error) {
	if err := hookd.ValidateText("description", description); err != nil {
		return nil, err
	}
	t, err := scanEventType(db.pool.QueryRow(ctx, `UPDATE event_types SET description = $1, updated_at = $2
		WHERE tenant_id = $3 AND mode = $4 AND name = $5 RETURNING `+eventTypeColumns,
		description, db.now(), s.TenantID, string(s.Mode), name))
	if err != nil {
		return nil, notFound(badText(err, "description"), "event type %q", name)
	}
	return t, nil
}

// DeleteEventType implements hookd.EventTypeService.
func (db *DB) DeleteEventType(ctx context.Context, s hookd.Scope, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM event_types WHERE tenant_id = $1 AND mode = $2 AND name = $3`,
		s.TenantID, string(s.Mode), name)
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "event type %q not found", name)
	}
	return nil
}

// catalog returns which of the concrete names in patterns the scope's
// catalog has.
func catalog(ctx context.Context, q pgxQuerier, s hookd.Scope, patterns []string) (map[string]bool, error) {
	have := map[string]bool{}
	concrete := hookd.ConcreteEventTypes(patterns)
	if len(concrete) == 0 {
		return have, nil
	}
	rows, _ := q.Query(ctx, `SELECT name FROM event_types WHERE tenant_id = $1 AND mode = $2 AND name = ANY($3)`,
		s.TenantID, string(s.Mode), concrete)
	names, err := collect(rows, func(r pgx.Row) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	for _, n := range names {
		have[n] = true
	}
	return have, nil
}

// pgxQuerier is what reads need: the pool or a transaction.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
