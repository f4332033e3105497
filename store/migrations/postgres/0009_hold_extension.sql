-- A buyer may extend a hold once, near its end (WCAG 2.2.1), unless another
-- buyer tried for its tickets while it ran. extended_at: when the buyer
-- extended it. contended_at: when another buyer was first refused because
-- of it. Both Unix ms, NULL until then.
ALTER TABLE orders ADD COLUMN extended_at BIGINT;
ALTER TABLE orders ADD COLUMN contended_at BIGINT;
