package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// TouchAPIKey implements hookd.TenantStore.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return db.touch(ctx, "api_keys", id, at)
}

// TouchOperatorKey implements hookd.TenantStore.
func (db *DB) TouchOperatorKey(ctx context.Context, id string, at time.Time) error {
	return db.touch(ctx, "operator_keys", id, at)
}

func (db *DB) touch(ctx context.Context, table, id string, at time.Time) error {
	if _, err := db.pool.Exec(ctx, `UPDATE `+table+` SET last_used_at = $1 WHERE id = $2`, pgTime(at), id); err != nil {
		return fmt.Errorf("touch key: %w", err)
	}
	return nil
}

const operatorKeyColumns = `id, name, prefix, hash, created_at, revoked_at, last_used_at`

func scanOperatorKey(r pgx.Row) (*hookd.OperatorKey, error) {
	var k hookd.OperatorKey
	if err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = k.CreatedAt.UTC(), utcPtr(k.RevokedAt), utcPtr(k.LastUsedAt)
	return &k, nil
}

// InsertOperatorKey implements hookd.TenantStore.
func (db *DB) InsertOperatorKey(ctx context.Context, k *hookd.OperatorKey) error {
	k.CreatedAt = pgTime(k.CreatedAt)
	_, err := db.pool.Exec(ctx, `INSERT INTO operator_keys (id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Name, k.Prefix, k.Hash, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert operator key: %w", badText(err, "name"))
	}
	return nil
}

// ListOperatorKeys implements hookd.TenantStore.
func (db *DB) ListOperatorKeys(ctx context.Context) ([]*hookd.OperatorKey, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+operatorKeyColumns+` FROM operator_keys ORDER BY id`)
	out, err := collect(rows, scanOperatorKey)
	if err != nil {
		return nil, fmt.Errorf("list operator keys: %w", err)
	}
	return out, nil
}

// RevokeOperatorKey implements hookd.TenantStore. The change notification
// goes out with the commit, so that every instance forgets the key at once.
func (db *DB) RevokeOperatorKey(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE operator_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, pgTime(at), id)
		if err != nil {
			return fmt.Errorf("revoke operator key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "operator key %s not found", id)
		}
		if err := endMadeBy(ctx, tx, id); err != nil {
			return err
		}
		return notifyChange(ctx, tx, hookd.ChangeKeys)
	})
}

// FindOperatorKeyByHash implements hookd.TenantStore.
func (db *DB) FindOperatorKeyByHash(ctx context.Context, hash []byte) (*hookd.OperatorKey, error) {
	k, err := scanOperatorKey(db.pool.QueryRow(ctx, `SELECT `+operatorKeyColumns+` FROM operator_keys WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "operator key")
	}
	return k, nil
}

const portalLinkColumns = `id, tenant_id, mode, read_only, maker_key_id, hash, created_at, expires_at, used_at`

func scanPortalLink(r pgx.Row) (*hookd.PortalLink, error) {
	var (
		l    hookd.PortalLink
		mode string
	)
	if err := r.Scan(&l.ID, &l.TenantID, &mode, &l.ReadOnly, &l.MakerKeyID, &l.Hash, &l.CreatedAt, &l.ExpiresAt, &l.UsedAt); err != nil {
		return nil, err
	}
	l.Mode = hookd.Mode(mode)
	l.CreatedAt, l.ExpiresAt, l.UsedAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC(), utcPtr(l.UsedAt)
	return &l, nil
}

// InsertPortalLink implements hookd.TenantStore.
func (db *DB) InsertPortalLink(ctx context.Context, l *hookd.PortalLink) error {
	l.CreatedAt, l.ExpiresAt = pgTime(l.CreatedAt), pgTime(l.ExpiresAt)
	tag, err := db.pool.Exec(ctx, `INSERT INTO portal_links (`+portalLinkColumns+`)
		SELECT $1, id, $3, $4, $5, $6, $7, $8, NULL FROM tenants WHERE id = $2`,
		l.ID, l.TenantID, string(l.Mode), l.ReadOnly, l.MakerKeyID, l.Hash, l.CreatedAt, l.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert portal link: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", l.TenantID)
	}
	return nil
}

// UsePortalLink implements hookd.TenantStore: one statement, whose
// subquery reads the row as it was before the update.
func (db *DB) UsePortalLink(ctx context.Context, hash []byte, at time.Time) (*hookd.PortalLink, error) {
	l, err := scanPortalLink(db.pool.QueryRow(ctx, `WITH before AS (SELECT `+portalLinkColumns+` FROM portal_links WHERE hash = $1 FOR UPDATE),
		used AS (UPDATE portal_links p SET used_at = $2 FROM before b WHERE p.id = b.id AND b.used_at IS NULL)
		SELECT `+portalLinkColumns+` FROM before`, hash, pgTime(at)))
	if err != nil {
		return nil, notFound(err, "portal link")
	}
	return l, nil
}

// endMadeBy deletes, in tx, what a revoked key keeps open: the portal links
// it made that are still unused, and the sessions that stand on it (opened
// with a link it made, or signed in with it). The caller's update of the
// key's row came first, so an InsertSession holding that row has committed
// and its session is seen here.
func endMadeBy(ctx context.Context, tx pgx.Tx, keyID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM portal_links WHERE maker_key_id = $1 AND used_at IS NULL`, keyID); err != nil {
		return fmt.Errorf("delete the key's portal links: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM portal_sessions WHERE maker_key_id = $1 OR operator_key_id = $1`, keyID); err != nil {
		return fmt.Errorf("delete the key's sessions: %w", err)
	}
	return nil
}
