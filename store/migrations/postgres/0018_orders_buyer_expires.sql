-- A claim counts the buyer's holds and recent lapses (store: claimOn), which
-- only orders ending within the cool-down's window can be. With only
-- orders_buyer_idx every claim read all the buyer's orders; this index finds
-- the recent ones. Status is left out so that an order's payment or
-- cancellation stays a HOT update.
CREATE INDEX orders_buyer_expires_idx ON orders (buyer_id, expires_at);
