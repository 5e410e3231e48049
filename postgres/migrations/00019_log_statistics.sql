-- The delivery log's tables (deliveries, events, attempts) grow by every
-- publish and delivery, and autovacuum analyzes each of them whenever a
-- tenth of it has changed: an ANALYZE samples 300 rows per unit of the
-- largest statistics target of its columns (30,000 rows at the default of
-- 100) and sorts each column's sample. On 100,000-150,000-row tables that
-- took 0.6 s of CPU of one autovacuum visit's 1.0 s (issue 16), the burst
-- that stalled publishing at 10,000 deliveries/s on two cores. hookd's hot
-- statements do not use these statistics (their plans are pinned, see
-- pipetx.go); the API's look-ups by tenant, webhook, event and time need
-- only rough ones. So: no statistics for the columns no query filters,
-- joins or sorts on (payloads, errors, counters), and a target of 10 (a
-- 3,000-row sample, ANALYZE 3-6 times cheaper: 30-90 ms instead of
-- 130-230 ms per table, measured) for the rest. A column added to these
-- tables later must be given a target too, or the sample grows back to
-- 30,000 rows: TestLogTablesStatistics checks it.

-- +goose Up
ALTER TABLE deliveries
	ALTER COLUMN id SET STATISTICS 10,
	ALTER COLUMN tenant_id SET STATISTICS 10,
	ALTER COLUMN mode SET STATISTICS 10,
	ALTER COLUMN event_id SET STATISTICS 10,
	ALTER COLUMN webhook_id SET STATISTICS 10,
	ALTER COLUMN event_type SET STATISTICS 10,
	ALTER COLUMN status SET STATISTICS 10,
	ALTER COLUMN next_attempt_at SET STATISTICS 10,
	ALTER COLUMN created_at SET STATISTICS 10,
	ALTER COLUMN attempts SET STATISTICS 0,
	ALTER COLUMN last_error SET STATISTICS 0,
	ALTER COLUMN last_status SET STATISTICS 0,
	ALTER COLUMN updated_at SET STATISTICS 0,
	ALTER COLUMN manual SET STATISTICS 0;
ALTER TABLE events
	ALTER COLUMN tenant_id SET STATISTICS 10,
	ALTER COLUMN mode SET STATISTICS 10,
	ALTER COLUMN id SET STATISTICS 10,
	ALTER COLUMN type SET STATISTICS 10,
	ALTER COLUMN created_at SET STATISTICS 10,
	ALTER COLUMN idempotency_key SET STATISTICS 10,
	ALTER COLUMN data SET STATISTICS 0,
	ALTER COLUMN body_hash SET STATISTICS 0,
	ALTER COLUMN deliveries SET STATISTICS 0,
	ALTER COLUMN labels SET STATISTICS 0;
ALTER TABLE attempts
	ALTER COLUMN delivery_id SET STATISTICS 10,
	ALTER COLUMN seq SET STATISTICS 10,
	ALTER COLUMN id SET STATISTICS 10,
	ALTER COLUMN at SET STATISTICS 10,
	ALTER COLUMN duration_ms SET STATISTICS 0,
	ALTER COLUMN status_code SET STATISTICS 0,
	ALTER COLUMN error_class SET STATISTICS 0,
	ALTER COLUMN error SET STATISTICS 0,
	ALTER COLUMN response_excerpt SET STATISTICS 0;

-- +goose Down
ALTER TABLE deliveries
	ALTER COLUMN id SET STATISTICS -1,
	ALTER COLUMN tenant_id SET STATISTICS -1,
	ALTER COLUMN mode SET STATISTICS -1,
	ALTER COLUMN event_id SET STATISTICS -1,
	ALTER COLUMN webhook_id SET STATISTICS -1,
	ALTER COLUMN event_type SET STATISTICS -1,
	ALTER COLUMN status SET STATISTICS -1,
	ALTER COLUMN next_attempt_at SET STATISTICS -1,
	ALTER COLUMN created_at SET STATISTICS -1,
	ALTER COLUMN attempts SET STATISTICS -1,
	ALTER COLUMN last_error SET STATISTICS -1,
	ALTER COLUMN last_status SET STATISTICS -1,
	ALTER COLUMN updated_at SET STATISTICS -1,
	ALTER COLUMN manual SET STATISTICS -1;
ALTER TABLE events
	ALTER COLUMN tenant_id SET STATISTICS -1,
	ALTER COLUMN mode SET STATISTICS -1,
	ALTER COLUMN id SET STATISTICS -1,
	ALTER COLUMN type SET STATISTICS -1,
	ALTER COLUMN created_at SET STATISTICS -1,
	ALTER COLUMN idempotency_key SET STATISTICS -1,
	ALTER COLUMN data SET STATISTICS -1,
	ALTER COLUMN body_hash SET STATISTICS -1,
	ALTER COLUMN deliveries SET STATISTICS -1,
	ALTER COLUMN labels SET STATISTICS -1;
ALTER TABLE attempts
	ALTER COLUMN delivery_id SET STATISTICS -1,
	ALTER COLUMN seq SET STATISTICS -1,
	ALTER COLUMN id SET STATISTICS -1,
	ALTER COLUMN at SET STATISTICS -1,
	ALTER COLUMN duration_ms SET STATISTICS -1,
	ALTER COLUMN status_code SET STATISTICS -1,
	ALTER COLUMN error_class SET STATISTICS -1,
	ALTER COLUMN error SET STATISTICS -1,
	ALTER COLUMN response_excerpt SET STATISTICS -1;
