-- A message's channels and tags (Svix's): kept with its event, as labels
-- "channel:<name>" and "tag:<name>" (NULL when it has none: a null costs a
-- bit of the row's null bitmap), and listed by label from event_labels,
-- one row per label of a labelled event: a list of a tag's messages reads
-- its page from that primary key, newest id first, instead of testing
-- each of the scope's events. Rows of event_labels go with their event
-- (retention, tenant deletion). Adding a nullable column without a
-- default rewrites nothing.

-- +goose Up
ALTER TABLE events ADD COLUMN labels text[];
CREATE TABLE event_labels (
    tenant_id text NOT NULL,
    mode      text NOT NULL,
    label     text NOT NULL,
    event_id  text NOT NULL,
    PRIMARY KEY (tenant_id, mode, label, event_id)
);

-- +goose Down
DROP TABLE event_labels;
ALTER TABLE events DROP COLUMN labels;
