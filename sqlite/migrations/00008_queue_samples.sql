-- The queue's health over time, for the operator's dashboard: a row an
-- interval (a minute by default), written by the maintenance loop of every
-- instance into the same row, kept for a few days.

-- +goose Up
CREATE TABLE queue_samples (
    at            INTEGER PRIMARY KEY, -- the interval's end, unix ms
    pending       INTEGER NOT NULL,
    due           INTEGER NOT NULL,
    oldest_due_ms INTEGER NOT NULL,
    succeeded     INTEGER NOT NULL,
    failed        INTEGER NOT NULL
);

-- +goose Down
DROP TABLE queue_samples;
