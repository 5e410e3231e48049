package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookd/hookd"
)

// CreateTenant implements hookd.TenantService.
func (db *DB) CreateTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	if err := hookd.ValidateTenantName(name); err != nil {
		return nil, err
	}
	now := db.now()
	t := &hookd.Tenant{ID: hookd.NewIDAt("ten", now), Name: name, CreatedAt: now}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, ms(now))
		return err
	})
	if isUnique(err) {
		return nil, hookd.Errorf(hookd.ECONFLICT, "tenant %q already exists", name)
	}
	if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// FindTenantByName implements hookd.TenantService.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.reader.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "find tenant", fmt.Sprintf("tenant %q not found", name))
	}
	return t, nil
}

// FindTenantByID implements hookd.TenantService.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := scanTenant(db.reader.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "find tenant", fmt.Sprintf("tenant %s not found", id))
	}
	return t, nil
}

// ListTenants implements hookd.TenantService.
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

// CreateAPIKey implements hookd.TenantService.
func (db *DB) CreateAPIKey(ctx context.Context, tenantID string, m hookd.Mode) (*hookd.APIKey, string, error) {
	if !m.Valid() {
		return nil, "", hookd.Errorf(hookd.EINVALID, "mode must be %q or %q, got %q", hookd.ModeLive, hookd.ModeTest, m)
	}
	k, plain := hookd.NewAPIKey(tenantID, m, db.now())
	err := db.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one); err != nil {
			return notFound(err, "find tenant", fmt.Sprintf("tenant %s not found", tenantID))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, mode, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.TenantID, string(k.Mode), k.Prefix, k.Hash, ms(k.CreatedAt))
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	return k, plain, nil
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

// ListAPIKeys implements hookd.TenantService.
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

// RevokeAPIKey implements hookd.TenantService.
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	now := db.now()
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms(now), id)
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

// Authenticate implements hookd.TenantService.
func (db *DB) Authenticate(ctx context.Context, plain string) (hookd.Scope, error) {
	bad := hookd.Errorf(hookd.EUNAUTHORIZED, "invalid or revoked API key")
	if hookd.KeyMode(plain) == "" {
		return hookd.Scope{}, bad
	}
	hash := hookd.HashAPIKey(plain)
	k, err := scanAPIKey(db.reader.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
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
