-- The queue: a small hot table of the pending deliveries, apart from the
-- delivery log (issue 16). A claim rewrites a narrow row with three small
-- indexes instead of a wide one with six; a finished delivery's queue row
-- is deleted, and its log row is updated once, in place (a HOT update: no
-- index of deliveries holds a column that its completion changes, and the
-- fillfactor leaves each page room for the new versions). The lease lives
-- only here: a delivery is pending exactly while it has a queue row.

-- +goose Up
CREATE TABLE queue (
    delivery_id     text PRIMARY KEY,
    tenant_id       text NOT NULL,
    webhook_id      text NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text,
    lease_until     timestamptz
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
CREATE INDEX queue_due ON queue (next_attempt_at);
CREATE INDEX queue_webhook ON queue (webhook_id);

INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at, lease_owner, lease_until)
    SELECT id, tenant_id, webhook_id, COALESCE(next_attempt_at, updated_at), lease_owner, lease_until
    FROM deliveries WHERE status = 'pending';

DROP INDEX deliveries_due;
-- Status leaves the webhook's index, so that a status change is a HOT
-- update; the per-webhook reads filter by creation time.
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_lease_pending;
ALTER TABLE deliveries DROP COLUMN lease_owner, DROP COLUMN lease_until;
ALTER TABLE deliveries SET (fillfactor = 50);

-- +goose Down
ALTER TABLE deliveries RESET (fillfactor);
ALTER TABLE deliveries ADD COLUMN lease_owner text, ADD COLUMN lease_until timestamptz;
UPDATE deliveries d SET lease_owner = q.lease_owner, lease_until = q.lease_until, next_attempt_at = q.next_attempt_at
    FROM queue q WHERE d.id = q.delivery_id;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_lease_pending CHECK (lease_owner IS NULL OR status = 'pending');
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, status);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
DROP TABLE queue;
