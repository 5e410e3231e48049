-- The dispatchers alive, by their heartbeats: a webhook's rate limit and
-- in-flight cap are shared out among them, so that they hold for the cluster.
-- +goose Up
CREATE TABLE instances (
    owner   text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE instances;
