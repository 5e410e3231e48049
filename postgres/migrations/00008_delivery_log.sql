-- The delivery log filtered by status or by event type reads only the
-- matching rows, newest first, instead of walking the scope's index and
-- testing each row.

-- +goose Up
CREATE INDEX deliveries_status ON deliveries (tenant_id, mode, status, id);
CREATE INDEX deliveries_event_type ON deliveries (tenant_id, mode, event_type, id);

-- +goose Down
DROP INDEX deliveries_event_type;
DROP INDEX deliveries_status;
