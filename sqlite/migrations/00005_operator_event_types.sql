-- The operator's own catalog of event types, shared by every tenant (what
-- Svix calls an environment's event types).

-- +goose Up
CREATE TABLE operator_event_types (
    name         TEXT PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    schemas      TEXT, -- a JSON object, or NULL
    archived     INTEGER NOT NULL DEFAULT 0,
    deprecated   INTEGER NOT NULL DEFAULT 0,
    feature_flag TEXT NOT NULL DEFAULT '',
    group_name   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE operator_event_types;
