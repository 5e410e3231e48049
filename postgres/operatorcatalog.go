package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const operatorEventTypeColumns = `name, description, schemas, archived, deprecated, feature_flag, group_name, created_at, updated_at`

func scanOperatorEventType(r pgx.Row) (*hookd.OperatorEventType, error) {
	var t hookd.OperatorEventType
	var schemas []byte
	if err := r.Scan(&t.Name, &t.Description, &schemas, &t.Archived, &t.Deprecated, &t.FeatureFlag, &t.GroupName, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if schemas != nil {
		t.Schemas = json.RawMessage(schemas)
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// schemasArg is the schemas as jsonb text, or NULL. jsonb does not keep
// the client's spacing or key order, which JSON Schema does not depend on.
func schemasArg(t *hookd.OperatorEventType) any {
	if t.Schemas == nil {
		return nil
	}
	return string(t.Schemas)
}

// InsertOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) InsertOperatorEventType(ctx context.Context, t *hookd.OperatorEventType) error {
	t.CreatedAt, t.UpdatedAt = pgTime(t.CreatedAt), pgTime(t.UpdatedAt)
	_, err := db.pool.Exec(ctx, `INSERT INTO operator_event_types (`+operatorEventTypeColumns+`)
		VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)`,
		t.Name, t.Description, schemasArg(t), t.Archived, t.Deprecated, t.FeatureFlag, t.GroupName, t.CreatedAt, t.UpdatedAt)
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "event type %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert operator event type: %w", badText(err, "description or schemas"))
	}
	return nil
}

// FindOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) FindOperatorEventType(ctx context.Context, name string) (*hookd.OperatorEventType, error) {
	t, err := scanOperatorEventType(db.pool.QueryRow(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types WHERE name = $1`, name))
	if err != nil {
		return nil, notFound(err, "event type %q", name)
	}
	return t, nil
}

// FindOperatorEventTypes implements hookd.OperatorCatalogStore.
func (db *DB) FindOperatorEventTypes(ctx context.Context, f hookd.OperatorEventTypeFilter) ([]*hookd.OperatorEventType, error) {
	offset := f.Offset
	if f.Cursor != "" {
		offset = 0
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types
		WHERE ($1 OR NOT archived) AND ($2 = '' OR name > $2) ORDER BY name LIMIT $3 OFFSET $4`,
		f.IncludeArchived, f.Cursor, f.Limit, offset)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookd.OperatorEventType, error) { return scanOperatorEventType(r) })
	if err != nil {
		return nil, fmt.Errorf("find operator event types: %w", err)
	}
	if out == nil {
		out = []*hookd.OperatorEventType{}
	}
	return out, nil
}

// UpdateOperatorEventType implements hookd.OperatorCatalogStore.
func (db *DB) UpdateOperatorEventType(ctx context.Context, name string, change func(*hookd.OperatorEventType) error) (*hookd.OperatorEventType, error) {
	var t *hookd.OperatorEventType
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanOperatorEventType(tx.QueryRow(ctx, `SELECT `+operatorEventTypeColumns+` FROM operator_event_types WHERE name = $1 FOR UPDATE`, name))
		if err != nil {
			return notFound(err, "event type %q", name)
		}
		if err := change(t); err != nil {
			return err
		}
		t.Name, t.UpdatedAt = name, pgTime(t.UpdatedAt)
		_, err = tx.Exec(ctx, `UPDATE operator_event_types SET description = $2, schemas = $3::jsonb, archived = $4, deprecated = $5,
			feature_flag = $6, group_name = $7, updated_at = $8 WHERE name = $1`,
			name, t.Description, schemasArg(t), t.Archived, t.Deprecated, t.FeatureFlag, t.GroupName, t.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update operator event type: %w", badText(err, "description or schemas"))
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM operator_event_types WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete operator event type: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "event type %q not found", name)
	}
	return nil
}
