-- +goose Up
-- A lease is held only on a pending delivery: every write that ends a
-- delivery's pending state clears its lease. Held by the database, this lets
-- the completing statements find leased rows by primary key alone, without
-- a status test that the planner could serve from the partial index
-- deliveries_due (see completeSQL in queue.go). Validating scans the table once.
ALTER TABLE deliveries ADD CONSTRAINT deliveries_lease_pending CHECK (lease_owner IS NULL OR status = 'pending');

-- +goose Down
ALTER TABLE deliveries DROP CONSTRAINT deliveries_lease_pending;
