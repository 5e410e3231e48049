-- A message's channels and tags (Svix's): kept with its event, as a JSON
-- array of labels "channel:<name>" and "tag:<name>" (NULL when it has
-- none, so that most events pay one header byte), and listed by label
-- from event_labels, one row per label of a labelled event: a list of a
-- tag's messages reads its page from that primary key, newest id first,
-- instead of testing each of the scope's events. Rows of event_labels go
-- with their event (retention, tenant deletion).

-- +goose Up
ALTER TABLE events ADD COLUMN labels TEXT;
CREATE TABLE event_labels (
    tenant_id TEXT NOT NULL,
    mode      TEXT NOT NULL,
    label     TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, mode, label, event_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE event_labels;
ALTER TABLE events DROP COLUMN labels;
