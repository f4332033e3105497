package payments

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// Transfer is a seller's net for one sale, sent to their connected account
// from the charge the buyer paid.
type Transfer struct {
	Destination     string // the seller's connected account
	PaymentIntentID string // the buyer's payment: its charge funds the transfer
	Amount          int64  // minor units
	Currency        string // ISO code, lower case
	Group           string // ties the transfers of one order together
	IdempotencyKey  string // one transfer per sale, however often it is asked for
}

// Reversal takes a transfer back from the seller's account.
type Reversal struct {
	TransferID     string
	Amount         int64
	IdempotencyKey string
}

// Transfer sends a sale's net to the seller's account, funded by the buyer's
// charge (source_transaction), so it never draws on money the platform has
// not received.
func (s *Stripe) Transfer(ctx context.Context, t Transfer) (string, error) {
	get := &stripe.PaymentIntentParams{}
	get.Context = ctx
	// Stripe names the charge either way; stripe-mock, which the tests
	// check these calls against, only when it is expanded.
	get.AddExpand("latest_charge")
	pi, err := s.paymentIntents.Get(t.PaymentIntentID, get)
	if err != nil {
		return "", fmt.Errorf("payment intent %s: %w", t.PaymentIntentID, err)
	}
	if pi.LatestCharge == nil || pi.LatestCharge.ID == "" {
		return "", fmt.Errorf("payment intent %s has no charge", t.PaymentIntentID)
	}
	params := &stripe.TransferParams{
		Amount:            stripe.Int64(t.Amount),
		Currency:          stripe.String(t.Currency),
		Destination:       stripe.String(t.Destination),
		SourceTransaction: stripe.String(pi.LatestCharge.ID),
		TransferGroup:     stripe.String(t.Group),
	}
	params.Context = ctx
	params.SetIdempotencyKey(t.IdempotencyKey)
	tr, err := s.transfers.New(params)
	if err != nil {
		return "", fmt.Errorf("transfer: %w", err)
	}
	return tr.ID, nil
}

// ReverseTransfer takes a transfer back from the seller's account.
func (s *Stripe) ReverseTransfer(ctx context.Context, r Reversal) (string, error) {
	params := &stripe.TransferReversalParams{ID: stripe.String(r.TransferID), Amount: stripe.Int64(r.Amount)}
	params.Context = ctx
	params.SetIdempotencyKey(r.IdempotencyKey)
	rev, err := s.reversals.New(params)
	if err != nil {
		return "", fmt.Errorf("reverse transfer %s: %w", r.TransferID, err)
	}
	return rev.ID, nil
}

// RefundPart refunds amount of a payment; the key makes repeats harmless,
// and a charge refunded in full already (in Stripe's dashboard, say) counts
// as refunded, with no refund id.
func (s *Stripe) RefundPart(ctx context.Context, paymentIntentID string, amount int64, idempotencyKey string) (string, error) {
	return s.refund(ctx, &stripe.RefundParams{PaymentIntent: stripe.String(paymentIntentID), Amount: stripe.Int64(amount)},
		idempotencyKey)
}

// Transfer records the transfer: no money moves without Stripe.
func (b *Builtin) Transfer(_ context.Context, t Transfer) (string, error) {
	return b.builtinID("tr_builtin_", t.IdempotencyKey), nil
}

// ReverseTransfer records the reversal.
func (b *Builtin) ReverseTransfer(_ context.Context, r Reversal) (string, error) {
	return b.builtinID("trr_builtin_", r.IdempotencyKey), nil
}

// RefundPart records the refund.
func (b *Builtin) RefundPart(_ context.Context, _ string, _ int64, idempotencyKey string) (string, error) {
	return b.builtinID("re_builtin_", idempotencyKey), nil
}
