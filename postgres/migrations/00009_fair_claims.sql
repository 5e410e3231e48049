-- +goose Up
-- The fair claim (queue.go, fair.go) visits the webhooks with pending
-- deliveries round-robin and takes each one's oldest due rows: the next
-- webhook after an id, and a webhook's first due rows, are each a probe of
-- this index, whatever the backlog of any webhook.
CREATE INDEX deliveries_fair ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP INDEX deliveries_fair;
