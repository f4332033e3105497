package store

import "context"

// SaleRefundReasons returns why each of a seller's sales given back to its
// buyer was refunded: the reason its payment records (RefundProblem,
// RefundMissingFile, RefundByOperator, RefundInStripe, ...), by sale id.
func (s *Store) SaleRefundReasons(ctx context.Context, sellerID int64) (map[int64]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT a.id, p.refund_reason FROM sales a JOIN payments p ON p.id = a.payment_id
		WHERE a.seller_id = $1 AND a.state IN ('reversing', 'reversed', 'refunded') AND p.refund_reason <> ''`, sellerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	reasons := map[int64]string{}
	for rows.Next() {
		var id int64
		var reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return nil, err
		}
		reasons[id] = reason
	}
	return reasons, rows.Err()
}
