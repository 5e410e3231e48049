-- The queue's health over time, for the operator's dashboard: a row an
-- interval (a minute by default), written by the maintenance loop of every
-- instance into the same row, kept for a few days.

-- +goose Up
CREATE TABLE queue_samples (
    at            timestamptz PRIMARY KEY, -- the interval's end
    pending       integer NOT NULL,
    due           integer NOT NULL,
    oldest_due_ms bigint NOT NULL,
    succeeded     bigint NOT NULL,
    failed        bigint NOT NULL
);

-- +goose Down
DROP TABLE queue_samples;
