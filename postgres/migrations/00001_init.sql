-- +goose Up
CREATE TABLE tenants (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode       text NOT NULL,
    prefix     text NOT NULL,
    hash       bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE event_types (
    tenant_id   text NOT NULL,
    mode        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, mode, name)
);

CREATE TABLE webhooks (
    id                         text PRIMARY KEY,
    number                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id                  text NOT NULL,
    mode                       text NOT NULL,
    name                       text NOT NULL DEFAULT '',
    description                text NOT NULL DEFAULT '',
    url                        text NOT NULL,
    event_types                text[] NOT NULL DEFAULT '{}',
    filter                     bytea, -- the client's JSON, byte for byte
    fields                     text[] NOT NULL DEFAULT '{}',
    enabled                    boolean NOT NULL,
    status                     text NOT NULL,
    secret                     text NOT NULL,
    single_use                 boolean NOT NULL DEFAULT false,
    expires_at                 timestamptz,
    tls_verify                 boolean NOT NULL DEFAULT true,
    headers                    jsonb NOT NULL DEFAULT '{}',
    rate_limit                 integer,
    metadata                   jsonb NOT NULL DEFAULT '{}',
    source                     text NOT NULL DEFAULT '',
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    previous_secret            text NOT NULL DEFAULT '',
    previous_secret_expires_at timestamptz,
    failing_since              timestamptz
);
CREATE INDEX webhooks_scope ON webhooks (tenant_id, mode, id);

-- Event ids may come from the producer, so they are unique per scope only.
CREATE TABLE events (
    tenant_id       text NOT NULL,
    mode            text NOT NULL,
    id              text NOT NULL,
    type            text NOT NULL,
    data            bytea NOT NULL, -- the producer's JSON, byte for byte
    created_at      timestamptz NOT NULL,
    idempotency_key text,
    body_hash       bytea NOT NULL,
    deliveries      integer NOT NULL, -- how many it made, for idempotent replays
    PRIMARY KEY (tenant_id, mode, id)
);
CREATE UNIQUE INDEX events_idempotency_key ON events (tenant_id, mode, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_created ON events (created_at);

-- No foreign keys to events or webhooks: a delivery outlives its deleted
-- webhook (cancelled, still listed), and the hot path pays for no checks.
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL,
    mode            text NOT NULL,
    event_id        text NOT NULL,
    webhook_id      text NOT NULL,
    event_type      text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_status     integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    manual          boolean NOT NULL DEFAULT false, -- one attempt asked for by a person
    lease_owner     text,
    lease_until     timestamptz
);
-- The claim scans only pending rows in due order.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_scope ON deliveries (tenant_id, mode, id);
CREATE INDEX deliveries_event ON deliveries (tenant_id, mode, event_id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, status);
CREATE INDEX deliveries_created ON deliveries (created_at);

CREATE TABLE attempts (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order attempts were recorded
    id               text NOT NULL,
    delivery_id      text NOT NULL,
    at               timestamptz NOT NULL,
    duration_ms      bigint NOT NULL,
    status_code      integer NOT NULL,
    error_class      text NOT NULL DEFAULT '',
    error            text NOT NULL DEFAULT '',
    response_excerpt text NOT NULL DEFAULT ''
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, seq);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE event_types;
DROP TABLE api_keys;
DROP TABLE tenants;
