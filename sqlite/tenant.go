package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const tenantColumns = `id, uid, name, metadata, publish_rate, max_webhooks, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanTenant(s scanner) (*hookd.Tenant, error) {
	var (
		t                 hookd.Tenant
		uid               sql.NullString
		metadata          []byte
		rate, maxWebhooks sql.NullInt64
		created, updated  int64
	)
	if err := s.Scan(&t.ID, &uid, &t.Name, &metadata, &rate, &maxWebhooks, &created, &updated); err != nil {
		return nil, err
	}
	t.UID = uid.String
	if err := json.Unmarshal(metadata, &t.Metadata); err != nil {
		return nil, fmt.Errorf("tenant %s: decode metadata: %w", t.ID, err)
	}
	t.Limits.PublishRate, t.Limits.MaxWebhooks = intPtr(rate), intPtr(maxWebhooks)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return &t, nil
}

func intPtr(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

// tenantValues are t's columns after id, in tenantColumns order.
func tenantValues(t *hookd.Tenant) ([]any, error) {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC().Truncate(time.Millisecond), t.UpdatedAt.UTC().Truncate(time.Millisecond)
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	metadata, err := json.Marshal(t.Metadata)
	if err != nil {
		return nil, err
	}
	var uid any
	if t.UID != "" {
		uid = t.UID
	}
	return []any{uid, t.Name, string(metadata), nullInt(t.Limits.PublishRate), nullInt(t.Limits.MaxWebhooks),
		ms(t.CreatedAt), ms(t.UpdatedAt)}, nil
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// InsertTenant implements hookd.TenantStore.
func (db *DB) InsertTenant(ctx context.Context, t *hookd.Tenant) error {
	vals, err := tenantValues(t)
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{t.ID}, vals...)...)
		return err
	})
	if isUnique(err) {
		return hookd.Errorf(hookd.ECONFLICT, "a tenant with the name %q or the uid %q exists", t.Name, t.UID)
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// findTenant reads the tenant whose column col is v.
func findTenant(ctx context.Context, q querier, col string, v any, what string) (*hookd.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+col+` = ?`, v))
	if err != nil {
		return nil, notFound(err, "find tenant", what+" not found")
	}
	return t, nil
}

// FindTenantByName implements hookd.TenantStore.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.reader, "name", name, fmt.Sprintf("tenant %q", name))
}

// FindTenantByID implements hookd.TenantStore.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.reader, "id", id, fmt.Sprintf("tenant %s", id))
}

// FindTenantByUID implements hookd.TenantStore.
func (db *DB) FindTenantByUID(ctx context.Context, uid string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.reader, "uid", uid, fmt.Sprintf("tenant with uid %q", uid))
}

// ListTenants implements hookd.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]*hookd.Tenant, error) {
	out, err := queryAll(ctx, db.reader, scanTenant, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// FindTenants implements hookd.TenantStore. The name search is a LIKE over
// the table: tenants are thousands, not millions, and a list is a person's
// request.
func (db *DB) FindTenants(ctx context.Context, f hookd.TenantFilter) ([]*hookd.Tenant, int, error) {
	where := ` WHERE 1 = 1`
	var args []any
	if f.UID != "" {
		where += ` AND uid = ?`
		args = append(args, f.UID)
	}
	if f.Search != "" {
		where += ` AND (instr(lower(name), lower(?)) > 0 OR uid = ?)`
		args = append(args, f.Search, f.Search)
	}
	var total int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM tenants`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tenants: %w", err)
	}
	q := `SELECT ` + tenantColumns + ` FROM tenants` + where
	if f.Cursor != "" {
		q += ` AND id > ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY id LIMIT ? OFFSET ?`
	args = append(args, f.Limit, offsetUnlessCursor(f.Page))
	out, err := queryAll(ctx, db.reader, scanTenant, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find tenants: %w", err)
	}
	return out, total, nil
}

