-- The operator's own catalog of event types, shared by every tenant (what
-- Svix calls an environment's event types).

-- +goose Up
CREATE TABLE operator_event_types (
    name         text PRIMARY KEY,
    description  text NOT NULL DEFAULT '',
    schemas      jsonb, -- a JSON object, or NULL
    archived     boolean NOT NULL DEFAULT false,
    deprecated   boolean NOT NULL DEFAULT false,
    feature_flag text NOT NULL DEFAULT '',
    group_name   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE operator_event_types;
