package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const sessionColumns = `id, hash, tenant_id, mode, read_only, operator_key_id, maker_key_id, created_at, expires_at`

// InsertSession implements hookd.SessionStore.
func (db *DB) InsertSession(ctx context.Context, s *hookd.Session) error {
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC().Truncate(time.Millisecond), s.ExpiresAt.UTC().Truncate(time.Millisecond)
	var tenant any
	if s.TenantID != "" {
		tenant = s.TenantID
	}
	// SQLite's one writer orders the check and the insert against a
	// revocation.
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO portal_sessions (`+sessionColumns+`) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
			WHERE ?7 = ''
				OR EXISTS (SELECT 1 FROM api_keys WHERE id = ?7 AND revoked_at IS NULL)
				OR EXISTS (SELECT 1 FROM operator_keys WHERE id = ?7 AND revoked_at IS NULL)`,
			s.ID, s.Hash, tenant, string(s.Mode), boolInt(s.ReadOnly), s.OperatorKeyID, s.MakerKeyID, ms(s.CreatedAt), ms(s.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("insert session: %w", err)
		} else if n == 0 {
			return hookd.Errorf(hookd.EFORBIDDEN, "key %s is revoked or unknown", s.MakerKeyID)
		}
		return nil
	})
}

// FindSessionByHash implements hookd.SessionStore.
func (db *DB) FindSessionByHash(ctx context.Context, hash []byte) (*hookd.Session, error) {
	var (
		s                hookd.Session
		tenant           sql.NullString
		mode             string
		created, expires int64
	)
	err := db.reader.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM portal_sessions WHERE hash = ?`, hash).
		Scan(&s.ID, &s.Hash, &tenant, &mode, &s.ReadOnly, &s.OperatorKeyID, &s.MakerKeyID, &created, &expires)
	if err != nil {
		return nil, notFound(err, "find session", "session not found")
	}
	s.TenantID, s.Mode = tenant.String, hookd.Mode(mode)
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return &s, nil
}

// DeleteSession implements hookd.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// DeleteSessionsExpiredBefore implements hookd.SessionStore.
func (db *DB) DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM portal_sessions WHERE expires_at < ?`, ms(t))
		if err != nil {
			return fmt.Errorf("delete expired sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
