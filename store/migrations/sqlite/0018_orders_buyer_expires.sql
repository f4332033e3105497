-- A claim counts the buyer's holds and recent lapses (store: checkBuyer),
-- which only orders ending within the cool-down's window can be. With only
-- orders_buyer_idx every claim read all the buyer's orders, each from the
-- table; this index finds the recent ones and holds all the count reads.
CREATE INDEX orders_buyer_expires_idx ON orders (buyer_id, expires_at, status, quantity, cancelled_at);
