package store

// The args of the River jobs the store inserts in its own transactions. The
// workers that run them live in package jobs.

// ExpireOrderArgs ends the hold of a pending order at its expires_at.
type ExpireOrderArgs struct {
	OrderID int64 `json:"order_id"`
}

// Kind names the job in River's tables.
func (ExpireOrderArgs) Kind() string { return "expire_order" }

// ProcessStripeEventArgs processes a webhook event stored in the same
// transaction as this job.
type ProcessStripeEventArgs struct {
	EventID string `json:"event_id"`
}

// Kind names the job in River's tables.
func (ProcessStripeEventArgs) Kind() string { return "process_stripe_event" }

// RefundPaymentArgs refunds a payment that could not pay for its order: the
// ticket went to someone else, the amount was wrong, or no such order exists.
type RefundPaymentArgs struct {
	SessionID       string `json:"session_id"`
	PaymentIntentID string `json:"payment_intent_id"`
}

// Kind names the job in River's tables.
func (RefundPaymentArgs) Kind() string { return "refund_payment" }

// CloseSalesArgs does the side effects of an event's start, when its sales
// close: live pages and sellers' pages learn that its listings ended. Sales
// close at the start whether or not the job has run.
type CloseSalesArgs struct {
	EventID int64 `json:"event_id"`
}

// Kind names the job in River's tables.
func (CloseSalesArgs) Kind() string { return "close_sales" }

// SendMailArgs sends a message of the outbox, queued in the same
// transaction as this job.
type SendMailArgs struct {
	MailID int64 `json:"mail_id"`
}

// Kind names the job in River's tables.
func (SendMailArgs) Kind() string { return "send_mail" }

// ReleaseSalesArgs releases an order's sales when they are due: the
// event's start plus the payout delay.
type ReleaseSalesArgs struct {
	OrderID int64 `json:"order_id"`
}

// Kind names the job in River's tables.
func (ReleaseSalesArgs) Kind() string { return "release_sales" }

// TransferSaleArgs transfers a released sale's net to its seller.
type TransferSaleArgs struct {
	SaleID int64 `json:"sale_id"`
}

// Kind names the job in River's tables.
func (TransferSaleArgs) Kind() string { return "transfer_sale" }

// ReverseTransferArgs takes back the transfer of a sale refunded after it.
type ReverseTransferArgs struct {
	SaleID int64 `json:"sale_id"`
}

// Kind names the job in River's tables.
func (ReverseTransferArgs) Kind() string { return "reverse_transfer" }

// RefundSaleArgs refunds a sale's price to its buyer.
type RefundSaleArgs struct {
	SaleID int64 `json:"sale_id"`
}

// Kind names the job in River's tables.
func (RefundSaleArgs) Kind() string { return "refund_sale" }
