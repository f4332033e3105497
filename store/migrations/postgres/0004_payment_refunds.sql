-- How much of a payment has been refunded, in minor units: Stripe reports
-- refunds made outside the app (its dashboard) as charge.refunded, in full or
-- in part. A refunded payment has amount_refunded = amount.
ALTER TABLE payments ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0;
UPDATE payments SET amount_refunded = amount WHERE status = 'refunded';
CREATE INDEX payments_intent_idx ON payments (payment_intent_id);
