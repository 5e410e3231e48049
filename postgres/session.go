package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

const sessionColumns = `id, hash, tenant_id, mode, read_only, operator_key_id, maker_key_id, created_at, expires_at`

// InsertSession implements hookd.SessionStore.
func (db *DB) InsertSession(ctx context.Context, s *hookd.Session) error {
	s.CreatedAt, s.ExpiresAt = pgTime(s.CreatedAt), pgTime(s.ExpiresAt)
	var tenant *string
	if s.TenantID != "" {
		tenant = &s.TenantID
	}
	// FOR SHARE holds the maker key's row until the insert commits: a
	// revocation updating it waits, then deletes this session; one that
	// updated it first makes the row fail the recheck, and nothing is
	// inserted.
	tag, err := db.pool.Exec(ctx, `INSERT INTO portal_sessions (`+sessionColumns+`) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
		WHERE $7 = ''
			OR EXISTS (SELECT 1 FROM api_keys WHERE id = $7 AND revoked_at IS NULL FOR SHARE)
			OR EXISTS (SELECT 1 FROM operator_keys WHERE id = $7 AND revoked_at IS NULL FOR SHARE)`,
		s.ID, s.Hash, tenant, string(s.Mode), s.ReadOnly, s.OperatorKeyID, s.MakerKeyID, s.CreatedAt, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return hookd.Errorf(hookd.EFORBIDDEN, "key %s is revoked or unknown", s.MakerKeyID)
	}
	return nil
}

// FindSessionByHash implements hookd.SessionStore.
func (db *DB) FindSessionByHash(ctx context.Context, hash []byte) (*hookd.Session, error) {
	var (
		s      hookd.Session
		tenant *string
		mode   string
	)
	err := db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM portal_sessions WHERE hash = $1`, hash).
		Scan(&s.ID, &s.Hash, &tenant, &mode, &s.ReadOnly, &s.OperatorKeyID, &s.MakerKeyID, &s.CreatedAt, &s.ExpiresAt)
	if err != nil {
		return nil, notFound(err, "session")
	}
	if tenant != nil {
		s.TenantID = *tenant
	}
	s.Mode = hookd.Mode(mode)
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return &s, nil
}

// DeleteSession implements hookd.SessionStore.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM portal_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteSessionsExpiredBefore implements hookd.SessionStore.
func (db *DB) DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM portal_sessions WHERE expires_at < $1`, pgTime(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
