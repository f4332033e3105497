package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

// ReleaseSalesWorker releases an order's sales that are due. An event moved
// since the job was scheduled has scheduled another.
type ReleaseSalesWorker struct {
	river.WorkerDefaults[store.ReleaseSalesArgs]
	deps Deps
}

// Work releases the order's due sales.
func (w *ReleaseSalesWorker) Work(ctx context.Context, job *river.Job[store.ReleaseSalesArgs]) error {
	return w.deps.Store.ReleaseSales(ctx, job.Args.OrderID, w.deps.Now())
}

// moveMoney takes a sale's next movement of money: it reads the step (none
// any more is store.ErrNoPayoutStep: done, or no longer wanted), asks the
// provider to make it with its idempotency key, and records it.
func moveMoney[T any](ctx context.Context, saleID int64,
	step func(context.Context, int64) (T, error),
	move func(context.Context, T) (string, error),
	record func(context.Context, T, string) error,
) error {
	s, err := step(ctx, saleID)
	if errors.Is(err, store.ErrNoPayoutStep) {
		return nil
	}
	if err != nil {
		return err
	}
	id, err := move(ctx, s)
	if err != nil {
		return fmt.Errorf("sale %d: %w", saleID, err)
	}
	return record(ctx, s, id)
}

// TransferSaleWorker sends a released sale's net to its seller. The
// idempotency key per sale makes a retry return the transfer already made.
type TransferSaleWorker struct {
	river.WorkerDefaults[store.TransferSaleArgs]
	deps Deps
}

// Work makes the transfer and records it.
func (w *TransferSaleWorker) Work(ctx context.Context, job *river.Job[store.TransferSaleArgs]) error {
	return moveMoney(ctx, job.Args.SaleID, w.deps.Store.TransferToMake,
		func(ctx context.Context, t store.PayoutTransfer) (string, error) {
			return w.deps.Stripe.Transfer(ctx, payments.Transfer{
				Destination: t.Destination, PaymentIntentID: t.PaymentIntentID, Amount: t.Amount, Currency: t.Currency,
				Group: t.TransferGroup(), IdempotencyKey: t.IdempotencyKey(),
			})
		},
		func(ctx context.Context, t store.PayoutTransfer, id string) error {
			return w.deps.Store.RecordTransfer(ctx, t.SaleID, id, w.deps.Now())
		})
}

// ReverseTransferWorker takes back the transfer of a sale refunded after it;
// recording the reversal queues the buyer's refund.
type ReverseTransferWorker struct {
	river.WorkerDefaults[store.ReverseTransferArgs]
	deps Deps
}

// Work reverses the transfer and records it.
func (w *ReverseTransferWorker) Work(ctx context.Context, job *river.Job[store.ReverseTransferArgs]) error {
	return moveMoney(ctx, job.Args.SaleID, w.deps.Store.ReversalToMake,
		func(ctx context.Context, r store.PayoutReversal) (string, error) {
			return w.deps.Stripe.ReverseTransfer(ctx, payments.Reversal{
				TransferID: r.TransferID, Amount: r.Amount, IdempotencyKey: r.IdempotencyKey(),
			})
		},
		func(ctx context.Context, r store.PayoutReversal, id string) error {
			return w.deps.Store.RecordReversal(ctx, r.SaleID, id, w.deps.Now())
		})
}

// RefundSaleWorker gives a sale's price back to its buyer, as a partial
// refund of the order's payment.
type RefundSaleWorker struct {
	river.WorkerDefaults[store.RefundSaleArgs]
	deps Deps
}

// Work refunds the sale and records it.
func (w *RefundSaleWorker) Work(ctx context.Context, job *river.Job[store.RefundSaleArgs]) error {
	return moveMoney(ctx, job.Args.SaleID, w.deps.Store.RefundToMake,
		func(ctx context.Context, r store.SaleRefund) (string, error) {
			return w.deps.Stripe.RefundPart(ctx, r.PaymentIntentID, r.Amount, r.IdempotencyKey())
		},
		func(ctx context.Context, r store.SaleRefund, id string) error {
			orderID, listingID, err := w.deps.Store.RecordSaleRefund(ctx, r.SaleID, id, w.deps.Now())
			if err == nil {
				w.deps.publish(live.Event{OrderID: orderID, TicketID: listingID})
			}
			return err
		})
}
