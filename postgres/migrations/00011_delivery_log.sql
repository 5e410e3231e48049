-- The delivery log filtered by event type reads only the matching rows,
-- newest first, instead of walking the scope's index and testing each row.
-- No index holds status: an outcome's update of the log stays HOT
-- (migration 00008), and a status filter walks the scope's index newest
-- first (docs/portal.md says what that costs).

-- +goose Up
CREATE INDEX deliveries_event_type ON deliveries (tenant_id, mode, event_type, id);

-- +goose Down
DROP INDEX deliveries_event_type;
