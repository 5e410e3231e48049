-- The portal's and the dashboard's sessions: a token kept only as its
-- hash, ending at expires_at or with its tenant.

-- +goose Up
CREATE TABLE portal_sessions (
    id              text PRIMARY KEY,
    hash            bytea NOT NULL UNIQUE,
    tenant_id       text REFERENCES tenants (id) ON DELETE CASCADE, -- NULL: an operator's session
    mode            text NOT NULL DEFAULT '',
    read_only       boolean NOT NULL DEFAULT false,
    operator_key_id text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
CREATE INDEX portal_sessions_tenant ON portal_sessions (tenant_id);

-- The dashboard's endpoints failing most: longest failing first.
CREATE INDEX webhooks_failing_since ON webhooks (failing_since) WHERE failing_since IS NOT NULL;

-- +goose Down
DROP INDEX webhooks_failing_since;
DROP TABLE portal_sessions;
