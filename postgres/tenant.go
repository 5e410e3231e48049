package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// InsertTenant implements hookd.TenantStore.
func (db *DB) InsertTenant(ctx context.Context, t *hookd.Tenant) error {
	t.CreatedAt = pgTime(t.CreatedAt)
	_, err := db.pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`, t.ID, t.Name, t.CreatedAt)
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "tenant %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// FindTenantByName implements hookd.TenantStore.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE name = $1`, name))
	if err != nil {
		return nil, notFound(err, "tenant %q", name)
	}
	return t, nil
}

// FindTenantByID implements hookd.TenantStore.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "tenant %s", id)
	}
	return t, nil
}

// ListTenants implements hookd.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]*hookd.Tenant, error) {
	rows, _ := db.pool.Query(ctx, `SELECT id, name, created_at FROM tenants ORDER BY id`)
	out, err := collect(rows, scanTenant)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

func scanTenant(r pgx.Row) (*hookd.Tenant, error) {
	var t hookd.Tenant
	if err := r.Scan(&t.ID, &t.Name, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// collect scans every row with scan. Lists are never nil, so that an empty
// list encodes as [] like the SQLite store's.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// InsertAPIKey implements hookd.TenantStore.
func (db *DB) InsertAPIKey(ctx context.Context, k *hookd.APIKey) error {
	k.CreatedAt = pgTime(k.CreatedAt)
	// One statement: inserts nothing when the tenant does not exist.
	tag, err := db.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, mode, prefix, hash, created_at)
		SELECT $1, id, $3, $4, $5, $6 FROM tenants WHERE id = $2`,
		k.ID, k.TenantID, string(k.Mode), k.Prefix, k.Hash, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", k.TenantID)
	}
	return nil
}

const apiKeyColumns = `id, tenant_id, mode, prefix, hash, created_at, revoked_at`

func scanAPIKey(r pgx.Row) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var mode string
	if err := r.Scan(&k.ID, &k.TenantID, &mode, &k.Prefix, &k.Hash, &k.CreatedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	k.Mode = hookd.Mode(mode)
	k.CreatedAt = k.CreatedAt.UTC()
	k.RevokedAt = utcPtr(k.RevokedAt)
	return &k, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ListAPIKeys implements hookd.TenantStore.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE $1 = '' OR tenant_id = $1 ORDER BY id`, tenantID)
	out, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements hookd.TenantStore.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, pgTime(at), id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "api key %s not found", id)
	}
	return nil
}

// FindAPIKeyByHash implements hookd.TenantStore.
func (db *DB) FindAPIKeyByHash(ctx context.Context, hash []byte) (*hookd.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "api key")
	}
	return k, nil
}
