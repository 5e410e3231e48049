package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const tenantColumns = `id, uid, name, metadata, publish_rate, max_webhooks, created_at, updated_at`

func scanTenant(r pgx.Row) (*hookd.Tenant, error) {
	var (
		t                 hookd.Tenant
		uid               *string
		rate, maxWebhooks *int32
	)
	if err := r.Scan(&t.ID, &uid, &t.Name, &t.Metadata, &rate, &maxWebhooks, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if uid != nil {
		t.UID = *uid
	}
	t.Limits.PublishRate, t.Limits.MaxWebhooks = intPtr(rate), intPtr(maxWebhooks)
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func intPtr(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

// tenantValues are t's columns in tenantColumns order.
func tenantValues(t *hookd.Tenant) []any {
	t.CreatedAt, t.UpdatedAt = pgTime(t.CreatedAt), pgTime(t.UpdatedAt)
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
	}
	var uid *string
	if t.UID != "" {
		uid = &t.UID
	}
	return []any{t.ID, uid, t.Name, t.Metadata, t.Limits.PublishRate, t.Limits.MaxWebhooks, t.CreatedAt, t.UpdatedAt}
}

// tenantConflict is ECONFLICT for a unique name or uid another tenant has.
func tenantConflict(err error, t *hookd.Tenant) error {
	if isUniqueViolation(err) {
		return hookd.Errorf(hookd.ECONFLICT, "a tenant with the name %q or the uid %q exists", t.Name, t.UID)
	}
	return badText(err, "tenant fields")
}

// InsertTenant implements hookd.TenantStore.
func (db *DB) InsertTenant(ctx context.Context, t *hookd.Tenant) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantValues(t)...)
	if err != nil {
		return fmt.Errorf("insert tenant: %w", tenantConflict(err, t))
	}
	return nil
}

// findTenant reads the tenant whose column col is v.
func findTenant(ctx context.Context, q pgxQuerier, col string, v any, lock bool) (*hookd.Tenant, error) {
	query := `SELECT ` + tenantColumns + ` FROM tenants WHERE ` + col + ` = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	t, err := scanTenant(q.QueryRow(ctx, query, v))
	if err != nil {
		return nil, notFound(err, "tenant with %s %q", col, v)
	}
	return t, nil
}

// FindTenantByName implements hookd.TenantStore.
func (db *DB) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.pool, "name", name, false)
}

// FindTenantByID implements hookd.TenantStore.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.pool, "id", id, false)
}

// FindTenantByUID implements hookd.TenantStore.
func (db *DB) FindTenantByUID(ctx context.Context, uid string) (*hookd.Tenant, error) {
	return findTenant(ctx, db.pool, "uid", uid, false)
}

// ListTenants implements hookd.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]*hookd.Tenant, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	out, err := collect(rows, scanTenant)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// FindTenants implements hookd.TenantStore. The name search scans the
// table: tenants are thousands, not millions, and a list is a person's request.
func (db *DB) FindTenants(ctx context.Context, f hookd.TenantFilter) ([]*hookd.Tenant, int, error) {
	where := ` WHERE ($1 = '' OR uid = $1) AND ($2 = '' OR strpos(lower(name), lower($2)) > 0 OR uid = $2)`
	args := []any{f.UID, f.Search}
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM tenants`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tenants: %w", err)
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants`+where+` AND ($3 = '' OR id > $3)
		ORDER BY id LIMIT $4 OFFSET $5`, append(args, f.Cursor, f.Limit, offsetUnlessCursor(f.Page))...)
	out, err := collect(rows, scanTenant)
	if err != nil {
		return nil, 0, fmt.Errorf("find tenants: %w", err)
	}
	return out, total, nil
}

// UpdateTenant implements hookd.TenantStore. The row is locked from the
// read to the write.
func (db *DB) UpdateTenant(ctx context.Context, id string, change func(*hookd.Tenant) error) (*hookd.Tenant, error) {
	var t *hookd.Tenant
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if t, err = findTenant(ctx, tx, "id", id, true); err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET uid = $2, name = $3, metadata = $4, publish_rate = $5, max_webhooks = $6,
			created_at = $7, updated_at = $8 WHERE id = $1`, tenantValues(t)...)
		if err != nil {
			return fmt.Errorf("update tenant: %w", tenantConflict(err, t))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTenant implements hookd.TenantStore. Keys, portal links, event
// types and webhooks go by their foreign keys; the hot tables, which have
// none, by the tenant's indexes.
func (db *DB) DeleteTenant(ctx context.Context, id string) ([]string, error) {
	var webhooks []string
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := findTenant(ctx, tx, "id", id, true); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id FROM webhooks WHERE tenant_id = $1`, id)
		var err error
		if webhooks, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE tenant_id = $1)`,
			`DELETE FROM queue WHERE tenant_id = $1`, // its pending deliveries, leases with them
			`DELETE FROM deliveries WHERE tenant_id = $1`,
			`DELETE FROM events WHERE tenant_id = $1`,
			`DELETE FROM event_labels WHERE tenant_id = $1`,
			`DELETE FROM tenants WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		for _, change := range hookd.StopChanges(webhooks) {
			if err := notifyChange(ctx, tx, change); err != nil {
				return err
			}
		}
		return notifyChange(ctx, tx, hookd.ChangeKeys)
	})
	if err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return nil, err
		}
		return nil, fmt.Errorf("delete tenant: %w", err)
	}
	return webhooks, nil
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

const apiKeyColumns = `id, tenant_id, mode, prefix, hash, created_at, revoked_at, last_used_at`

func scanAPIKey(r pgx.Row) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var mode string
	if err := r.Scan(&k.ID, &k.TenantID, &mode, &k.Prefix, &k.Hash, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt); err != nil {
		return nil, err
	}
	k.Mode = hookd.Mode(mode)
	k.CreatedAt = k.CreatedAt.UTC()
	k.RevokedAt, k.LastUsedAt = utcPtr(k.RevokedAt), utcPtr(k.LastUsedAt)
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

// RevokeAPIKey implements hookd.TenantStore. The change notification goes
// out with the commit, so that every instance forgets the key at once.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, pgTime(at), id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "api key %s not found", id)
		}
		if err := endMadeBy(ctx, tx, id); err != nil {
			return err
		}
		return notifyChange(ctx, tx, hookd.ChangeKeys)
	})
}

// FindAPIKeyByHash implements hookd.TenantStore.
func (db *DB) FindAPIKeyByHash(ctx context.Context, hash []byte) (*hookd.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "api key")
	}
	return k, nil
}
