// Package payments takes buyers' money through Stripe Checkout, or, when no
// Stripe account is configured, through a built-in checkout that produces the
// same signed webhook events Stripe would. Either way every payment reaches
// the app through its one webhook handler.
package payments

import "time"

// CheckoutRequest describes what a checkout session charges for.
type CheckoutRequest struct {
	OrderID    int64
	Title      string // the ticket's title, shown on the checkout page
	Amount     int64  // minor units
	Currency   string // ISO code, lower case
	SuccessURL string
	CancelURL  string
}

// Session is a checkout session: where the buyer pays.
type Session struct {
	ID  string
	URL string
}

// StripeMinimumSessionLife is the shortest life Stripe allows a checkout
// session. Holds are shorter, so the app expires sessions itself.
const StripeMinimumSessionLife = 30 * time.Minute
