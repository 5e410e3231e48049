-- Retention finds old deliveries by id: a delivery's id begins with its
-- creation time (hookd.NewIDAt), so deliveries_pkey holds them oldest
-- first, and an index of created_at only cost every publish one more index
-- entry per delivery (issue 16).

-- +goose Up
DROP INDEX deliveries_created;

-- +goose Down
CREATE INDEX deliveries_created ON deliveries (created_at);
