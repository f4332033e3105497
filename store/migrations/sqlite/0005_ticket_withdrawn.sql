-- When the seller withdrew the ticket from sale (Unix ms), or NULL while it is
-- listed. A withdrawn ticket is neither listed nor claimable; its seller may
-- edit it and put it back on sale.
ALTER TABLE tickets ADD COLUMN withdrawn_at BIGINT;
