-- Many customers: a tenant's own uid, metadata and limits; when a key was
-- last used; operator keys; portal links.

-- +goose Up
ALTER TABLE tenants ADD COLUMN uid TEXT;
ALTER TABLE tenants ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN publish_rate INTEGER; -- events per second; NULL: no limit
ALTER TABLE tenants ADD COLUMN max_webhooks INTEGER; -- NULL: no limit
UPDATE tenants SET updated_at = created_at;
CREATE UNIQUE INDEX tenants_uid ON tenants (uid);

ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;

CREATE TABLE operator_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

-- A portal link's token is kept only as its hash; used_at makes it single-use.
CREATE TABLE portal_links (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    read_only  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX portal_links_tenant ON portal_links (tenant_id);

-- +goose Down
DROP TABLE portal_links;
DROP TABLE operator_keys;
ALTER TABLE api_keys DROP COLUMN last_used_at;
DROP INDEX tenants_uid;
ALTER TABLE tenants DROP COLUMN max_webhooks;
ALTER TABLE tenants DROP COLUMN publish_rate;
ALTER TABLE tenants DROP COLUMN updated_at;
ALTER TABLE tenants DROP COLUMN metadata;
ALTER TABLE tenants DROP COLUMN uid;
