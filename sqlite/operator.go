package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"time"

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

// touch sets last_used_at of the key id in table.
func (db *DB) touch(ctx context.Context, table, id string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET last_used_at = ? WHERE id = ?`, ms(at), id); err != nil {
			return fmt.Errorf("touch key: %w", err)
		}
		return nil
	})
}

const operatorKeyColumns = `id, name, prefix, hash, created_at, revoked_at, last_used_at`

func scanOperatorKey(s scanner) (*hookd.OperatorKey, error) {
	var (
		k             hookd.OperatorKey
		created       int64
		revoked, used sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &created, &revoked, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMS(created), fromNullMS(revoked), fromNullMS(used)
	return &k, nil
}

// InsertOperatorKey implements hookd.TenantStore.
func (db *DB) InsertOperatorKey(ctx context.Context, k *hookd.OperatorKey) error {
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Millisecond)
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_keys (id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Prefix, k.Hash, ms(k.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert operator key: %w", err)
		}
		return nil
	})
}

// ListOperatorKeys implements hookd.TenantStore.
func (db *DB) ListOperatorKeys(ctx context.Context) ([]*hookd.OperatorKey, error) {
	out, err := queryAll(ctx, db.reader, scanOperatorKey, `SELECT `+operatorKeyColumns+` FROM operator_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list operator keys: %w", err)
	}
	return out, nil
}

// RevokeOperatorKey implements hookd.TenantStore.
func (db *DB) RevokeOperatorKey(ctx context.Context, id string, at time.Time) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operator_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms(at), id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return endMadeBy(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("revoke operator key: %w", err)
	}
	if n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "operator key %s not found", id)
	}
	return nil
}

// FindOperatorKeyByHash implements hookd.TenantStore.
func (db *DB) FindOperatorKeyByHash(ctx context.Context, hash []byte) (*hookd.OperatorKey, error) {
	k, err := scanOperatorKey(db.reader.QueryRowContext(ctx, `SELECT `+operatorKeyColumns+` FROM operator_keys WHERE hash = ?`, hash))
	if err != nil {
		return nil, notFound(err, "find operator key", "operator key not found")
	}
	return k, nil
}

const portalLinkColumns = `id, tenant_id, mode, read_only, maker_key_id, hash, created_at, expires_at, used_at`

func scanPortalLink(s scanner) (*hookd.PortalLink, error) {
	var (
		l                hookd.PortalLink
		mode             string
		created, expires int64
		used             sql.NullInt64
	)
	if err := s.Scan(&l.ID, &l.TenantID, &mode, &l.ReadOnly, &l.MakerKeyID, &l.Hash, &created, &expires, &used); err != nil {
		return nil, err
	}
	l.Mode = hookd.Mode(mode)
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMS(created), fromMS(expires), fromNullMS(used)
	return &l, nil
}

// InsertPortalLink implements hookd.TenantStore.
func (db *DB) InsertPortalLink(ctx context.Context, l *hookd.PortalLink) error {
	l.CreatedAt, l.ExpiresAt = l.CreatedAt.UTC().Truncate(time.Millisecond), l.ExpiresAt.UTC().Truncate(time.Millisecond)
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO portal_links (`+portalLinkColumns+`)
			SELECT ?, id, ?, ?, ?, ?, ?, ?, NULL FROM tenants WHERE id = ?`,
			l.ID, string(l.Mode), boolInt(l.ReadOnly), l.MakerKeyID, l.Hash, ms(l.CreatedAt), ms(l.ExpiresAt), l.TenantID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("insert portal link: %w", err)
	}
	if n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant %s not found", l.TenantID)
	}
	return nil
}

// UsePortalLink implements hookd.TenantStore. SQLite's one writer makes the
// read and the write one step.
func (db *DB) UsePortalLink(ctx context.Context, hash []byte, at time.Time) (*hookd.PortalLink, error) {
	var l *hookd.PortalLink
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if l, err = scanPortalLink(tx.QueryRowContext(ctx, `SELECT `+portalLinkColumns+` FROM portal_links WHERE hash = ?`, hash)); err != nil {
			return notFound(err, "find portal link", "portal link not found")
		}
		if l.UsedAt == nil {
			_, err = tx.ExecContext(ctx, `UPDATE portal_links SET used_at = ? WHERE id = ?`, ms(at), l.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// endMadeBy deletes, in tx, what a revoked key keeps open: the portal links
// it made that are still unused, and the sessions that stand on it (opened
// with a link it made, or signed in with it).
func endMadeBy(ctx context.Context, tx *sql.Tx, keyID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM portal_links WHERE maker_key_id = ? AND used_at IS NULL`, keyID); err != nil {
		return fmt.Errorf("delete the key's portal links: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM portal_sessions WHERE maker_key_id = ?1 OR operator_key_id = ?1`, keyID); err != nil {
		return fmt.Errorf("delete the key's sessions: %w", err)
	}
	return nil
}
