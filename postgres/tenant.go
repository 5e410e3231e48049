package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// CreateTenant implements hookd.TenantService.
func (db *DB) CreateTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	if err := hookd.ValidateTenantName(name); err != nil {
		return nil, err
	}
	now := db.now()
	t := &hookd.Tenant{ID: hookd.NewIDAt("ten", now), Name: name, CreatedAt: now}
	_, err := db.pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`, t.ID, t.Name, now)
	if isUniqueViolation(err) {
		return nil, hookd.Errorf(hookd.ECONFLICT, "tenant %q already exists", name)
	}
	if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// FindTenantByName implements hookd.TenantService.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE name = $1`, name))
	if err != nil {
		return nil, notFound(err, "tenant %q", name)
	}
	return t, nil
}

// FindTenantByID implements hookd.TenantService.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "tenant %s", id)
	}
	return t, nil
}

// ListTenants implements hookd.TenantService.
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

// CreateAPIKey implements hookd.TenantService.
func (db *DB) CreateAPIKey(ctx context.Context, tenantID string, m hookd.Mode) (*hookd.APIKey, string, error) {
	if !m.Valid() {
		return nil, "", hookd.Errorf(hookd.EINVALID, "mode must be %q or %q, got %q", hookd.ModeLive, hookd.ModeTest, m)
	}
	k, plain := hookd.NewAPIKey(tenantID, m, db.now())
	// One statement: inserts nothing when the tenant does not exist.
	tag, err := db.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, mode, prefix, hash, created_at)
		SELECT $1, id, $3, $4, $5, $6 FROM tenants WHERE id = $2`,
		k.ID, k.TenantID, string(k.Mode), k.Prefix, k.Hash, k.CreatedAt)
	if err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, "", hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", tenantID)
	}
	return k, plain, nil
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

// ListAPIKeys implements hookd.TenantService.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE $1 = '' OR tenant_id = $1 ORDER BY id`, tenantID)
	out, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements hookd.TenantService.
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, db.now(), id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "api key %s not found", id)
	}
	return nil
}

// Authenticate implements hookd.TenantService.
func (db *DB) Authenticate(ctx context.Context, plain string) (hookd.Scope, error) {
	bad := hookd.Errorf(hookd.EUNAUTHORIZED, "invalid or revoked API key")
	if hookd.KeyMode(plain) == "" {
		return hookd.Scope{}, bad
	}
	hash := hookd.HashAPIKey(plain)
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return hookd.Scope{}, bad
	}
	if err != nil {
		return hookd.Scope{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 || k.RevokedAt != nil || k.Mode != hookd.KeyMode(plain) {
		return hookd.Scope{}, bad
	}
	return hookd.Scope{TenantID: k.TenantID, Mode: k.Mode}, nil
}
