package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const operatorEventTypeColumns = `name, description, schemas, archived, deprecated, feature_flag, group_name, created_at, updated_at`

func scanOperatorEventType(s scanner) (*hookd.OperatorEventType, error) {
	var t hookd.OperatorEventType
	var schemas sql.NullString
	var created, updated int64
	if err := s.Scan(&t.Name, &t.Description, &schemas, &t.Archived, &t.Deprecated, &t.FeatureFlag, &t.GroupName, &created, &updated); err != nil {
		return nil, err
	}
	if schemas.Valid {
		t.Schemas = json.RawMessage(schemas.String)
	}
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return &t, nil
}

func schemasArg(t *hookd.OperatorEventType) any {
	if t.Schemas == nil {
		return nil
	}
	return string(t.Schemas)
}

// InsertOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) InsertOperatorEventType(ctx context.Context, t *hookd.OperatorEventType) error {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC().Truncate(time.Millisecond), t.UpdatedAt.UTC().Truncate(time.Millisecond)
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_event_types (`+operatorEventTypeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Name, t.Description, schemasArg(t), boolInt(t.Archived), boolInt(t.Deprecated), t.FeatureFlag, t.GroupName, ms(t.CreatedAt), ms(t.UpdatedAt))
		return err
	})
	if isUnique(err) {
		return hookd.Errorf(hookd.ECONFLICT, "event type %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert operator event type: %w", err)
	}
	return nil
}

// FindOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) FindOperatorEventType(ctx context.Context, name string) (*hookd.OperatorEventType, error) {
	t, err := scanOperatorEventType(db.reader.QueryRowContext(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "find operator event type", fmt.Sprintf("event type %q not found", name))
	}
	return t, nil
}

// FindOperatorEventTypes implements hookd.OperatorCatalogStore.
func (db *DB) FindOperatorEventTypes(ctx context.Context, f hookd.OperatorEventTypeFilter) ([]*hookd.OperatorEventType, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types
		WHERE (? OR NOT archived) AND (? = '' OR name > ?) ORDER BY name LIMIT ? OFFSET ?`,
		f.IncludeArchived, f.Cursor, f.Cursor, f.Limit, offsetUnlessCursor(f.Page))
	if err != nil {
		return nil, fmt.Errorf("find operator event types: %w", err)
	}
	defer rows.Close()
	out := []*hookd.OperatorEventType{}
	for rows.Next() {
		t, err := scanOperatorEventType(rows)
		if err != nil {
			return nil, fmt.Errorf("find operator event types: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find operator event types: %w", err)
	}
	return out, nil
}

// UpdateOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) UpdateOperatorEventType(ctx context.Context, name string, change func(*hookd.OperatorEventType) error) (*hookd.OperatorEventType, error) {
	var t *hookd.OperatorEventType
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanOperatorEventType(tx.QueryRowContext(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types WHERE name = ?`, name))
		if err != nil {
			return notFound(err, "update operator event type", fmt.Sprintf("event type %q not found", name))
		}
		if err := change(t); err != nil {
			return err
		}
		t.Name = name
		t.UpdatedAt = t.UpdatedAt.UTC().Truncate(time.Millisecond)
		_, err = tx.ExecContext(ctx, `UPDATE operator_event_types SET description = ?, schemas = ?, archived = ?, deprecated = ?,
			feature_flag = ?, group_name = ?, updated_at = ? WHERE name = ?`,
			t.Description, schemasArg(t), boolInt(t.Archived), boolInt(t.Deprecated), t.FeatureFlag, t.GroupName, ms(t.UpdatedAt), name)
		if err != nil {
			return fmt.Errorf("update operator event type: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) DeleteOperatorEventType(ctx context.Context, name string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM operator_event_types WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete operator event type: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete operator event type: %w", err)
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "event type %q not found", name)
		}
		return nil
	})
}
