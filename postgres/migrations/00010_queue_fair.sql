-- The fair claim (fair.go) on the queue table of 00008: its index moves from
-- deliveries (00009's deliveries_fair, which would also stop an outcome's
-- update of deliveries from being HOT: its predicate names status and it
-- holds next_attempt_at) to queue. queue_fair (webhook_id, next_attempt_at)
-- also serves what queue_webhook did (a webhook's pending deliveries), so
-- it replaces it: a claim still writes three index entries.

-- +goose Up
DROP INDEX deliveries_fair;
DROP INDEX queue_webhook;
CREATE INDEX queue_fair ON queue (webhook_id, next_attempt_at);

-- +goose Down
DROP INDEX queue_fair;
CREATE INDEX queue_webhook ON queue (webhook_id);
CREATE INDEX deliveries_fair ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
