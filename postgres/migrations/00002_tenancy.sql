-- Many customers: a tenant's own uid, metadata and limits; when a key was
-- last used; operator keys; portal links.

-- +goose Up
ALTER TABLE tenants ADD COLUMN uid text UNIQUE;
ALTER TABLE tenants ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN updated_at timestamptz;
ALTER TABLE tenants ADD COLUMN publish_rate integer; -- events per second; NULL: no limit
ALTER TABLE tenants ADD COLUMN max_webhooks integer; -- NULL: no limit
UPDATE tenants SET updated_at = created_at;
ALTER TABLE tenants ALTER COLUMN updated_at SET NOT NULL;

ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

CREATE TABLE operator_keys (
    id           text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- A portal link's token is kept only as its hash; used_at makes it single-use.
CREATE TABLE portal_links (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode       text NOT NULL,
    hash       bytea NOT NULL UNIQUE,
    read_only  boolean NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX portal_links_tenant ON portal_links (tenant_id);

-- +goose Down
DROP TABLE portal_links;
DROP TABLE operator_keys;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE tenants DROP COLUMN max_webhooks, DROP COLUMN publish_rate, DROP COLUMN updated_at,
    DROP COLUMN metadata, DROP COLUMN uid;
