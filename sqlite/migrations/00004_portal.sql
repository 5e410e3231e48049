-- The portal's and the dashboard's sessions: a token kept only as its
-- hash, ending at expires_at or with its tenant.

-- +goose Up
CREATE TABLE portal_sessions (
    id              TEXT PRIMARY KEY,
    hash            BLOB NOT NULL UNIQUE,
    tenant_id       TEXT REFERENCES tenants (id) ON DELETE CASCADE, -- NULL: an operator's session
    mode            TEXT NOT NULL DEFAULT '',
    read_only       INTEGER NOT NULL DEFAULT 0,
    operator_key_id TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
CREATE INDEX portal_sessions_tenant ON portal_sessions (tenant_id);

-- +goose Down
DROP TABLE portal_sessions;
