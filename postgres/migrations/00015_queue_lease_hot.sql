-- A claim writes only the lease of its queue rows (lease_owner,
-- lease_until: in no index), so that the update can be HOT: no index entry
-- written, one WAL record a row. A HOT update needs room for the new row
-- version on the row's own page, and a claim leases whole runs of
-- consecutive rows, every row of a page at once, while their old versions
-- are still live: the page must keep room for a second copy of each of its
-- rows, leased a little wider. 70 left room for a third of them. (New pages
-- only: pages written before keep their fill until their rows are gone.)

-- +goose Up
ALTER TABLE queue SET (fillfactor = 40);

-- +goose Down
ALTER TABLE queue SET (fillfactor = 70);
