-- Times are integer unix milliseconds (UTC). Lists and maps are JSON text.
-- The hot tables (events, deliveries, attempts) carry no foreign keys: every
-- check costs an index probe per inserted row, and the store writes them in
-- transactions that already know the rows they reference exist.

-- +goose Up
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE event_types (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, mode, name)
) WITHOUT ROWID;

CREATE TABLE webhooks (
    number                     INTEGER PRIMARY KEY AUTOINCREMENT,
    id                         TEXT NOT NULL UNIQUE,
    tenant_id                  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode                       TEXT NOT NULL,
    name                       TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    url                        TEXT NOT NULL,
    event_types                TEXT NOT NULL DEFAULT '[]',
    filter                     TEXT,
    fields                     TEXT NOT NULL DEFAULT '[]',
    enabled                    INTEGER NOT NULL,
    status                     TEXT NOT NULL,
    secret                     TEXT NOT NULL,
    single_use                 INTEGER NOT NULL DEFAULT 0,
    expires_at                 INTEGER,
    tls_verify                 INTEGER NOT NULL DEFAULT 1,
    headers                    TEXT NOT NULL DEFAULT '{}',
    rate_limit                 INTEGER,
    metadata                   TEXT NOT NULL DEFAULT '{}',
    source                     TEXT NOT NULL DEFAULT '',
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    previous_secret            TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at INTEGER,
    failing_since              INTEGER
);
CREATE INDEX webhooks_scope ON webhooks (tenant_id, mode, id);
CREATE INDEX webhooks_failing ON webhooks (failing_since) WHERE failing_since IS NOT NULL;

-- number is the rowid, allocated by the store as for deliveries (rowid.go):
-- it begins with the insertion time, so retention is a range of it and no
-- index on created_at is needed. An event's deliveries are the consecutive
-- delivery rowids first_delivery .. first_delivery + deliveries - 1, so no
-- index maps events to deliveries.
CREATE TABLE events (
    number          INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    id              TEXT NOT NULL,
    type            TEXT NOT NULL,
    data            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    idempotency_key TEXT,
    body_hash       BLOB,
    first_delivery  INTEGER NOT NULL DEFAULT 0,
    deliveries      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX events_scope_id ON events (tenant_id, mode, id);
CREATE UNIQUE INDEX events_idempotency_key ON events (tenant_id, mode, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- id is the rowid, and the public id "dlv_…" is its encoding (rowid.go):
-- the rows are one B-tree, and index entries carry an 8-byte key. Ids grow
-- with creation time, so the key also serves retention (a range below the
-- first id of the cut-off time). Every index entry ends in the rowid, so
-- (tenant_id, mode) and (webhook_id) list newest first without a sort.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    event_number    INTEGER NOT NULL,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,
    manual          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- The claim: due pending rows, oldest first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_scope ON deliveries (tenant_id, mode);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);

-- Keyed by delivery: an attempt is one B-tree insert, and a delivery's
-- attempts are one range, oldest first (attempt ids sort by time).
CREATE TABLE attempts (
    delivery_id      INTEGER NOT NULL,
    id               TEXT NOT NULL,
    at               INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER NOT NULL,
    error_class      TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    response_excerpt TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE event_types;
DROP TABLE api_keys;
DROP TABLE tenants;