// UpdateTenant implements hookd.TenantStore.
func (db *DB) UpdateTenant(ctx context.Context, id string, change func(*hookd.Tenant) error) (*hookd.Tenant, error) {
	var t *hookd.Tenant
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = findTenant(ctx, tx, "id", id, fmt.Sprintf("tenant %s", id)); err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		vals, err := tenantValues(t)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tenants SET uid = ?, name = ?, metadata = ?, publish_rate = ?, max_webhooks = ?,
			created_at = ?, updated_at = ? WHERE id = ?`, append(vals, t.ID)...)
		if isUnique(err) {
			return hookd.Errorf(hookd.ECONFLICT, "a tenant with the name %q or the uid %q exists", t.Name, t.UID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTenant implements hookd.TenantStore. Keys, portal links, event
// types and webhooks go by their foreign keys; the hot tables, which have
// none, by the tenant's index.
func (db *DB) DeleteTenant(ctx context.Context, id string) ([]string, error) {
	var webhooks []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		webhooks, err = queryAll(ctx, tx, scanString, `SELECT id FROM webhooks WHERE tenant_id = ?`, id)
		if err != nil {
			return err
		}
		// Attempts first, by the deliveries' keys, while the deliveries are there.
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE delivery_id IN
			(SELECT id FROM deliveries WHERE tenant_id = ?)`, id); err != nil {
			return err
		}
		deleted, err := queryAll(ctx, tx, scanInt64, `DELETE FROM deliveries WHERE tenant_id = ? RETURNING id`, id)
		if err != nil {
			return err
		}
		db.finishOnCommit(deleted...) // their leases end: outcomes are not written
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE tenant_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_labels WHERE tenant_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", id)
		}
		return nil
	})
	if err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return nil, err
		}
		return nil, fmt.Errorf("delete tenant: %w", err)
	}
	return webhooks, nil
}

func scanString(s scanner) (string, error) {
	var v string
	return v, s.Scan(&v)
}

func scanInt64(s scanner) (int64, error) {
	var v int64
	return v, s.Scan(&v)
}

// queryAll runs query and scans every row with scan; the list is never nil.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// InsertAPIKey implements hookd.TenantStore.
func (db *DB) InsertAPIKey(ctx context.Context, k *hookd.APIKey) error {
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Millisecond)
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		// One statement: inserts nothing when the tenant does not exist.
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, mode, prefix, hash, created_at)
			SELECT ?, id, ?, ?, ?, ? FROM tenants WHERE id = ?`,
			k.ID, string(k.Mode), k.Prefix, k.Hash, ms(k.CreatedAt), k.TenantID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	if n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", k.TenantID)
	}
	return nil
}

const apiKeyColumns = `id, tenant_id, mode, prefix, hash, created_at, revoked_at, last_used_at`

func scanAPIKey(s scanner) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var mode string
	var created int64
	var revoked, used sql.NullInt64
	if err := s.Scan(&k.ID, &k.TenantID, &mode, &k.Prefix, &k.Hash, &created, &revoked, &used); err != nil {
		return nil, err
	}
	k.LastUsedAt = fromNullMS(used)
	k.Mode = hookd.Mode(mode)
	k.CreatedAt = fromMS(created)
	k.RevokedAt = fromNullMS(revoked)
	return &k, nil
}

// ListAPIKeys implements hookd.TenantStore.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error) {
	out, err := queryAll(ctx, db.reader, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE ? = '' OR tenant_id = ? ORDER BY id`, tenantID, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements hookd.TenantStore.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms(at), id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "api key %s not found", id)
		}
		return endMadeBy(ctx, tx, id)
	})
}

// FindAPIKeyByHash implements hookd.TenantStore.
func (db *DB) FindAPIKeyByHash(ctx context.Context, hash []byte) (*hookd.APIKey, error) {
	k, err := scanAPIKey(db.reader.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if err != nil {
		return nil, notFound(err, "find api key", "api key not found")
	}
	return k, nil
}
