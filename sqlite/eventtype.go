package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const eventTypeColumns = `name, description, created_at, updated_at`

func scanEventType(s scanner) (*hookd.EventType, error) {
	var t hookd.EventType
	var created, updated int64
	if err := s.Scan(&t.Name, &t.Description, &created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return &t, nil
}

// InsertEventType implements hookd.EventTypeStore.
func (db *DB) InsertEventType(ctx context.Context, s hookd.Scope, t *hookd.EventType) error {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC().Truncate(time.Millisecond), t.UpdatedAt.UTC().Truncate(time.Millisecond)
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			s.TenantID, string(s.Mode), t.Name, t.Description, ms(t.CreatedAt), ms(t.UpdatedAt))
		return err
	})
	if isUnique(err) {
		return hookd.Errorf(hookd.ECONFLICT, "event type %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert event type: %w", err)
	}
	return nil
}

// EnsureEventTypes implements hookd.EventTypeStore.
func (db *DB) EnsureEventTypes(ctx context.Context, s hookd.Scope, ts []*hookd.EventType) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, ensureEventTypeSQL)
		if err != nil {
			return fmt.Errorf("ensure event types: %w", err)
		}
		defer stmt.Close()
		for _, t := range ts {
			if _, err := stmt.ExecContext(ctx, s.TenantID, string(s.Mode), t.Name, t.Description, ms(t.CreatedAt), ms(t.UpdatedAt)); err != nil {
				return fmt.Errorf("ensure event type %q: %w", t.Name, err)
			}
		}
		return nil
	})
}

const ensureEventTypeSQL = `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// FindEventType implements hookd.EventTypeStore.
func (db *DB) FindEventType(ctx context.Context, s hookd.Scope, name string) (*hookd.EventType, error) {
	t, err := scanEventType(db.reader.QueryRowContext(ctx, `SELECT `+eventTypeColumns+` FROM event_types WHERE tenant_id = ? AND mode = ? AND name = ?`,
		s.TenantID, string(s.Mode), name))
	if err != nil {
		return nil, notFound(err, "find event type", fmt.Sprintf("event type %q not found", name))
	}
	return t, nil
}

// FindEventTypes implements hookd.EventTypeStore. A cursor is the name of
// the last row of the previous page.
func (db *DB) FindEventTypes(ctx context.Context, s hookd.Scope, f hookd.EventTypeFilter) ([]*hookd.EventType, int, error) {
	where := ` WHERE tenant_id = ? AND mode = ?`
	args := []any{s.TenantID, string(s.Mode)}
	if f.Resource != "" {
		// The resource is the name itself or the part before the first '.'.
		where += ` AND (name = ? OR substr(name, 1, ?) = ?)`
		args = append(args, f.Resource, len(f.Resource)+1, f.Resource+".")
	}
	var total int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM event_types`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count event types: %w", err)
	}
	q := `SELECT ` + eventTypeColumns + ` FROM event_types` + where
	if f.Cursor != "" {
		q += ` AND name > ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY name LIMIT ? OFFSET ?`
	args = append(args, f.Limit, offsetUnlessCursor(f.Page))
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find event types: %w", err)
	}
	defer rows.Close()
	out := []*hookd.EventType{}
	for rows.Next() {
		t, err := scanEventType(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("find event types: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find event types: %w", err)
	}
	return out, total, nil
}

// UpdateEventType implements hookd.EventTypeStore.
func (db *DB) UpdateEventType(ctx context.Context, s hookd.Scope, name, description string, now time.Time) (*hookd.EventType, error) {
	var t *hookd.EventType
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanEventType(tx.QueryRowContext(ctx, `UPDATE event_types SET description = ?, updated_at = ?
			WHERE tenant_id = ? AND mode = ? AND name = ? RETURNING `+eventTypeColumns,
			description, ms(now), s.TenantID, string(s.Mode), name))
		return err
	})
	if err != nil {
		return nil, notFound(err, "update event type", fmt.Sprintf("event type %q not found", name))
	}
	return t, nil
}

// DeleteEventType implements hookd.EventTypeStore.
func (db *DB) DeleteEventType(ctx context.Context, s hookd.Scope, name string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM event_types WHERE tenant_id = ? AND mode = ? AND name = ?`, s.TenantID, string(s.Mode), name)
		if err != nil {
			return fmt.Errorf("delete event type: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete event type: %w", err)
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "event type %q not found", name)
		}
		return nil
	})
}

// KnownEventTypes implements hookd.EventTypeStore.
func (db *DB) KnownEventTypes(ctx context.Context, s hookd.Scope, names []string) (map[string]bool, error) {
	have := map[string]bool{}
	if len(names) == 0 {
		return have, nil
	}
	args := []any{s.TenantID, string(s.Mode)}
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM event_types WHERE tenant_id = ? AND mode = ? AND name IN (`+
		placeholders(len(names))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		have[n] = true
	}
	return have, rows.Err()
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// offsetUnlessCursor is the offset of a page: a cursor replaces it.
func offsetUnlessCursor(p hookd.Page) int {
	if p.Cursor != "" {
		return 0
	}
	return p.Offset
}
