-- hookd vacuums the queue table itself as its rows are removed (see
-- reclaim.go): every delivery inserts a queue row and removes it, and
-- between autovacuum's visits (once a minute per database at best) the
-- removed rows' space cannot be reused, so at 10,000 deliveries/s the table
-- grew by ~5 MB a second for a few hundred live rows (issue 16). A vacuum
-- that truncates the table's empty tail takes an exclusive lock on it, which
-- stops every publish and claim while it holds it; the table is kept small
-- by reuse instead, so neither hookd's vacuums nor autovacuum truncate it.

-- +goose Up
ALTER TABLE queue SET (vacuum_truncate = false);

-- +goose Down
ALTER TABLE queue RESET (vacuum_truncate);
