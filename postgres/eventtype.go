package postgres

import (
	"context"
	"fmt"
	"time"

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

// InsertEventType implements hookd.EventTypeStore.
func (db *DB) InsertEventType(ctx context.Context, s hookd.Scope, t *hookd.EventType) error {
	t.CreatedAt, t.UpdatedAt = pgTime(t.CreatedAt), pgTime(t.UpdatedAt)
	_, err := db.pool.Exec(ctx, `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.TenantID, string(s.Mode), t.Name, t.Description, t.CreatedAt, t.UpdatedAt)
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "event type %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert event type: %w", badText(err, "description"))
	}
	return nil
}

// ensureEventTypesSQL adds the names of $3 (with the descriptions of $4)
// that the scope's catalog lacks, in one statement.
const ensureEventTypesSQL = `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
	SELECT $1, $2, n.name, n.description, n.created_at, n.created_at
	FROM unnest($3::text[], $4::text[], $5::timestamptz[]) AS n (name, description, created_at)
	ON CONFLICT DO NOTHING`

// EnsureEventTypes implements hookd.EventTypeStore.
func (db *DB) EnsureEventTypes(ctx context.Context, s hookd.Scope, ts []*hookd.EventType) error {
	names := make([]string, len(ts))
	descs := make([]string, len(ts))
	created := make([]time.Time, len(ts))
	for i, t := range ts {
		names[i], descs[i], created[i] = t.Name, t.Description, pgTime(t.CreatedAt)
	}
	if _, err := db.pool.Exec(ctx, ensureEventTypesSQL, s.TenantID, string(s.Mode), names, descs, created); err != nil {
		return fmt.Errorf("ensure event types: %w", badText(err, "description"))
	}
	return nil
}

// FindEventType implements hookd.EventTypeStore.
func (db *DB) FindEventType(ctx context.Context, s hookd.Scope, name string) (*hookd.EventType, error) {
	t, err := scanEventType(db.pool.QueryRow(ctx, `SELECT `+eventTypeColumns+` FROM event_types
		WHERE tenant_id = $1 AND mode = $2 AND name = $3`, s.TenantID, string(s.Mode), name))
	if err != nil {
		return nil, notFound(err, "event type %q", name)
	}
	return t, nil
}

// FindEventTypes implements hookd.EventTypeStore. A cursor is the name of
// the last row of the previous page.
func (db *DB) FindEventTypes(ctx context.Context, s hookd.Scope, f hookd.EventTypeFilter) ([]*hookd.EventType, int, error) {
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

// UpdateEventType implements hookd.EventTypeStore.
func (db *DB) UpdateEventType(ctx context.Context, s hookd.Scope, name, description string, at time.Time) (*hookd.EventType, error) {
	t, err := scanEventType(db.pool.QueryRow(ctx, `UPDATE event_types SET description = $1, updated_at = $2
		WHERE tenant_id = $3 AND mode = $4 AND name = $5 RETURNING `+eventTypeColumns,
		description, pgTime(at), s.TenantID, string(s.Mode), name))
	if err != nil {
		return nil, notFound(badText(err, "description"), "event type %q", name)
	}
	return t, nil
}

// DeleteEventType implements hookd.EventTypeStore.
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

// KnownEventTypes implements hookd.EventTypeStore.
func (db *DB) KnownEventTypes(ctx context.Context, s hookd.Scope, names []string) (map[string]bool, error) {
	have := map[string]bool{}
	if len(names) == 0 {
		return have, nil
	}
	rows, _ := db.pool.Query(ctx, `SELECT name FROM event_types WHERE tenant_id = $1 AND mode = $2 AND name = ANY($3)`,
		s.TenantID, string(s.Mode), names)
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
