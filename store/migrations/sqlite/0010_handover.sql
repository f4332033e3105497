-- Handover (wave 2): a ticket bought may be resold by its owner. The resale
-- listing's ticket row names the row it was bought as (resale_of); the rows
-- of one seat's history share root_id (the first row's id; NULL on the first
-- row itself) and count generation from 0. The holder of a seat is the buyer
-- of its latest sold row; a resale is listed at most once per row.
ALTER TABLE tickets ADD COLUMN resale_of BIGINT REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN root_id BIGINT REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX tickets_resale_idx ON tickets (resale_of);
CREATE INDEX tickets_root_idx ON tickets (root_id, generation);

-- Whoever creates an event may choose EventHive passes, checked in at the
-- door, instead of e-ticket files from another ticketing system; they are
-- then its organizer.
ALTER TABLE events ADD COLUMN checkin_with_eventhive BOOLEAN NOT NULL DEFAULT FALSE;
