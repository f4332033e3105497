package store

// Observer hears of what the store has committed, for metrics. Its methods
// are called after the commit and must be quick.
type Observer interface {
	// HoldCreated: an order was created, holding its ticket.
	HoldCreated()
	// PaymentRecorded: a checkout session's payment was recorded, with
	// status PaymentSucceeded (it paid its order) or RefundPending (it is
	// to be refunded).
	PaymentRecorded(status PaymentStatus)
	// PaymentRefunded: a payment's refund went through.
	PaymentRefunded()
}

// WithObserver tells o of every hold created, payment recorded and refund
// made.
func WithObserver(o Observer) Option {
	return func(s *Store) { s.observer = o }
}

// nopObserver is the Observer of a Store made without WithObserver.
type nopObserver struct{}

func (nopObserver) HoldCreated()                  {}
func (nopObserver) PaymentRecorded(PaymentStatus) {}
func (nopObserver) PaymentRefunded()              {}
