-- Wave 2: tickets are listed under events. What wave 1 called a ticket is
-- now a listing: one seller's offer of 1 to 20 tickets of one event at one
-- price. Each ticket of a listing is a row of its own in tickets, claimed by
-- an order on its own, so an order holds all of its tickets or none.

-- starts_at NULL: date to be announced. time_zone: the IANA zone the event's
-- local times are in. merged_into: the event an operator merged this
-- duplicate into; hidden_at: when an operator hid it. Either takes the
-- event and its listings off the market.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    venue       TEXT    NOT NULL DEFAULT '',
    city        TEXT    NOT NULL DEFAULT '',
    starts_at   BIGINT,
    time_zone   TEXT    NOT NULL,
    created_by  BIGINT  NOT NULL REFERENCES users (id),
    hidden_at   BIGINT,
    merged_into BIGINT  REFERENCES events (id),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX events_starts_idx ON events (starts_at);

-- Every existing ticket becomes a listing of one under an event named after
-- its title, date to be announced; the event takes the ticket's id.
INSERT INTO events (id, name, time_zone, created_by, created_at, updated_at)
SELECT id, title, 'UTC', seller_id, created_at, created_at FROM tickets;

ALTER TABLE tickets RENAME TO listings;
ALTER TABLE listings RENAME COLUMN title TO note;
ALTER TABLE listings ADD COLUMN event_id BIGINT REFERENCES events (id);
ALTER TABLE listings ADD COLUMN face_value BIGINT NOT NULL DEFAULT 0;
ALTER TABLE listings ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 20);
ALTER TABLE listings ADD COLUMN together BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE listings SET event_id = id, face_value = price, note = '';
DROP INDEX tickets_seller_idx;
CREATE INDEX listings_seller_idx ON listings (seller_id, id);
CREATE INDEX listings_event_idx ON listings (event_id, price);

-- claim_order_id names the order that holds or owns the ticket. A claim with
-- claim_expires_at is a hold that ends then; a claim without one is a sale.
CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    listing_id       BIGINT  NOT NULL REFERENCES listings (id),
    claim_order_id   BIGINT,
    claim_expires_at BIGINT
);
INSERT INTO tickets (id, listing_id, claim_order_id, claim_expires_at)
SELECT id, id, claim_order_id, claim_expires_at FROM listings;
DROP INDEX tickets_claim_idx;
ALTER TABLE listings DROP COLUMN claim_order_id;
ALTER TABLE listings DROP COLUMN claim_expires_at;
CREATE INDEX tickets_listing_idx ON tickets (listing_id, id);
CREATE INDEX tickets_claim_idx ON tickets (claim_expires_at);
CREATE INDEX tickets_order_idx ON tickets (claim_order_id);

-- An order holds quantity tickets of one listing, at amount for them all.
ALTER TABLE orders RENAME COLUMN ticket_id TO listing_id;
ALTER TABLE orders ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 20);
DROP INDEX orders_ticket_idx;
CREATE INDEX orders_listing_idx ON orders (listing_id);

-- When an operator suspended the account, or NULL. A suspended account
-- cannot sign in, and its listings are off sale.
ALTER TABLE users ADD COLUMN suspended_at BIGINT;
