-- The delivery log filtered by status or by event type reads only the
-- matching rows, newest first (each index entry ends in the rowid), instead
-- of walking the whole scope and testing each row: a status or a type that
-- few of a tenant's million deliveries have was a walk of a million rows.
-- The status index leaves succeeded rows out: a delivery that succeeds
-- (the usual outcome) then deletes its entry and writes none, and a filter
-- on succeeded, the common status, walks the scope's index anyway.

-- +goose Up
CREATE INDEX deliveries_status ON deliveries (tenant_id, mode, status) WHERE status <> 'succeeded';
CREATE INDEX deliveries_event_type ON deliveries (tenant_id, mode, event_type);

-- +goose Down
DROP INDEX deliveries_event_type;
DROP INDEX deliveries_status;
