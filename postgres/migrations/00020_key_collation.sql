-- The keys of the tables every publish and delivery writes (the delivery
-- log and the queue) compare as bytes: COLLATE "C". They had the
-- database's default collation, and on PostgreSQL 15 every default but "C"
-- and "POSIX" (en_US.UTF-8, the official Docker image's and many
-- installations' default; C.UTF-8; an ICU locale) compares text through
-- the locale's collation routine, which each index insert and look-up
-- calls for every key it passes: an event to ten webhooks writes 80 index
-- entries with text keys (deliveries' five indexes, two of the queue's,
-- attempts' key, ten times each), issue 16. Measured here,
-- 300,000 rows into deliveries' shape (its five indexes): 1.75-1.8 s with
-- "C" keys, 1.9-2.4 s with C.UTF-8, 3.2-4.3 s with ICU's "en", 4.7-5.2 s
-- with en_US.UTF-8; `hookd bench --scenarios throughput` on an en_US.UTF-8
-- database 992-1,028 events/s before, 1,207-1,299 after.
--
-- hookd's ids are lower-case ASCII that sort by time as bytes, which is
-- also how SQLite compares them: their order is unchanged, and ids a client
-- chose now sort the same in both stores. Only keys change: names and
-- descriptions keep the database's collation (a tenant's name is searched
-- with lower()), and free text (errors, response excerpts) too. Comparing
-- a "C" column with a default-collation value takes "C", so no query needs
-- a COLLATE clause. TestKeyCollation fails for a key column added without.
--
-- Changing a column's collation keeps its rows in place but rebuilds every
-- index on it, the table locked meanwhile: 6.7 s for 1,000,000 deliveries,
-- as many attempts and 100,000 events here (docs/operations.md).

-- +goose Up
ALTER TABLE deliveries
	ALTER COLUMN id TYPE text COLLATE "C",
	ALTER COLUMN tenant_id TYPE text COLLATE "C",
	ALTER COLUMN mode TYPE text COLLATE "C",
	ALTER COLUMN event_id TYPE text COLLATE "C",
	ALTER COLUMN webhook_id TYPE text COLLATE "C",
	ALTER COLUMN event_type TYPE text COLLATE "C",
	ALTER COLUMN status TYPE text COLLATE "C";
ALTER TABLE queue
	ALTER COLUMN delivery_id TYPE text COLLATE "C",
	ALTER COLUMN tenant_id TYPE text COLLATE "C",
	ALTER COLUMN webhook_id TYPE text COLLATE "C",
	ALTER COLUMN lease_owner TYPE text COLLATE "C";
ALTER TABLE attempts
	ALTER COLUMN delivery_id TYPE text COLLATE "C",
	ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE events
	ALTER COLUMN tenant_id TYPE text COLLATE "C",
	ALTER COLUMN mode TYPE text COLLATE "C",
	ALTER COLUMN id TYPE text COLLATE "C",
	ALTER COLUMN type TYPE text COLLATE "C",
	ALTER COLUMN idempotency_key TYPE text COLLATE "C";
ALTER TABLE event_labels
	ALTER COLUMN tenant_id TYPE text COLLATE "C",
	ALTER COLUMN mode TYPE text COLLATE "C",
	ALTER COLUMN label TYPE text COLLATE "C",
	ALTER COLUMN event_id TYPE text COLLATE "C";

-- +goose Down
ALTER TABLE deliveries
	ALTER COLUMN id TYPE text COLLATE "default",
	ALTER COLUMN tenant_id TYPE text COLLATE "default",
	ALTER COLUMN mode TYPE text COLLATE "default",
	ALTER COLUMN event_id TYPE text COLLATE "default",
	ALTER COLUMN webhook_id TYPE text COLLATE "default",
	ALTER COLUMN event_type TYPE text COLLATE "default",
	ALTER COLUMN status TYPE text COLLATE "default";
ALTER TABLE queue
	ALTER COLUMN delivery_id TYPE text COLLATE "default",
	ALTER COLUMN tenant_id TYPE text COLLATE "default",
	ALTER COLUMN webhook_id TYPE text COLLATE "default",
	ALTER COLUMN lease_owner TYPE text COLLATE "default";
ALTER TABLE attempts
	ALTER COLUMN delivery_id TYPE text COLLATE "default",
	ALTER COLUMN id TYPE text COLLATE "default";
ALTER TABLE events
	ALTER COLUMN tenant_id TYPE text COLLATE "default",
	ALTER COLUMN mode TYPE text COLLATE "default",
	ALTER COLUMN id TYPE text COLLATE "default",
	ALTER COLUMN type TYPE text COLLATE "default",
	ALTER COLUMN idempotency_key TYPE text COLLATE "default";
ALTER TABLE event_labels
	ALTER COLUMN tenant_id TYPE text COLLATE "default",
	ALTER COLUMN mode TYPE text COLLATE "default",
	ALTER COLUMN label TYPE text COLLATE "default",
	ALTER COLUMN event_id TYPE text COLLATE "default";
