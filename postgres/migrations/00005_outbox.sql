-- Operator events written in the transaction of the change that caused
-- them, until they are published (package delivery's Relay).

-- +goose Up
CREATE TABLE outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL,
    mode       text NOT NULL,
    type       text NOT NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE outbox;
