-- A listing's next hold to end, min(claim_expires_at) of its tickets, is
-- read with every listing shown. With only tickets_claim_idx the planner
-- walks the holds of every listing in expiry order until one of this
-- listing's comes: in an on-sale rush thousands of entries per listing, and
-- all of them for a listing with no hold. This index finds it at once.
CREATE INDEX tickets_listing_claim_idx ON tickets (listing_id, claim_expires_at);
