-- A portal link records the key that made it (a tenant's key_… or an
-- operator's okey_…), and a portal session the key that made the link it
-- was opened with: revoking that key deletes both (RevokeAPIKey,
-- RevokeOperatorKey). Rows from before this migration have '' and end only
-- at their expiry or with their tenant.

-- +goose Up
ALTER TABLE portal_links ADD COLUMN maker_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_sessions ADD COLUMN maker_key_id TEXT NOT NULL DEFAULT '';
CREATE INDEX portal_links_maker ON portal_links (maker_key_id) WHERE used_at IS NULL;
CREATE INDEX portal_sessions_maker ON portal_sessions (maker_key_id);

-- +goose Down
DROP INDEX portal_sessions_maker;
DROP INDEX portal_links_maker;
ALTER TABLE portal_sessions DROP COLUMN maker_key_id;
ALTER TABLE portal_links DROP COLUMN maker_key_id;
