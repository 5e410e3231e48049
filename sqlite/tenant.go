package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// InsertTenant implements hookd.TenantStore.
func (db *DB) InsertTenant(ctx context.Context, t *hookd.Tenant) error {
	t.CreatedAt = t.CreatedAt.UTC().Truncate(time.Millisecond)
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, ms(t.CreatedAt))
		return err
	})
	if isUnique(err) {
		return hookd.Errorf(hookd.ECONFLICT, "tenant %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// FindTenantByName implements hookd.TenantStore.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.reader.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "find tenant", fmt.Sprintf("tenant %q not found", name))
	}
	return t, nil
}

// FindTenantByID implements hookd.TenantStore.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.reader.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "find tenant", fmt.Sprintf("tenant %s not found", id))
	}
	return t, nil
}

// ListTenants implements hookd.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]*hookd.Tenant, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, name, created_at FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []*hookd.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanTenant(s scanner) (*hookd.Tenant, error) {
	var t hookd.Tenant
	var created int64
	if err := s.Scan(&t.ID, &t.Name, &created); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMS(created)
	return &t, nil
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

const apiKeyColumns = `id, tenant_id, mode, prefix, hash, created_at, revoked_at`

func scanAPIKey(s scanner) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var mode string
	var created int64
	var revoked sql.NullInt64
	if err := s.Scan(&k.ID, &k.TenantID, &mode, &k.Prefix, &k.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	k.Mode = hookd.Mode(mode)
	k.CreatedAt = fromMS(created)
	k.RevokedAt = fromNullMS(revoked)
	return &k, nil
}

// ListAPIKeys implements hookd.TenantStore.
func (db *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE ? = '' OR tenant_id = ? ORDER BY id`, tenantID, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []*hookd.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
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
		return nil
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
