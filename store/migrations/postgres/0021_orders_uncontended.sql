-- Each refused attempt at a held listing looks for the holds on it with no
-- note of contention yet (store: noteContention). Through tickets, that
-- read walked every hold of the listing, noted or not: in a sell-out of
-- 5,000 tickets, about 1.1 ms on SQLite for each of thousands of refusals.
-- This index holds only the orders not noted yet, which the note then takes
-- out of it. Status is left out so that an order's payment or cancellation
-- stays a HOT update on PostgreSQL.
CREATE INDEX orders_uncontended_idx ON orders (listing_id) WHERE contended_at IS NULL;
